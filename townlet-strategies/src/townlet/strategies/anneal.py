"""The scripted→learned anneal: PPO on the learned share of mixed scripted/learned control.

Every decision (docs/training.md, "Decisions, not ticks") is handed to the
scripted policy with probability ``ratio`` — a Bernoulli draw per decision
from the deciding town's policy RNG stream, so a seeded run mixes the same
way every time — and to the network otherwise. PPO trains on the learned
decisions only; a learned transition that a scripted decision follows ends
there, bootstrapped from the value of that state.

``ratio`` starts at ``start_ratio`` (80% scripted) and falls linearly to 0
over ``anneal_epochs`` epochs. A stability monitor
(:mod:`townlet.core.stability`) watches every town; each KPI window (one sim
day by default, and each episode's end) is compared with the KPIs of the
scripted policy measured on the same towns before training. When any
guarded KPI is more than ``rollback_drop`` (30%) worse than that baseline,
the rollback guard freezes the ratio: the schedule stops where it is, the
epoch record says ``anneal_rolled_back: true`` and a narration item and a
metric go to the telemetry sinks; training continues at the frozen ratio and
the schedule resumes once a window is back within the bound. At ratio 0
there is nothing to freeze: a breach is narrated as such and the stage
stays ``learned``. Every epoch
record carries ``anneal_ratio`` and ``anneal_stage`` (``anneal``,
``frozen``, or ``learned`` once the ratio is 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal

import numpy as np
import numpy.typing as npt
import torch
from pydantic import BaseModel, Field, field_validator

from townlet.core.env.vector import VectorTownEnv
from townlet.core.errors import TownletError
from townlet.core.ports import BatchPolicy, TrainingContext
from townlet.core.stability import (
    BEHAVIOUR_KPIS,
    StabilityMonitor,
    StabilityParams,
    WindowReport,
    compare,
    mean_kpis,
    worst_drop,
)
from townlet.core.training.dto import EpochRecord, TrainingResult
from townlet.core.world.rows import TownRows
from townlet.core.world.world import World
from townlet.strategies._buffer import Transitions
from townlet.strategies._rollout import DecisionCollector
from townlet.strategies.network import ActorCritic
from townlet.strategies.ppo import PPOParams, PPOStrategy, planned_epochs

__all__ = ["AnnealParams", "AnnealState", "AnnealStrategy"]

ROLLBACK_CATEGORY: Final = "anneal_rollback"
"""Narration category of a rollback (and ``anneal_recovered`` when it lifts)."""
SPENT_CATEGORY: Final = "anneal_guard_spent"
"""Narration category of a KPI drop after the ratio reached 0 (nothing to freeze)."""


class AnnealParams(PPOParams):
    """``ppo``'s hyperparameters plus the mix schedule and the rollback guard."""

    start_ratio: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Share of decisions left to the scripted policy at first (0..1).",
    )
    anneal_epochs: int | None = Field(
        None,
        ge=1,
        description="Epochs over which the ratio falls linearly to 0 (≥ 1; null: the whole run).",
    )
    teacher: str = Field(
        "scripted", description="Policy plugin in control of the scripted share (needs act_many)."
    )
    teacher_params: dict[str, Any] = Field(
        default_factory=dict, description="Params of the teacher policy."
    )
    kpi_window: int | None = Field(
        None,
        ge=1,
        description="Ticks per KPI window (≥ 1; null: the config's stability.window_ticks, one "
        "sim day by default); each episode's end closes one too.",
    )
    baseline_ticks: int | None = Field(
        None,
        ge=1,
        description="Ticks of teacher-only rollout measuring the baseline KPIs before training "
        "(≥ 1; null: one KPI window).",
    )
    rollback_drop: float = Field(
        0.3,
        gt=0,
        description="Freeze the ratio when a guarded KPI is this much worse than the baseline "
        "(relative, > 0; 0.3 = 30%).",
    )
    guard_kpis: tuple[str, ...] = Field(
        BEHAVIOUR_KPIS,
        min_length=1,
        description="Stability KPIs the rollback guard watches (default: every behaviour KPI).",
    )

    @field_validator("guard_kpis")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [n for n in names if n not in BEHAVIOUR_KPIS]
        if unknown:
            raise ValueError(
                f"unknown KPI {', '.join(unknown)} (known: {', '.join(BEHAVIOUR_KPIS)})"
            )
        return names


