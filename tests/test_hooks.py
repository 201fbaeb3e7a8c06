"""Event hooks: specs are documented, the manager loads plugins one by one."""

from __future__ import annotations

import inspect
import typing

import pluggy

from townlet.core import hookimpl, hookspecs
from townlet.core.hooks import make_plugin_manager
from townlet.core.ports import WorldView
from townlet.core.registry import Registry

SPEC_HOOKS = {
    "on_tick",
    "on_agent_spawn",
    "on_agent_exit",
    "on_agent_near_death",
    "on_need_threshold",
    "on_affordance_before",
    "on_affordance_after",
    "on_affordance_fail",
    "on_conflict",
    "on_quit_job",
    "on_price_change",
    "on_weather_change",
    "on_power_cut",
}


def _specs() -> dict[str, object]:
    return {n: f for n, f in vars(hookspecs).items() if n.startswith("on_") and callable(f)}


def test_every_hook_in_the_spec_is_declared_and_documented() -> None:
    specs = _specs()
    assert set(specs) == SPEC_HOOKS
    for name, func in specs.items():
        doc = inspect.getdoc(func)
        assert doc and len(doc) > 20, f"{name} needs a docstring saying when it fires"
        assert list(inspect.signature(func).parameters)[:2] == ["world", "tick"]


def test_every_hook_shows_the_world_as_the_published_view() -> None:
    for name, func in _specs().items():
        assert typing.get_type_hints(func)["world"] is WorldView, name


def test_temporary_hook_plugin_receives_events() -> None:
    pm, failures = make_plugin_manager(load_entry_points=False)
    assert failures == []
    seen: list[tuple[str, int, str]] = []

    class Listener:
        @hookimpl
        def on_agent_spawn(self, world, tick, agent_id, reason):
            seen.append((agent_id, tick, reason))

    pm.register(Listener())
    pm.hook.on_agent_spawn(world=None, tick=4, agent_id="a1", reason="initial")
    assert seen == [("a1", 4, "initial")]


def test_broken_hook_entry_point_is_reported_and_others_load(make_dist) -> None:
    make_dist(
        "hooks-good",
        entry_points={"townlet": {"good": "good_hooks"}},
        modules={
            "good_hooks": (
                "from townlet.core import hookimpl\n"
                "calls = []\n"
                "@hookimpl\n"
                "def on_tick(world, tick):\n"
                "    calls.append(tick)\n"
            )
        },
    )
    make_dist(
        "hooks-bad",
        "0.2",
        entry_points={"townlet": {"bad": "bad_hooks"}},
        modules={"bad_hooks": "raise ImportError('no such backend')\n"},
    )
    pm, failures = make_plugin_manager(Registry())
    assert [str(f) for f in failures] == [
        "hook plugin 'bad' (hooks-bad 0.2, group 'townlet') failed: ImportError: no such backend"
    ]
    pm.hook.on_tick(world=None, tick=9)
    assert pm.get_plugin("hooks-good:good").calls == [9]
    assert isinstance(pm, pluggy.PluginManager)
