"""Pydantic models of every observer payload: the source of the shipped JSON Schemas.

Each model describes one ``payload_type`` exactly as it appears on the wire
(a JSON object per message). The JSON Schema files under
``townlet/telemetry/schemas/`` are generated from these models by
``townlet telemetry schemas`` and a test checks they match.
"""

from __future__ import annotations

from typing import Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from townlet.core.telemetry.health import SinkHealth
from townlet.core.training.records import TrainingRecord

__all__ = [
    "PAYLOAD_MODELS",
    "Health",
    "Metric",
    "Narration",
    "Stability",
    "TrainingEpoch",
    "WorldDiff",
    "WorldSnapshot",
]

_STRICT = ConfigDict(extra="forbid")

AgentId = str


class _Envelope(BaseModel):
    """Keys every payload carries."""

    model_config = _STRICT

    schema_version: Literal["1.0"] = Field(description="Payload schema version.")
    tick: int = Field(ge=0, description="Simulation tick (for training_epoch: the epoch).")


# -- world snapshot ------------------------------------------------------------


class Needs(BaseModel):
    """Need levels in [0, 1]; 1 is fully satisfied (deficit = 1 − value)."""

    model_config = _STRICT

    hunger: float = Field(ge=0, le=1)
    hygiene: float = Field(ge=0, le=1)
    energy: float = Field(ge=0, le=1)


class Inventory(BaseModel):
    """Items an agent carries."""

    model_config = _STRICT

    raw_food: int = Field(ge=0)
    meal: int = Field(ge=0)
    clean_clothes: int = Field(ge=0)


class Job(BaseModel):
    """An agent's employment."""

    model_config = _STRICT

    workplace: str | None = Field(
        description="Place id of the workplace (office, cafe, ...); null when jobless."
    )
    state: str = Field(description="Shift state: off, pending, on_time, late or absent.")
    attendance: float = Field(ge=0, le=1, description="Share of scheduled shift ticks attended.")


class Agent(BaseModel):
    """One citizen."""

    model_config = _STRICT

    name: str
    x: int = Field(ge=0)
    y: int = Field(ge=0)
    option: str = Field(
        description="Current option: wait, get_fed, get_clean, go_to_work, shop_groceries, "
        "sleep or socialise."
    )
    affordance: str | None = Field(
        description="Affordance id being performed (shower, cook, ...), 'work' at the "
        "workplace; null if none."
    )
    needs: Needs
    wallet: float
    inventory: Inventory
    job: Job
    last_event: str | None = Field(
        description="Kind of the agent's latest event this tick (conflict, chat, ...), if any."
    )


class WorldObject(BaseModel):
    """An interactive object and its queue."""

    model_config = _STRICT

    type: str = Field(description="bed, fridge, stove, shower, wardrobe, till, desk, shelf, ...")
    x: int = Field(ge=0)
    y: int = Field(ge=0)
    place: str = Field(description="The place it belongs to (home_a, gym, grocer, ...).")
    occupant: AgentId | None = Field(description="Agent holding the reservation, if any.")
    queue: list[AgentId] = Field(description="Agents waiting, first in line first.")
    available: bool = Field(description="False while closed, broken or without power/water.")


class Economy(BaseModel):
    """Prices and shop stock."""

    model_config = _STRICT

    prices: dict[str, float] = Field(description="Item → price (1.0 ≈ a basic meal).")
    stock: dict[str, dict[str, int]] = Field(description="Shop object id → item → units.")


class Utilities(BaseModel):
    """City-wide utilities."""

    model_config = _STRICT

    power: bool
    water: bool


class Tie(BaseModel):
    """One relationship tie, values in [−1, 1]."""

    model_config = _STRICT

    other: AgentId
    trust: float = Field(ge=-1, le=1)
    familiarity: float = Field(ge=-1, le=1)
    rivalry: float = Field(ge=-1, le=1)


class WorldEvent(BaseModel):
    """Something that happened this tick; more scalar fields may follow ``other``."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]}
        },
    )

    kind: str = Field(description="conflict, chat, shared_meal, exit, hired, late, weather, ...")
    agent: AgentId | None = Field(description="The agent the event is about, if any.")
    other: AgentId | None = Field(None, description="A second agent involved, if any.")

    @model_validator(mode="after")
    def _scalar_extras(self) -> Self:
        for key, value in (self.model_extra or {}).items():
            if value is not None and not isinstance(value, str | int | float | bool):
                raise ValueError(f"extra field {key!r} must be a string, number, boolean or null")
        return self


class NarrationItem(BaseModel):
    """One narrated line."""

    model_config = _STRICT

    category: str = Field(description="first_clash, argument, left_town, new_arrival, ...")
    text: str
    agents: list[AgentId] = Field(description="Agents the line is about (click to focus).")


class WorldSnapshot(_Envelope):
    """The whole world at one tick: the first message of a stream, and after any resync."""

    model_config = ConfigDict(title="world_snapshot")

    payload_type: Literal["world_snapshot"]
    config_id: str
    ticks_per_day: int = Field(ge=1, description="Ticks in one sim day (1000 by default).")
    day: int = Field(ge=0)
    minute_of_day: int = Field(ge=0, le=1439)
    agents: dict[AgentId, Agent]
    objects: dict[str, WorldObject]
    economy: Economy
    weather: Literal["sunny", "rainy", "cold"]
    utilities: Utilities
    relationships: dict[AgentId, list[Tie]] = Field(description="Each agent's top ties.")
    events: list[WorldEvent] = Field(description="This tick's events only.")
    narration: list[NarrationItem] = Field(description="This tick's narration only.")
    kpis: dict[str, float]


# -- world diff ----------------------------------------------------------------


class Changes(BaseModel):
    """What changed in one object; nested objects change through ``patch``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    set: dict[str, Any] = Field(
        default_factory=dict, description="Added keys and replaced values (left out if none)."
    )
    del_: list[str] = Field(
        default_factory=list, alias="del", description="Removed keys (left out if none)."
    )
    patch: dict[str, Changes] = Field(
        default_factory=dict, description="Objects changed in part (left out if none)."
    )


