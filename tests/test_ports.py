"""The published contract: ports import no simulation, the simulation satisfies the views."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pytest

from tests.env.helpers import run_scripted, world
from townlet.core import ports
from townlet.core.rewards import RewardPipeline
from townlet.core.rewards.stages import TerminalStage
from townlet.core.world.affordances import ITEMS, NEEDS
from townlet.core.world.options import OPTIONS, Option, OptionStatus
from townlet.core.world.queues import WORK
from townlet.core.world.relationships import TIES
from townlet.core.world.rows import TownRows
from townlet.core.world.state import MILLS, ShiftState
from townlet.core.world.townmap import OBJECT_TYPES
from townlet.core.world.weather import UTILITIES, WEATHERS


def test_importing_the_ports_imports_no_world_module() -> None:
    code = (
        "import sys, townlet.core.ports\n"
        "print(sorted(m for m in sys.modules if m.startswith('townlet.core.world')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def _imports(path: Path, package: str) -> set[str]:
    """Modules of townlet.core a module imports, type-checking imports included,
    with the packages whose ``__init__`` importing them runs (but not townlet.core's)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            names = [f"{base}.{node.module}" if node.module else base]
        for name in names:
            parts = name.split(".")
            out.update(".".join(parts[:k]) for k in range(3, len(parts) + 1))
    return {m for m in out if m.startswith("townlet.core.")}


def test_nothing_the_ports_import_imports_them_back() -> None:
    """No import cycle through the ports, even for the type checker."""
    src = Path(ports.__file__).parent

    def module_file(name: str) -> tuple[Path, str] | None:
        rel = Path(*name.split(".")[2:])
        if (src / rel / "__init__.py").is_file():
            return src / rel / "__init__.py", name
        if (src / rel).with_suffix(".py").is_file():
            return (src / rel).with_suffix(".py"), name.rpartition(".")[0]
        return None

    seen: set[str] = set()
    todo = sorted(_imports(Path(ports.__file__), "townlet.core"))
    while todo:
        name = todo.pop()
        found = module_file(name)
        if name in seen or found is None:
            continue
        seen.add(name)
        todo.extend(_imports(*found))
    assert "townlet.core.ports" not in seen
    assert not any(m.startswith("townlet.core.world") for m in seen), sorted(seen)


def test_column_constants_match_the_simulation() -> None:
    named = {
        (NEEDS, "hunger"): ports.HUNGER,
        (NEEDS, "hygiene"): ports.HYGIENE,
        (NEEDS, "energy"): ports.ENERGY,
        (ITEMS, "raw_food"): ports.RAW_FOOD,
        (ITEMS, "meal"): ports.MEAL,
        (ITEMS, "clean_clothes"): ports.CLEAN_CLOTHES,
        (UTILITIES, "power"): ports.POWER,
        (UTILITIES, "water"): ports.WATER,
    }
    for (names, name), column in named.items():
        assert names.index(name) == column, name
    assert (ports.NEEDS, ports.ITEMS, ports.UTILITIES) == (NEEDS, ITEMS, UTILITIES)
    assert ports.OPTIONS == OPTIONS == tuple(o.name.lower() for o in Option)
    assert (ports.OPTION_ACTIVE, ports.OPTION_DONE, ports.OPTION_FAILED) == (
        OptionStatus.ACTIVE,
        OptionStatus.DONE,
        OptionStatus.FAILED,
    )
    assert ports.SHIFT_STATES == ShiftState.NAMES
    assert ports.WEATHERS == WEATHERS
    assert ports.OBJECT_TYPES == OBJECT_TYPES
    assert (ports.MILLS, ports.WORK, ports.TIES) == (MILLS, WORK, TIES)


def _members(protocol: type) -> list[str]:
    return [n for n in vars(protocol) if not n.startswith("_")]


def _check_columns(agents: object, n: int) -> None:
    """Every documented column exists with the documented dtype and shape."""
    for name in _members(ports.AgentColumns):
        doc = getattr(ports.AgentColumns, name).__doc__
        arr = getattr(agents, name)
        assert isinstance(arr, np.ndarray), name
        _, shape, rest = doc.split("``", 2)
        dtype = rest.split()[0].rstrip(":")
        assert arr.dtype == np.dtype(dtype), f"{name}: {arr.dtype}, documented {dtype}"
        want = tuple(n if d == "N" else int(d) for d in shape.strip("[]").split(", "))
        assert arr.shape == want, f"{name}: {arr.shape}, documented {shape}"


@pytest.fixture(scope="module")
def towns():
    out = [world("features.stages.relationships=B", f"seed={s}") for s in range(2)]
    for w in out:
        run_scripted(w, 30)
    return out


def test_town_rows_satisfy_the_rows_view(towns) -> None:
    for worlds in (towns[:1], towns):
        rows = TownRows(worlds)
        assert isinstance(rows, ports.RowsView)
        _check_columns(rows.agents, rows.n_agents)
        assert all(isinstance(w, ports.WorldView) for w in rows.worlds)
        assert isinstance(rows.town, ports.TownMapView)


def test_a_world_satisfies_the_world_view(towns) -> None:
    w = towns[0]
    assert isinstance(w, ports.WorldView)
    _check_columns(w.agents, w.n_agents)
    for part, protocol in (
        (w.objects, ports.ObjectColumns),
        (w.town, ports.TownMapView),
        (w.fields, ports.PathFieldsView),
        (w.clock, ports.ClockView),
        (w.economy, ports.EconomyView),
        (w.affordances, ports.AffordancesView),
    ):
        assert isinstance(part, protocol), protocol.__name__


def test_every_view_member_is_documented() -> None:
    for name in ports.__all__:
        obj = getattr(ports, name)
        if not (isinstance(obj, type) and getattr(obj, "_is_protocol", False)):
            continue
        assert obj.__doc__, name
        for member in _members(obj):
            value = vars(obj)[member]
            if callable(value) or isinstance(value, property):
                assert (value.__doc__ or "").strip(), f"{name}.{member} needs a docstring"


def test_reward_context_satisfies_its_view(towns) -> None:
    w = towns[0]
    seen: list[object] = []

    class Probe(TerminalStage):
        def compute(self, ctx):  # type: ignore[no-untyped-def]
            seen.append(ctx)
            return super().compute(ctx)

    pipeline = RewardPipeline([("probe", Probe(Probe.Params()))])
    pipeline.reset(w)
    w.step(run_scripted(w, 0).act(w))
    pipeline.compute(w)
    (ctx,) = seen
    hints = typing.get_type_hints(ports.RewardContextView.__dict__["towns"].fget)
    assert hints["return"] is ports.RowsView
    for protocol, value in (
        (ports.RewardContextView, ctx),
        (ports.TickFactsView, ctx.facts),  # type: ignore[attr-defined]
        (ports.RowsSnapshot, ctx.facts.before),  # type: ignore[attr-defined]
    ):
        missing = [m for m in _members(protocol) if not hasattr(value, m)]
        assert missing == [], protocol.__name__


def test_optional_capabilities_are_declared_protocols() -> None:
    from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
    from townlet.core.telemetry.sinks import NullSink, StdoutSink

    policy = ScriptedPolicy(ScriptedPolicyParams())
    assert isinstance(policy, ports.Policy) and isinstance(policy, ports.BatchPolicy)
    assert isinstance(TerminalStage(TerminalStage.Params()), ports.TaggedStage)
    sink = StdoutSink(StdoutSink.Params())
    for capability in (ports.BatchingSink, ports.FlushingSink, ports.WorldBoundSink):
        assert isinstance(sink, capability), capability.__name__
    assert not isinstance(NullSink(NullSink.Params()), ports.BatchingSink)


def test_plugin_params_forbid_unknown_keys_and_are_frozen() -> None:
    class P(ports.PluginParams):
        rate: float = 0.5

    with pytest.raises(ValueError, match="Extra inputs"):
        P.model_validate({"rat": 1})
    p = P()
    with pytest.raises(ValueError, match="frozen"):
        p.rate = 1.0


def test_the_plugin_guide_lists_every_agent_column() -> None:
    rows = ["| column | shape | dtype | meaning |", "|---|---|---|---|"]
    for name in _members(ports.AgentColumns):
        doc = " ".join((inspect.getdoc(getattr(ports.AgentColumns, name)) or "").split())
        _, shape, rest = doc.split("``", 2)
        dtype, _, meaning = rest.strip().partition(" ")
        meaning = meaning.replace("``", "`").replace(":data:", "")
        rows.append(f"| `{name}` | `{shape}` | {dtype.rstrip(':')} | {meaning} |")
    doc = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    block = doc.split("<!-- agent-columns:")[1].split("<!-- /agent-columns -->")[0]
    table = "\n".join(rows)
    assert block.strip().splitlines()[1:] == rows, f"docs/plugins.md wants:\n{table}"
