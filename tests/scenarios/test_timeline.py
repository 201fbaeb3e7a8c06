"""Timelines: scripted console commands validated at load, applied through the bus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from townlet.core.config import load_config
from townlet.core.console.timeline import Timeline, TimelineEvent
from townlet.core.errors import ConfigError
from townlet.core.runtime import build_runtime
from townlet.core.snapshots import load_snapshot, save_snapshot
from townlet.core.world.world import World


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text("extends: builtin:default\nconfig_id: t\n" + body)
    return path


def _idle(world: World) -> np.ndarray:
    return np.zeros(world.n_agents, dtype=np.int64)


def test_unknown_command_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "timeline:\n  - {at: 5, command: blackot, args: {state: 'off'}}\n")
    with pytest.raises(
        ConfigError,
        match=r"run.yaml:4: timeline\[0\]: .*'blackot' cannot be scripted. Did you mean 'blackout'",
    ):
        load_config(path)


def test_bad_arguments_are_refused_at_load(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "timeline:\n  - {at: 5, command: price, args: {item: meal, factor: 0}}\n"
    )
    with pytest.raises(ConfigError, match=r"bad arguments for price: .*factor"):
        load_config(path)


@pytest.mark.parametrize("stage", ["M0", "M1", "M2"])
def test_city_wide_events_are_locked_out_early(tmp_path: Path, stage: str) -> None:
    path = _write(
        tmp_path,
        f"features: {{curriculum: {stage}}}\n"
        "timeline:\n  - {at: 5, command: blackout, args: {state: 'on'}}\n",
    )
    with pytest.raises(ConfigError, match=f"stage {stage} locks out city-wide events"):
        load_config(path)


def test_agent_level_events_are_allowed_early(tmp_path: Path) -> None:
    body = "features: {curriculum: M0}\ntimeline:\n"
    body += "  - {at: 0, command: setneed, args: {agent: agent_000, need: hunger, value: 0.1}}\n"
    assert len(load_config(_write(tmp_path, body)).config.timeline) == 1


def test_events_apply_at_their_tick_through_the_bus(tmp_path: Path) -> None:
    body = "timeline:\n  - {at: 3, command: blackout, args: {state: 'on'}}\n"
    body += "  - {at: 4, command: teleport, args: {agent: agent_000, x: 1, y: 1}}\n"
    cfg = load_config(_write(tmp_path, body)).config
    world = build_runtime(cfg).world()
    assert world.timeline is not None
    world.timeline.audit_log = tmp_path / "audit.jsonl"
    seen = []
    for _ in range(6):
        world.step(_idle(world))
        seen.append(bool(world.utility_on[0]))
        kinds = [e for e in world.events if e["kind"] == "scripted"]
        if world.tick == 4:
            assert kinds and kinds[0]["command"] == "blackout" and kinds[0]["ok"]
    assert seen == [True, True, True, False, False, False]
    # the teleport is validated like an operator's: (1, 1) is a wall
    (_, blackout), (_, teleport) = world.timeline.applied
    assert blackout.ok and not teleport.ok and teleport.code == "blocked_tile"
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(a["tick"], a["command"], a["result"]["ok"]) for a in audit] == [
        (3, "blackout", True),
        (4, "teleport", False),
    ]
    assert audit[0]["cmd_id"].startswith("t/timeline-")


def test_restored_snapshot_replays_the_timeline(tmp_path: Path) -> None:
    body = "timeline:\n  - {at: 5, command: price, args: {item: meal, factor: 2.0}}\n"
    cfg = load_config(_write(tmp_path, body)).config
    world = build_runtime(cfg).world()
    for _ in range(3):
        world.step(_idle(world))
    snap = save_snapshot(world, tmp_path / "s.townlet")
    for _ in range(4):
        world.step(_idle(world))
    first = float(world.economy.price_multiplier[1])
    load_snapshot(world, snap)
    for _ in range(4):
        world.step(_idle(world))
    assert first == float(world.economy.price_multiplier[1]) == 2.0
    assert [r.ok for _, r in world.timeline.applied] == [True, True]


def test_no_timeline_no_runner() -> None:
    assert build_runtime(load_config().config).world().timeline is None


def test_timeline_sorts_events() -> None:
    events = [
        TimelineEvent(at=9, command="rain", args={"state": "start"}),
        TimelineEvent(at=2, command="rain", args={"state": "stop"}),
    ]
    assert [e.at for e in Timeline(events).events] == [2, 9]
