"""The ``world`` section of a run config: town, needs, economy, jobs, queues, weather."""

from __future__ import annotations

import re
from typing import Final, Literal

from pydantic import Field, field_validator, model_validator

from townlet.core.config_base import ConfigModel, ConfigPath

__all__ = [
    "EconomyConfig",
    "JobSpec",
    "JobsConfig",
    "LifecycleConfig",
    "NarrationConfig",
    "NeedsConfig",
    "PerturbationKind",
    "PerturbationsConfig",
    "QueueConfig",
    "SocialConfig",
    "WeatherConfig",
    "WorldConfig",
]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
Item = Literal["raw_food", "meal", "clean_clothes"]
Weather = Literal["sunny", "rainy", "cold"]


def _prices(**prices: float) -> dict[Item, float]:
    return dict(prices)  # type: ignore[return-value]


def _stock(**stock: int) -> dict[Item, int]:
    return dict(stock)  # type: ignore[return-value]


def _weather_costs(**costs: float) -> dict[Weather, float]:
    return dict(costs)  # type: ignore[return-value]


class NeedsConfig(ConfigModel):
    """Per-tick decay of each need (values in [0, 1], 1 = satisfied)."""

    hunger_decay: float = Field(0.0008, ge=0, le=0.1, description="Hunger lost per tick (0..0.1).")
    hygiene_decay: float = Field(
        0.0004, ge=0, le=0.1, description="Hygiene lost per tick (0..0.1)."
    )
    energy_decay: float = Field(0.0009, ge=0, le=0.1, description="Energy lost per tick (0..0.1).")
    threshold: float = Field(
        0.3, gt=0, lt=1, description="Value below which on_need_threshold fires (0..1)."
    )
    initial_low: float = Field(0.6, ge=0, le=1, description="Lowest initial need value.")
    initial_high: float = Field(0.9, ge=0, le=1, description="Highest initial need value.")
    faint_ticks: int = Field(
        60,
        ge=0,
        le=10_000,
        description="Ticks an agent lies where it fell when its energy runs out (0: no fainting).",
    )
    faint_energy: float = Field(
        0.15, gt=0, le=1, description="Energy an agent comes round with after fainting (0..1]."
    )

    @model_validator(mode="after")
    def _initial_range(self) -> NeedsConfig:
        if self.initial_low > self.initial_high:
            raise ValueError("initial_low must not exceed initial_high")
        return self


MONEY_MAX: Final = 1_000_000.0
"""Largest price, rent or starting money: 1.0 money is about a meal, and wallets count
thousandths in 64-bit integers, which far larger amounts would overflow."""


class EconomyConfig(ConfigModel):
    """Prices, stock, rent and starting money (1.0 money ≈ a basic meal)."""

    prices: dict[Item, float] = Field(
        default_factory=lambda: _prices(meal=1.0, raw_food=0.4, clean_clothes=2.0),
        description="Base price of each item (> 0, at most 1000000).",
    )
    stock: dict[str, dict[Item, int]] = Field(
        default_factory=lambda: {"cafe": _stock(meal=40), "grocer": _stock(raw_food=60)},
        description="Daily stock per shop place id; restocked at midnight.",
    )
    rent: float = Field(
        2.0,
        ge=0,
        le=MONEY_MAX,
        description="Rent charged to every citizen at midnight (0..1000000).",
    )
    starting_money: float = Field(
        8.0, ge=0, le=MONEY_MAX, description="Wallet of an initial citizen (0..1000000)."
    )
    cold_meal_markup: float = Field(
        0.1, ge=0, le=1, description="Fractional price rise of meals while the weather is cold."
    )

    @field_validator("prices")
    @classmethod
    def _positive_prices(cls, value: dict[str, float]) -> dict[str, float]:
        for item, price in value.items():
            if not 0 < price <= MONEY_MAX:
                raise ValueError(
                    f"price of {item} must be > 0 and <= {MONEY_MAX:,.0f} (got {price})"
                )
        return value


class JobSpec(ConfigModel):
    """One employer: a place whose desks are workstations, a daily shift and a wage."""

    place: str = Field(description="Place id of the workplace (its desks are workstations).")
    start: str = Field(description="Shift start, HH:MM sim time.")
    end: str = Field(description="Shift end, HH:MM sim time (after start).")
    wage: float = Field(gt=0, le=1, description="Money per tick at the workstation on shift.")

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"expected HH:MM (got {value!r})")
        return value

    @model_validator(mode="after")
    def _order(self) -> JobSpec:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self


