"""The scripted→learned anneal: its schedule, its mix, and the rollback guard."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from townlet.core.config import TownletConfig, load_config, parse_override
from townlet.core.console.bus import ConsoleBus
from townlet.core.env.vector import VectorTownEnv
from townlet.core.errors import TownletError
from townlet.core.ports import TelemetryEvent
from townlet.core.registry import Registry
from townlet.core.telemetry.hub import TelemetryHub
from townlet.core.training.context import build_context
from townlet.core.training.dto import EpochRecord
from townlet.core.training.epoch_log import EPOCH_LOG
from townlet.strategies.anneal import AnnealParams, AnnealState, AnnealStrategy

TOKEN = "admin-secret"


def _config(*overrides: str) -> TownletConfig:
    base = ("training.towns=1", "training.rollout_ticks=20")
    return load_config(overrides=[parse_override(o) for o in (*base, *overrides)]).config


def _records(run: Path) -> list[EpochRecord]:
    lines = (run / EPOCH_LOG).read_text(encoding="utf-8").splitlines()
    return [EpochRecord.model_validate(json.loads(line)) for line in lines]


class _Recorder:
    """A telemetry sink keeping what it is sent."""

    def __init__(self) -> None:
        self.events: list[TelemetryEvent] = []

    def start(self) -> None:
        """Nothing to open."""

    def emit(self, event: TelemetryEvent) -> None:
        self.events.append(event)

    def stop(self) -> None:
        """Nothing to close."""


def test_schedule_is_followed_and_logged(tmp_path: Path) -> None:
    cfg = _config("training.epochs=6")
    strategy = AnnealStrategy(AnnealParams(anneal_epochs=4, baseline_ticks=20))
    with build_context(cfg, tmp_path / "run") as ctx:
        strategy.prepare(ctx)
        strategy.run(ctx)
    records = _records(tmp_path / "run")
    # no KPI window closes in 120 ticks (one sim day each): the schedule runs undisturbed
    assert [r.anneal_ratio for r in records] == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0, 0.0])
    assert [r.anneal_stage for r in records] == ["anneal"] * 4 + ["learned"] * 2
    assert not any(r.anneal_rolled_back for r in records)
    # the Bernoulli draws give the teacher the ratio's share of decisions (within 4 sd)
    for (teacher, decisions), ratio in zip(strategy.mix, [0.8, 0.6, 0.4, 0.2], strict=False):
        sd = math.sqrt(ratio * (1 - ratio) / decisions)
        assert teacher / decisions == pytest.approx(ratio, abs=4 * sd)
    assert [teacher for teacher, _ in strategy.mix[4:]] == [0, 0]
    assert set(strategy.baseline) >= {"self_sufficiency", "lateness", "option_switch_rate"}


def test_mix_is_seeded(tmp_path: Path) -> None:
    def run(out: Path) -> list[float]:
        strategy = AnnealStrategy(AnnealParams(anneal_epochs=4, baseline_ticks=20))
        with build_context(_config("training.epochs=2"), out) as ctx:
            strategy.prepare(ctx)
            strategy.run(ctx)
        return [r.loss_total for r in _records(out)] + [t for t, _ in strategy.mix]

    assert run(tmp_path / "a") == run(tmp_path / "b")


def test_injected_kpi_drop_freezes_the_ratio(tmp_path: Path) -> None:
    """Hunger set to 0 for every citizen through the console bus after epoch 2: the
    next KPI window's self-sufficiency collapses, the guard freezes the ratio and
    says so in the epoch record, a narration item and a metric."""
    cfg = _config("training.epochs=6")
    params = AnnealParams(
        start_ratio=1.0,  # ~all scripted: the KPIs hold until the injection
        anneal_epochs=100,
        kpi_window=20,  # one window per epoch of 20 ticks
        baseline_ticks=40,
        guard_kpis=("self_sufficiency",),
    )
    bus = ConsoleBus(admin_tokens=[TOKEN])
    envs: list[VectorTownEnv] = []
    recorder = _Recorder()
    hub = TelemetryHub({"recorder": recorder})

    def inject(epoch: int, _: Mapping[str, float]) -> None:
        if epoch != 2:
            return
        for world in envs[-1].worlds:
            for i, agent in enumerate(world.agent_ids):
                request: dict[str, Any] = {
                    "cmd_id": f"starve-{i}", "token": TOKEN, "command": "setneed",
                    "args": {"agent": agent, "need": "hunger", "value": 0.0},
                }  # fmt: skip
                assert bus.execute(world, request).ok

    hub.start()
    with build_context(cfg, tmp_path / "run", hub=hub, on_progress=inject) as ctx:
        make_env = ctx.make_env

        def keep(num_towns: int, **kw: Any) -> VectorTownEnv:
            envs.append(make_env(num_towns, **kw))
            return envs[-1]

        ctx.make_env = keep  # type: ignore[method-assign]
        strategy = AnnealStrategy(params)
        strategy.prepare(ctx)
        strategy.run(ctx)
    hub.stop()
    records = _records(tmp_path / "run")
    tripped = [r.epoch for r in records if r.anneal_rolled_back]
    assert tripped == [3]  # the epoch after the injection
    ratio = {r.epoch: r.anneal_ratio for r in records}
    assert ratio[1] > ratio[2] > ratio[3]  # annealing until the guard trips ...
    assert ratio[4] == ratio[3]  # ... then frozen
    assert records[3].anneal_stage == "frozen"
    narration = [
        item
        for e in recorder.events
        if e.kind == "narration"
        for item in e.payload.get("items", ())
    ]
    assert any(
        i["category"] == "anneal_rollback" and "self_sufficiency" in i["text"] for i in narration
    )
    metrics = [e.payload["metrics"] for e in recorder.events if e.kind == "metric"]
    assert any(m.get("anneal/rolled_back") == 1.0 for m in metrics)


def test_registered_and_refuses_replay_mode(tmp_path: Path) -> None:
    assert Registry().find("training_strategies", "anneal").name == "anneal"
    cfg = _config("training.mode=replay")
    with build_context(cfg, tmp_path / "run") as ctx, pytest.raises(TownletError, match="mixed"):
        AnnealStrategy(AnnealParams()).prepare(ctx)
    with pytest.raises(ValueError, match="unknown KPI"):
        AnnealParams(guard_kpis=("happiness",))


def test_the_guard_freezes_holds_and_recovers() -> None:
    """Per epoch: the worst KPI drop of the windows it closed (None: it closed none)."""
    state = AnnealState(start_ratio=0.8, anneal_epochs=4)
    seen = []
    for drop in (None, 0.1, 0.5, None, 0.45, 0.3, None, 0.9, 0.0, 0.0):
        ratio, stage = state.ratio, state.stage
        seen.append((round(ratio, 6), stage, state.end_epoch(drop, 0.3)))
    assert seen == [
        (0.8, "anneal", None),
        (0.6, "anneal", None),
        (0.4, "anneal", "tripped"),  # the epoch ran at 0.4; the ratio stays there
        (0.4, "frozen", None),  # no window closed: still frozen
        (0.4, "frozen", None),  # still 45% worse: still frozen, not tripped again
        (0.4, "frozen", "recovered"),  # back within the bound: the schedule goes on
        (0.2, "anneal", None),
        (0.0, "learned", "nothing_to_freeze"),  # at 0 there is nothing to hold back
        (0.0, "learned", None),
        (0.0, "learned", None),
    ]
    assert not state.frozen and state.end_epoch(0.9, 0.3) == "nothing_to_freeze"
    assert state.stage == "learned"