GuardEvent = Literal["tripped", "recovered", "nothing_to_freeze"]
"""What the rollback guard did after an epoch (see :meth:`AnnealState.end_epoch`)."""


@dataclass
class AnnealState:
    """Where the schedule stands; the collector reads the ratio, the strategy moves it."""

    start_ratio: float
    anneal_epochs: int
    progress: int = 0
    """Epochs the schedule has advanced (frozen epochs do not count)."""
    frozen: bool = False

    @property
    def ratio(self) -> float:
        """Share of decisions left to the teacher now."""
        return self.start_ratio * max(0.0, 1.0 - self.progress / self.anneal_epochs)

    @property
    def stage(self) -> str:
        """``frozen`` while the guard holds the ratio, ``learned`` at 0, else ``anneal``."""
        if self.frozen:
            return "frozen"
        return "learned" if self.ratio == 0 else "anneal"

    def end_epoch(self, drop: float | None, bound: float) -> GuardEvent | None:
        """The rollback guard after an epoch, then one step of the schedule unless frozen.

        ``drop``: the worst relative KPI drop of the windows the epoch closed
        (None when it closed none: the guard keeps its state). Above ``bound``
        it freezes the ratio (``tripped``); a frozen ratio thaws at the first
        drop within ``bound`` (``recovered``) and the schedule goes on from
        where it stopped. Once the ratio is 0 there is nothing left to hold
        back: a drop above ``bound`` is reported (``nothing_to_freeze``, every
        such epoch) and the stage stays ``learned``.
        """
        event: GuardEvent | None = None
        if drop is not None and drop > bound and not self.frozen:
            if self.ratio == 0:
                return "nothing_to_freeze"
            self.frozen, event = True, "tripped"
        elif drop is not None and drop <= bound and self.frozen:
            self.frozen, event = False, "recovered"
        if not self.frozen:
            self.progress += 1
        return event


@dataclass
class _AnnealCollector(DecisionCollector):
    """A :class:`DecisionCollector` that gives a share of decisions to the teacher and
    watches every town with a stability monitor."""

    teacher: Any = None
    schedule: AnnealState | None = None
    window: StabilityParams = field(default_factory=StabilityParams)
    baseline: dict[str, float] | None = None
    monitors: list[StabilityMonitor] = field(default_factory=list)
    decisions: int = 0
    """Decisions since the caller last reset it (with :attr:`scripted`)."""
    scripted: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.monitors = [
            StabilityMonitor(self.window, self.baseline) for _ in range(self.env.num_towns)
        ]
        self.teacher.reset(self.env.worlds[0], self.env.worlds[0].rng.policy)

    def handover(
        self, rows: npt.NDArray[np.intp], actions: npt.NDArray[np.int64], buf: Transitions
    ) -> npt.NDArray[np.intp]:
        """Draw teacher-or-network per deciding row from its town's policy stream."""
        assert self.schedule is not None
        self.decisions += rows.size
        ratio = self.schedule.ratio
        if rows.size == 0 or ratio == 0:
            return rows
        env = self.env
        town = rows // env.slots
        draws = np.empty(rows.size)
        for t in np.unique(town).tolist():
            at = town == t
            draws[at] = env.worlds[t].rng.policy.random(int(np.count_nonzero(at)))
        scripted = draws < ratio
        if scripted.any():
            mine = rows[scripted]
            actions[mine] = self.teacher.act_many(TownRows(env.worlds))[mine]
            self.close(buf, mine)
            self.scripted += mine.size
        return rows[~scripted]

    def stepped(self, info: dict[str, Any]) -> None:
        """Feed every town's tick to its monitor; an episode's end closes its window."""
        _watch(self.monitors, self.env.worlds, info["reset_towns"])
        if 0 in info["reset_towns"]:  # a new world 0: the teacher draws from its stream
            self.teacher.reset(self.env.worlds[0], self.env.worlds[0].rng.policy)