class WorldDiff(_Envelope):
    """Changes from the previous world message (the world at ``base_tick``) to ``tick``."""

    model_config = ConfigDict(title="world_diff")

    payload_type: Literal["world_diff"]
    base_tick: int = Field(ge=0, description="Tick of the world this diff applies to.")
    changes: Changes


# -- other payloads ------------------------------------------------------------


class Metric(_Envelope):
    """A flat set of numbers, e.g. KPIs at the end of a sim day."""

    model_config = ConfigDict(title="metric")

    payload_type: Literal["metric"]
    scope: str = Field(description="What the numbers cover: tick, day, episode, ...")
    metrics: dict[str, float]


class Narration(_Envelope):
    """Narration published outside a world payload."""

    model_config = ConfigDict(title="narration")

    payload_type: Literal["narration"]
    items: list[NarrationItem]


class TrainingEpoch(_Envelope):
    """One training-log record (see ``townlet.telemetry.training_log``)."""

    model_config = ConfigDict(title="training_epoch")

    payload_type: Literal["training_epoch"]
    record: TrainingRecord


class SinkHealthModel(BaseModel):
    """Delivery counters and transport state of one sink."""

    model_config = ConfigDict(extra="forbid", title="SinkHealth")

    name: str
    state: Literal["starting", "running", "failed", "stopped"]
    connected: bool
    emitted: int = Field(ge=0)
    delivered: int = Field(ge=0)
    dropped_messages: int = Field(ge=0)
    errors: int = Field(ge=0)
    queue_depth: int = Field(ge=0)
    queue_bytes: int = Field(ge=0)
    in_flight: int = Field(ge=0)
    last_success_tick: int | None
    last_failure_tick: int | None
    last_error: str | None
    detail: dict[str, Any]


class Health(_Envelope):
    """Health of every sink of the producing hub."""

    model_config = ConfigDict(title="health")

    payload_type: Literal["health"]
    dropped_messages: int = Field(ge=0, description="Sum over sinks.")
    sinks: list[SinkHealthModel]


class StabilityKpis(BaseModel):
    """The KPIs of one stability window (see ``townlet.core.stability``)."""

    model_config = _STRICT

    self_sufficiency: float = Field(
        ge=0, le=1, description="Share of agent-ticks with every need above the threshold."
    )
    job_tenure: float = Field(ge=0, description="Mean sim days in town of the current citizens.")
    relationship_formation: float = Field(
        ge=0, le=1, description="Share of citizens with a tie of magnitude above 0.3."
    )
    conflict_escalation: float = Field(ge=0, description="Arguments per conflict in the window.")
    lateness: float = Field(ge=0, le=1, description="Late arrivals per shift started.")
    starvation_incidents: float = Field(
        ge=0, description="Citizens whose hunger fell past the near-death line."
    )
    option_switch_rate: float = Field(ge=0, description="Option switches per citizen per day.")
    throughput: float = Field(ge=0, description="Ticks per wall-clock second.")


class CanaryVerdict(BaseModel):
    """One canary's verdict on a window."""

    model_config = _STRICT

    name: Literal["starvation", "lateness", "option_switch_rate"]
    fired: bool
    value: float = Field(description="The measured value the canary looked at.")
    threshold: float = Field(description="The value it fires above.")
    message: str = Field(description="One line for logs and the run summary.")


class Stability(_Envelope):
    """One closed stability window: its KPIs, the baseline and the canaries."""

    model_config = ConfigDict(title="stability")

    payload_type: Literal["stability"]
    window: int = Field(ge=1, description="1-based index of the window in the run.")
    window_ticks: int = Field(ge=1, description="Ticks the window covered.")
    kpis: StabilityKpis
    baseline: StabilityKpis | None = Field(
        description="The KPIs the canaries compared with; null before there is one."
    )
    canaries: list[CanaryVerdict] = Field(
        description="Canaries that could judge this window (those needing a baseline "
        "are left out without one)."
    )


PAYLOAD_MODELS: Final[dict[str, type[BaseModel]]] = {
    "world_snapshot": WorldSnapshot,
    "world_diff": WorldDiff,
    "metric": Metric,
    "narration": Narration,
    "training_epoch": TrainingEpoch,
    "health": Health,
    "stability": Stability,
}
"""Model of each ``payload_type``."""

SINK_HEALTH_FIELDS: Final = tuple(SinkHealth.__dataclass_fields__)
"""Field names of the core's SinkHealth (a test keeps the model in step)."""