class JobsConfig(ConfigModel):
    """Employment rules shared by every job."""

    jobs: list[JobSpec] = Field(
        default_factory=lambda: [
            JobSpec(place="office", start="09:00", end="17:00", wage=0.02),
            JobSpec(place="cafe", start="07:00", end="15:00", wage=0.02),
            JobSpec(place="grocer", start="11:00", end="19:00", wage=0.02),
        ]
    )
    grace_minutes: int = Field(15, ge=0, le=240, description="Arrival after start still on time.")
    absent_after_minutes: int = Field(
        120, ge=1, le=600, description="Not arrived this long after start: absent for the day."
    )
    bonus_window_minutes: int = Field(
        30, ge=1, le=240, description="Half-width of the triangular punctuality bonus window."
    )
    punctuality_bonus: float = Field(
        0.05, ge=0, le=1, description="Bonus for arriving exactly at shift start."
    )


class QueueConfig(ConfigModel):
    """Queue fairness and deadlock breaking."""

    fairness_cooldown: int = Field(
        60, ge=0, le=1000, description="Ticks a recent user or a blocker is deprioritised."
    )
    waiting_age_weight: float = Field(1.0, ge=0, description="Priority gained per tick of waiting.")
    ghost_step_after: int = Field(
        3, ge=1, le=50, description="Failed moves in a row before a ghost step through a blocker."
    )
    reservation_slack: int = Field(
        20, ge=1, le=1000, description="Ticks beyond the duration before a reservation times out."
    )
    queue_length: int = Field(4, ge=1, le=16, description="Queue nodes per object.")


class WeatherConfig(ConfigModel):
    """Weather and utility faults, rolled once per sim hour on the events stream."""

    change_probability: float = Field(0.15, ge=0, le=1, description="Chance per hour to change.")
    outdoor_cost: dict[Weather, float] = Field(
        default_factory=lambda: _weather_costs(sunny=1.0, rainy=1.6, cold=1.3),
        description="Path cost of an outdoor tile per weather.",
    )
    power_fault_probability: float = Field(0.01, ge=0, le=1, description="Chance per hour.")
    water_fault_probability: float = Field(0.01, ge=0, le=1, description="Chance per hour.")
    fault_min_ticks: int = Field(20, ge=1, description="Shortest utility outage.")
    fault_max_ticks: int = Field(80, ge=1, description="Longest utility outage.")

    @model_validator(mode="after")
    def _fault_range(self) -> WeatherConfig:
        if self.fault_min_ticks > self.fault_max_ticks:
            raise ValueError("fault_min_ticks must not exceed fault_max_ticks")
        return self


class SocialConfig(ConfigModel):
    """Relationships, conflicts and chats (active from relationship stage A)."""

    decay_per_hour: float = Field(
        0.02, ge=0, le=1, description="Fraction of every tie value lost per sim hour (0..1)."
    )
    faint: float = Field(0.02, ge=0, le=0.5, description="Ties with all values below are dropped.")
    avoid_rivalry: float = Field(
        0.35, ge=0, le=1, description="Stage C: avoid queues with a rival above this rivalry."
    )
    argue_rivalry: float = Field(
        0.5, ge=0, le=1, description="Rivals above this argue publicly when they collide."
    )
    argue_ticks: int = Field(10, ge=0, le=200, description="Ticks a public argument costs both.")
    chat_radius: int = Field(3, ge=1, le=10, description="How far (tiles) a chat partner may be.")


class LifecycleConfig(ConfigModel):
    """Exits and arrivals (on when ``features.lifecycle`` is true)."""

    training_mode: bool = Field(False, description="Mortality off: nobody exits.")
    collapse_deficit: float = Field(0.97, gt=0, le=1, description="Hunger deficit of a collapse.")
    collapse_ticks: int = Field(30, ge=1, description="Ticks above the collapse deficit to exit.")
    near_death_deficit: float = Field(
        0.9, gt=0, le=1, description="Deficit at which on_agent_near_death fires."
    )
    eviction_days: int = Field(
        2, ge=1, description="Midnights with rent unpaid before notice; one more day to recover."
    )
    fire_after_absences: int = Field(3, ge=1, description="Absent days in a row that cost the job.")
    rehire_days: int = Field(1, ge=0, description="Days after losing a job before rehiring.")
    unemployment_days: int = Field(5, ge=1, description="Days without a job before leaving town.")
    neglect_deficit: float = Field(0.9, gt=0, le=1, description="Deficit counted as neglect.")
    neglect_fraction: float = Field(
        0.25, gt=0, le=1, description="Share of a day neglected (any need) that ends a stay."
    )
    age_out_days: int | None = Field(None, ge=1, description="Days after which citizens retire.")
    max_exits_per_day: int = Field(2, ge=0, description="Exit cap per sim day.")
    exit_cooldown: int = Field(120, ge=0, description="Ticks between two exits.")
    outage_grace: int = Field(
        100, ge=0, description="Ticks after a city-wide outage during which exits stay suppressed."
    )
    spawn_delay_min: int = Field(5, ge=1, description="Fewest ticks before a newcomer arrives.")
    spawn_delay_max: int = Field(20, ge=1, description="Most ticks before a newcomer arrives.")
    embedding_slots: int = Field(64, ge=1, le=4096, description="Agent-embedding namespace size.")
    embedding_cooldown: int = Field(
        2000, ge=0, description="Ticks before a freed embedding slot may be reused."
    )

    @model_validator(mode="after")
    def _delays(self) -> LifecycleConfig:
        if self.spawn_delay_min > self.spawn_delay_max:
            raise ValueError("spawn_delay_min must not exceed spawn_delay_max")
        return self