def _baseline(
    env: VectorTownEnv, teacher: Any, window: StabilityParams, ticks: int
) -> dict[str, float]:
    """Mean KPIs of the teacher alone over ``ticks`` ticks of ``env`` (windows as in training)."""
    monitors = [StabilityMonitor(window) for _ in range(env.num_towns)]
    teacher.reset(env.worlds[0], env.worlds[0].rng.policy)
    for _ in range(ticks):
        _, _, _, _, info = env.step(teacher.act_many(TownRows(env.worlds)))
        _watch(monitors, env.worlds, info["reset_towns"])
    for m in monitors:
        _close(m)
    reports = [r.kpis for m in monitors for r in m.reports]
    if not reports:
        raise TownletError(
            "anneal: the baseline rollout closed no KPI window; raise baseline_ticks"
        )
    return mean_kpis(reports)


def _watch(monitors: list[StabilityMonitor], worlds: list[World], reset: list[int]) -> None:
    """Feed a step to the towns' monitors: a town that reset (its episode's end) closes
    its window, then every town's tick is observed."""
    for t in reset:
        _close(monitors[t])
    for monitor, world in zip(monitors, worlds, strict=True):
        monitor.observe(world)


def _close(monitor: StabilityMonitor) -> WindowReport | None:
    """Close ``monitor``'s open window if it has counted a tick."""
    try:
        return monitor.close_window()
    except RuntimeError:  # nothing observed since the last window
        return None


