"""The standard reward terms: homeostasis, shaping, work, survival, terminal.

Every stage returns a ``[rows]`` float32 contribution for the tick just
simulated (rows: the agent slots of one or more towns, end to end); rows
whose agent did not act this tick (empty, or a newcomer that only just
arrived) get 0.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field, field_validator

from townlet.core.ports import (
    MILLS,
    PLUGIN_API_VERSION,
    PluginParams,
    RewardContextView,
    RunConfigView,
)

__all__ = [
    "HomeostasisParams",
    "HomeostasisStage",
    "NeedWeights",
    "RewardStageBase",
    "ShapingParams",
    "ShapingStage",
    "SurvivalParams",
    "SurvivalStage",
    "SwitchableStage",
    "TerminalParams",
    "TerminalStage",
    "WorkParams",
    "WorkStage",
]


class NeedWeights(PluginParams):
    """Weight of each need's deficit."""

    hunger: float = Field(1.0, ge=0, le=10, description="Weight of the hunger deficit (0..10).")
    hygiene: float = Field(0.6, ge=0, le=10, description="Weight of the hygiene deficit (0..10).")
    energy: float = Field(0.8, ge=0, le=10, description="Weight of the energy deficit (0..10).")

    def array(self) -> npt.NDArray[np.float32]:
        """``[3]`` weights in need order (hunger, hygiene, energy)."""
        return np.array([self.hunger, self.hygiene, self.energy], dtype=np.float32)


P = TypeVar("P", bound=BaseModel)


@runtime_checkable
class SwitchableStage(Protocol):
    """A reward stage that can tell from the run config alone that it adds nothing.

    The pipeline asks once per :meth:`~townlet.core.rewards.RewardPipeline.reset`
    and leaves a disabled stage out of every tick: its breakdown row stays zero.
    """

    def enabled(self, config: RunConfigView) -> bool:
        """False only if every contribution under ``config`` would be +0.0."""
        ...


class RewardStageBase(ABC, Generic[P]):
    """Shared plumbing of reward stages, generic over the params model ``P``: a
    subclass ``class MyStage(RewardStageBase[MyParams])`` sets ``Params = MyParams``
    and reads ``self.params`` typed as ``MyParams``. A plugin need not use it."""

    Params: ClassVar[type[BaseModel]]
    """The params model (``P``)."""
    plugin_api_version: ClassVar[str] = PLUGIN_API_VERSION
    tags: ClassVar[frozenset[str]] = frozenset()
    """``social``: switched off by ``social_floor``; ``terminal``: exempt from the clip."""

    def __init__(self, params: P) -> None:
        self.params: P = params

    @abstractmethod
    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """Subclasses return their ``[N]`` contribution."""


class HomeostasisParams(PluginParams):
    """Parameters of ``homeostasis``."""

    weights: NeedWeights = Field(default_factory=NeedWeights, description="Per-need weights.")
    scale: float = Field(
        0.1, ge=0, le=10, description="Multiplier of −Σ wᵢ·deficitᵢ² per tick (0..10)."
    )


class HomeostasisStage(RewardStageBase[HomeostasisParams]):
    """−scale · Σ wᵢ · deficitᵢ² each tick: unmet needs hurt, quadratically."""

    Params: ClassVar[type[BaseModel]] = HomeostasisParams

    def __init__(self, params: HomeostasisParams) -> None:
        super().__init__(params)
        self._w = params.weights.array() * np.float32(params.scale)

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """Penalty of the deficits after the tick, for agents that stayed in town."""
        f = ctx.facts
        d = f.deficit
        out: npt.NDArray[np.float32] = (d * d) @ -self._w
        out *= f.stayed
        return out


class ShapingParams(PluginParams):
    """Parameters of ``shaping``."""

    weights: NeedWeights = Field(default_factory=NeedWeights, description="Per-need weights.")
    scale: float = Field(1.0, ge=0, le=10, description="φ(s) = −scale · Σ wᵢ·deficitᵢ (0..10).")
    gamma: float = Field(0.99, gt=0, le=1, description="Discount γ of γφ(s′) − φ(s) (0..1].")