class PerturbationKind(ConfigModel):
    """How often and how hard one kind of perturbation strikes."""

    probability_per_day: float = Field(0.0, ge=0, le=24, description="Expected starts per day.")
    min_ticks: int = Field(50, ge=1, description="Shortest duration.")
    max_ticks: int = Field(200, ge=1, description="Longest duration.")
    min_magnitude: float = Field(
        1.5, ge=0, le=100, description="Smallest magnitude (price factor, 0..100)."
    )
    max_magnitude: float = Field(
        2.5, ge=0, le=100, description="Largest magnitude (price factor, 0..100)."
    )

    @model_validator(mode="after")
    def _ranges(self) -> PerturbationKind:
        if self.min_ticks > self.max_ticks:
            raise ValueError(
                f"min_ticks ({self.min_ticks}) must not exceed max_ticks ({self.max_ticks})"
            )
        if self.min_magnitude > self.max_magnitude:
            raise ValueError(
                f"min_magnitude ({self.min_magnitude}) must not exceed "
                f"max_magnitude ({self.max_magnitude})"
            )
        return self


class PerturbationsConfig(ConfigModel):
    """Scheduled town events; locked out in curriculum stages M0-M2."""

    enabled: bool = Field(False, description="Schedule perturbations at random.")
    max_concurrent: int = Field(2, ge=1, le=10, description="Most perturbations at once.")
    fairness_days: int = Field(
        3, ge=0, description="Days before the same agent may be targeted again."
    )
    price_spike: PerturbationKind = Field(
        default_factory=lambda: PerturbationKind(probability_per_day=0.5)
    )
    blackout: PerturbationKind = Field(
        default_factory=lambda: PerturbationKind(probability_per_day=0.3, max_ticks=120)
    )
    water_outage: PerturbationKind = Field(
        default_factory=lambda: PerturbationKind(probability_per_day=0.3, max_ticks=120)
    )
    facility_closure: PerturbationKind = Field(
        default_factory=lambda: PerturbationKind(probability_per_day=0.2, max_ticks=300)
    )
    arranged_meet: PerturbationKind = Field(
        default_factory=lambda: PerturbationKind(probability_per_day=0.5, max_ticks=100)
    )


class NarrationConfig(ConfigModel):
    """Throttles of the narrator."""

    max_per_hour: int = Field(6, ge=0, description="Most narrations per sim hour, all categories.")
    category_cooldown: int = Field(
        60, ge=0, description="Ticks between two narrations of one category."
    )
    dedupe_window: int = Field(
        300, ge=0, description="Ticks during which a repeat line is dropped."
    )


class WorldConfig(ConfigModel):
    """The town and its rules."""

    town: ConfigPath = Field(description="Town map YAML (relative to the config file).")
    affordances: ConfigPath = Field(description="Affordance manifest YAML.")
    agents: int = Field(8, ge=1, le=256, description="Citizens at the start.")
    ticks_per_day: int = Field(1000, ge=48, le=100_000, description="Ticks in one sim day.")
    commit_window: int = Field(
        15, ge=1, le=1000, description="Ticks an option stays committed unless it ends."
    )
    needs: NeedsConfig = Field(default_factory=NeedsConfig)
    economy: EconomyConfig = Field(default_factory=EconomyConfig)
    jobs: JobsConfig = Field(default_factory=JobsConfig)
    queues: QueueConfig = Field(default_factory=QueueConfig)
    weather: WeatherConfig = Field(default_factory=WeatherConfig)
    social: SocialConfig = Field(default_factory=SocialConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    perturbations: PerturbationsConfig = Field(default_factory=PerturbationsConfig)
    narration: NarrationConfig = Field(default_factory=NarrationConfig)