class AnnealStrategy(PPOStrategy):
    """PPO on the learned share of mixed scripted/learned control, the scripted share
    annealed to 0 and frozen by a rollback guard when stability KPIs fall."""

    name: ClassVar[str] = "anneal"
    backends: ClassVar[tuple[str, ...]] = ("local",)
    Params: ClassVar[type[BaseModel]] = AnnealParams

    def __init__(self, params: AnnealParams) -> None:
        super().__init__(params)
        self.params: AnnealParams = params
        self.anneal: AnnealState | None = None
        self.baseline: dict[str, float] = {}
        """Mean KPIs of the teacher alone, measured before training."""
        self.mix: list[tuple[int, int]] = []
        """Per epoch: (decisions the teacher took, all decisions); their share ≈ the ratio."""
        self._teacher_policy: Any = None  # a Policy with act_many
        self._window = StabilityParams()
        self._seen: list[int] = []
        self._hub: Any = None

    def prepare(self, context: TrainingContext) -> None:
        """Check the mode, then ``ppo``'s preparation (init_from, replay data for mixed)."""
        if context.settings.mode == "replay":
            raise TownletError(
                "anneal mixes control in fresh rollouts: training.mode must be rollout or mixed"
            )
        if getattr(context.settings, "backend", "local") != "local":
            raise TownletError("anneal runs on the local backend only (training.backend: local)")
        if context.resume_from is not None:
            raise TownletError(
                "anneal cannot resume a run (its schedule and baseline are not checkpointed): "
                "start a new one with training.params.init_from=RUN_DIR"
            )
        super().prepare(context)

    def run(self, context: TrainingContext) -> TrainingResult:
        """Measure the teacher's baseline KPIs, then train as ``ppo`` does with mixed control."""
        p, settings = self.params, context.settings
        self._hub = getattr(context, "hub", None)
        teacher = context.registry.build("policies", p.teacher, p.teacher_params)
        if not isinstance(teacher, BatchPolicy):
            raise TownletError(
                f"anneal: teacher {p.teacher!r} has no act_many (a batch policy is needed)"
            )
        self._teacher_policy = teacher
        window: StabilityParams = context.config.stability  # canary thresholds, window length
        if p.kpi_window is not None:
            window = window.model_copy(update={"window_ticks": p.kpi_window})
        self._window = window
        env = context.make_env(settings.towns)
        env.reset(seed=context.seed)
        span = p.baseline_ticks or window.window_ticks or context.config.world.ticks_per_day
        self.baseline = _baseline(env, teacher, window, span)
        env.close()
        per_epoch = settings.towns * context.config.world.agents * settings.rollout_ticks
        epochs = planned_epochs(settings, per_epoch)  # the run's epochs, as ppo sizes it
        self.anneal = AnnealState(p.start_ratio, p.anneal_epochs or epochs)
        return super().run(context)

    def _collector(
        self, env: VectorTownEnv, net: ActorCritic, generator: torch.Generator, device: torch.device
    ) -> DecisionCollector:
        p = self.params
        return _AnnealCollector(
            env, net, p.gamma, p.reward_scale, generator, device,
            teacher=self._teacher_policy, schedule=self.anneal,
            window=self._window, baseline=self.baseline,
        )  # fmt: skip

    def _annotate(self, record: EpochRecord, collector: object) -> EpochRecord:
        """Stamp the epoch's ratio and stage, then run the guard on the windows it closed."""
        assert isinstance(collector, _AnnealCollector) and self.anneal is not None
        state = self.anneal
        ratio, stage = state.ratio, state.stage
        if not self._seen:
            self._seen = [0] * len(collector.monitors)
        fresh = []
        for t, monitor in enumerate(collector.monitors):
            fresh += [r.kpis for r in monitor.reports[self._seen[t] :]]
            self._seen[t] = len(monitor.reports)
        kpis = mean_kpis(fresh) if fresh else {}
        name, drop = worst_drop(compare(kpis, self.baseline, self.params.guard_kpis))
        event = state.end_epoch(drop if fresh else None, self.params.rollback_drop)
        tripped = event == "tripped"
        if event is not None:
            category = {
                "tripped": ROLLBACK_CATEGORY,
                "recovered": "anneal_recovered",
                "nothing_to_freeze": SPENT_CATEGORY,
            }[event]
            self._tell(record.epoch, category, ratio, name, drop, kpis)
        self.mix.append((collector.scripted, collector.decisions))
        collector.scripted = collector.decisions = 0
        return record.model_copy(
            update={"anneal_ratio": ratio, "anneal_stage": stage, "anneal_rolled_back": tripped}
        )

    def _tell(
        self,
        epoch: int,
        category: str,
        ratio: float,
        kpi: str | None,
        drop: float,
        kpis: Mapping[str, float],
    ) -> None:
        """Narrate a rollback (or recovery) and publish it as a metric."""
        if self._hub is None:
            return
        worse = (
            f"{kpi} is {drop:.0%} worse than the scripted baseline "
            f"(bound {self.params.rollback_drop:.0%})"
        )
        if category == ROLLBACK_CATEGORY:
            text = f"anneal frozen at {ratio:.2f} scripted: {worse}"
        elif category == SPENT_CATEGORY:
            text = f"anneal guard tripped with nothing to freeze (ratio already 0): {worse}"
        else:
            text = f"anneal resumes from {ratio:.2f} scripted: every guarded KPI is back in bounds"
        self._hub.publish_narration(epoch, [{"category": category, "text": text, "agents": []}])
        metrics = {f"anneal/kpi/{k}": float(v) for k, v in kpis.items()}
        metrics.update({"anneal/ratio": ratio, "anneal/worst_drop": drop})
        metrics["anneal/rolled_back"] = 1.0 if category == ROLLBACK_CATEGORY else 0.0
        self._hub.publish_metrics(epoch, metrics, scope="anneal")