class ShapingStage(RewardStageBase[ShapingParams]):
    """Potential-based shaping γφ(s′) − φ(s) with φ(s) = −scale · Σ wᵢ·deficitᵢ.

    It pays for relief (eating, showering, sleeping) as it happens. The
    potential is frozen on the tick an agent exits (contribution 0, never a
    bonus for leaving) and starts on a newcomer's first full tick.
    """

    Params: ClassVar[type[BaseModel]] = ShapingParams

    def __init__(self, params: ShapingParams) -> None:
        super().__init__(params)
        self._w = params.weights.array() * np.float32(params.scale)
        self._gamma = np.float32(params.gamma)

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """γφ(s′) − φ(s) for agents that acted and stayed."""
        f = ctx.facts
        # γφ(s′) − φ(s) with φ = −d·w
        out: npt.NDArray[np.float32] = f.deficit_before @ self._w - self._gamma * (
            f.deficit @ self._w
        )
        out *= f.stayed > f.spawned  # stayed and did not arrive (x > y is x & ~y on bools)
        return out


class WorkParams(PluginParams):
    """Parameters of ``work``."""

    wage_weight: float = Field(
        1.0, ge=0, le=10, description="Reward per unit of wage earned while working (0..10)."
    )
    punctuality: float = Field(
        0.05,
        ge=0,
        le=0.2,
        description="Bonus on arriving on time (0..0.2, below the pain of a skipped meal).",
    )
    late: float = Field(-0.02, ge=-0.2, le=0, description="On arriving late (−0.2..0).")
    absent: float = Field(-0.05, ge=-0.5, le=0, description="When marked absent (−0.5..0).")


class WorkStage(RewardStageBase[WorkParams]):
    """Wage while working at the desk on shift, plus arrival bonus or penalties."""

    Params: ClassVar[type[BaseModel]] = WorkParams

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """Wage this tick plus the punctuality, lateness and absence terms."""
        p = self.params
        towns = ctx.towns
        a = towns.agents
        f = ctx.facts
        worked = a.present_ticks > f.before.present_ticks
        out = np.zeros(ctx.n, dtype=np.float32)
        if np.count_nonzero(worked):
            out += worked * towns.job_wage[np.maximum(a.job, 0)] * (p.wage_weight / MILLS)
        changed = a.shift_state != f.before.shift_state
        if np.count_nonzero(changed):
            state = a.shift_state
            bonus = np.array([0.0, 0.0, p.punctuality, p.late, p.absent], dtype=np.float32)
            out += changed * bonus[np.minimum(state, 4)]
        out *= f.stayed > f.spawned  # stayed and did not arrive
        return out


class SurvivalParams(PluginParams):
    """Parameters of ``survival``."""

    per_tick: float = Field(0.002, ge=0, le=0.1, description="Reward per tick in town (0..0.1).")


class SurvivalStage(RewardStageBase[SurvivalParams]):
    """A small reward for every tick an agent stays in town."""

    Params: ClassVar[type[BaseModel]] = SurvivalParams

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """``per_tick`` for agents that acted and did not exit."""
        p = self.params
        f = ctx.facts
        out: npt.NDArray[np.float32] = f.stayed * np.float32(p.per_tick)
        return out


class TerminalParams(PluginParams):
    """Parameters of ``terminal``."""

    exit: float = Field(-1.0, ge=-10, le=0, description="Penalty on leaving town (−10..0).")
    reasons: dict[str, float] = Field(
        default_factory=lambda: {"eviction": -2.0},
        description="Penalty by exit reason, replacing `exit` (each −10..0).",
    )
    faint: float = Field(-1.0, ge=-10, le=0, description="Penalty per faint event (−10..0).")
    faint_events: tuple[str, ...] = Field(
        ("faint",), description="Event kinds that count as a faint."
    )

    @field_validator("reasons")
    @classmethod
    def _bounded(cls, value: dict[str, float]) -> dict[str, float]:
        for reason, penalty in value.items():
            if not -10 <= penalty <= 0:
                raise ValueError(f"reasons.{reason} must be within -10..0 (got {penalty})")
        return value


class TerminalStage(RewardStageBase[TerminalParams]):
    """Penalties on exit (by reason) and on fainting; never a reward on death."""

    Params: ClassVar[type[BaseModel]] = TerminalParams
    tags: ClassVar[frozenset[str]] = frozenset({"terminal"})

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """Exit and faint penalties of this tick."""
        p = self.params
        f = ctx.facts
        out = np.zeros(ctx.n, dtype=np.float32)
        for slot, reason in f.exit_reasons.items():
            out[slot] += p.reasons.get(reason, p.exit)
        for kind in p.faint_events:
            for slot, _ in f.of_kind(kind):
                if slot >= 0 and f.acted[slot]:
                    out[slot] += p.faint
        return out
