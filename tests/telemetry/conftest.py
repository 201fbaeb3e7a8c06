"""Fixtures for telemetry tests: recording sinks, world strategies, free ports."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import pytest
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from tests.helpers import wait_for
from tools.synthetic_town import vocabulary
from townlet.core.ports import TelemetryEvent
from townlet.core.telemetry._worker import SinkWorker
from townlet.core.telemetry.payloads import encode_event

# -- sinks -----------------------------------------------------------------


class _NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordingSink:
    """Keeps every event and its encoded line; can be told to fail or stall."""

    Params: ClassVar[type[BaseModel]] = _NoParams
    plugin_api_version: ClassVar[str] = "2.0"

    def __init__(self, params: BaseModel | None = None) -> None:
        self.events: list[TelemetryEvent] = []
        self.lines: list[bytes] = []
        self.started = False
        self.stopped = 0
        self.fail_on: Callable[[TelemetryEvent], bool] = lambda e: False
        self.gate = threading.Event()
        self.gate.set()

    def start(self) -> None:
        self.started = True

    def emit(self, event: TelemetryEvent) -> None:
        if not self.gate.wait(60):
            raise TimeoutError("gate stayed closed")
        if self.fail_on(event):
            raise RuntimeError(f"refusing {event.kind} at tick {event.tick}")
        self.events.append(event)
        self.lines.append(encode_event(event))

    def stop(self) -> None:
        self.stopped += 1
        self.gate.set()

    def decoded(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def recording_sink() -> type[RecordingSink]:
    return RecordingSink


# -- every payload a test publishes must match its shipped JSON Schema ---------


@pytest.fixture
def raw_payloads() -> None:
    """Request this in a test that publishes off-contract payloads on purpose."""


@pytest.fixture(autouse=True)
def payload_schema_check(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Validate every payload offered to a sink against its schema.

    All of them go through the models the schemas are generated from (fast),
    and up to 300 per test, spread evenly, through the shipped JSON Schema
    files themselves. Skipped where townlet-telemetry is not installed.
    """
    try:
        from townlet.telemetry.schema import jsonschema_problems, payload_problems
    except ImportError:
        yield
        return
    if "raw_payloads" in request.fixturenames:
        yield
        return
    seen: dict[int, Mapping[str, Any]] = {}
    offer = SinkWorker.offer

    def checked_offer(self: SinkWorker, event: TelemetryEvent, size: int) -> None:
        seen.setdefault(id(event.payload), event.payload)
        offer(self, event, size)

    monkeypatch.setattr(SinkWorker, "offer", checked_offer)
    yield
    payloads = list(seen.values())
    step = max(1, len(payloads) // 300)
    for i, payload in enumerate(payloads):
        kind = str(payload.get("payload_type"))
        problems = payload_problems(payload)
        if i % step == 0:
            problems += jsonschema_problems(kind, payload)
        assert not problems, f"{kind} payload breaks its schema: {problems}"


def training_record(version: str = "1.2", epoch: int = 1, **changes: Any) -> dict[str, Any]:
    """A valid training-log record of ``version``."""
    record: dict[str, Any] = {
        "telemetry_version": version,
        "epoch": epoch,
        "updates": 8,
        "transitions": 2048,
        "loss_policy": -0.012,
        "loss_value": 0.31,
        "loss_entropy": 1.61,
        "loss_total": 0.128,
        "clip_fraction": 0.11,
        "approx_kl": 0.009,
        "explained_variance": 0.42,
        "adv_mean": 0.001,
        "adv_std": 0.98,
        "grad_norm": 0.47,
        "lr": 0.0003,
        "steps_per_sec": 5120.0,
    }
    if version in ("1.1", "1.2"):
        record |= {"queue_conflict_events": 3, "queue_conflict_intensity_sum": 1.25}
    if version == "1.2":
        record |= {"anneal_ratio": 0.8, "anneal_stage": "anneal"}
    return record | changes


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    return training_record


# -- hypothesis strategies ---------------------------------------------------

_VOCAB = vocabulary()  # the names the town uses
_ids = st.sampled_from([f"agent_{i:03d}" for i in range(6)])
_floats = st.floats(allow_nan=False, allow_infinity=False, width=64) | st.sampled_from(
    [0.0, -0.0, 1.0, 0.5]
)
_text = st.text(max_size=12)


def _agent(names: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "name": names,
            "x": st.integers(0, 3),
            "y": st.integers(0, 3),
            "option": st.sampled_from(_VOCAB.options),
            "affordance": st.none() | st.sampled_from(_VOCAB.affordances),
            "needs": st.fixed_dictionaries(
                {"hunger": _floats, "hygiene": _floats, "energy": _floats}
            ),
            "wallet": _floats,
            "inventory": st.fixed_dictionaries(
                {
                    "raw_food": st.integers(0, 2),
                    "meal": st.integers(0, 2),
                    "clean_clothes": st.integers(0, 2),
                }
            ),
            "job": st.fixed_dictionaries(
                {
                    "workplace": st.none() | st.sampled_from(_VOCAB.workplaces),
                    "state": st.sampled_from(_VOCAB.shift_states),
                    "attendance": _floats,
                }
            ),
            "last_event": st.none() | st.sampled_from(["conflict", "chat"]),
        }
    )


def _object() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from([o.type for o in _VOCAB.objects]),
            "x": st.integers(0, 3),
            "y": st.integers(0, 3),
            "place": st.sampled_from([o.place for o in _VOCAB.objects]),
            "occupant": st.none() | _ids,
            "queue": st.lists(_ids, max_size=3),
            "available": st.booleans(),
        }
    )


@st.composite
def world_snapshot(draw: st.DrawFn, tick: int) -> dict[str, Any]:
    """One snapshot following the world payload contract, over small domains."""
    names = st.sampled_from(["Ada", "Bo", "Cyd", "Ada Bo"])
    agents = draw(st.dictionaries(_ids, _agent(names), max_size=4))
    scalar = st.none() | st.booleans() | st.integers(-3, 3) | _floats | _text
    return {
        "tick": tick,
        "config_id": draw(st.sampled_from(["town", "town2"])),
        "ticks_per_day": 1000,
        "day": tick // 1000,
        "minute_of_day": draw(st.integers(0, 1439)),
        "agents": agents,
        "objects": draw(
            st.dictionaries(st.sampled_from([o.id for o in _VOCAB.objects[:3]]), _object())
        ),
        "economy": {
            "prices": draw(st.dictionaries(st.sampled_from(["meal", "raw_food"]), _floats)),
            "stock": draw(
                st.dictionaries(
                    st.sampled_from(_VOCAB.tills),
                    st.dictionaries(st.sampled_from(["meal", "raw_food"]), st.integers(0, 3)),
                )
            ),
        },
        "weather": draw(st.sampled_from(["sunny", "rainy", "cold"])),
        "utilities": {"power": draw(st.booleans()), "water": draw(st.booleans())},
        "relationships": {
            agent_id: draw(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "other": _ids,
                            "trust": _floats,
                            "familiarity": _floats,
                            "rivalry": _floats,
                        }
                    ),
                    max_size=2,
                )
            )
            for agent_id in agents
        },
        "events": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "kind": st.sampled_from(["conflict", "chat"]),
                        "agent": _ids | st.none(),
                    },
                    optional={"other": _ids | st.none(), "intensity": scalar, "note": _text},
                ),
                max_size=2,
            )
        ),
        "narration": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "category": st.sampled_from(["first_clash", "left_town"]),
                        "text": st.sampled_from(["Ada is late", "Bo blocks Cyd", "quiet", ""]),
                        "agents": st.lists(_ids, max_size=2),
                    }
                ),
                max_size=2,
            )
        ),
        "kpis": draw(st.dictionaries(st.sampled_from(["self_sufficiency", "population"]), _floats)),
    }


@st.composite
def world_sequence(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Snapshots at increasing ticks; consecutive ones often share parts."""
    n = draw(st.integers(1, 6))
    tick = draw(st.integers(0, 5))
    out: list[dict[str, Any]] = []
    for _ in range(n):
        tick += draw(st.integers(1, 3))
        snap = draw(world_snapshot(tick))
        if out and draw(st.booleans()):  # keep some parts of the previous tick
            prev = out[-1]
            for key in draw(st.sets(st.sampled_from(["agents", "objects", "economy", "kpis"]))):
                snap[key] = prev[key]
            if "agents" in prev and draw(st.booleans()):
                snap["relationships"] = prev["relationships"]
                snap["agents"] = prev["agents"]
        out.append(snap)
    return out


_json_leaf = st.none() | st.booleans() | st.integers(-5, 5) | _floats | st.sampled_from(["a", "b"])
json_values = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["k", "l", "m", "n"]), inner, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.sampled_from(["k", "l", "m", "n", "o"]), json_values, max_size=5)


@pytest.fixture(scope="session")
def world_sequences() -> st.SearchStrategy[list[dict[str, Any]]]:
    return world_sequence()


@pytest.fixture(scope="session")
def json_object_pairs() -> st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]:
    return st.tuples(json_objects, json_objects)


# -- helpers ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def free_port() -> Callable[[], int]:
    """``free_port()`` gives a loopback port nothing listens on (right now)."""
    return _free_port


@pytest.fixture
def until() -> Callable[..., bool]:
    return wait_for
