"""A synthetic world stream in the real town's vocabulary.

For sink tests and benchmarks: realistic snapshots that follow the world
payload contract (agents walking, needs decaying, queues forming, arrivals and
exits, conflicts and narration) without running the simulation. Deterministic
for a given seed.

    town = SyntheticTown(n_agents=8, seed=1)
    for _ in range(1000):
        hub.publish_world(town.tick, town.step())

Every name in the stream is one the simulation emits (see :func:`vocabulary`):
option names, affordance ids, objects with their ids, places and positions,
workplaces, shift states, event kinds and narration templates all come from
the world modules and the default town, never from a list of their own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from townlet.core.config.loader import load_config
from townlet.core.world.affordances import ITEMS, NEEDS, load_affordances
from townlet.core.world.narration import TEMPLATES
from townlet.core.world.options import OPTIONS
from townlet.core.world.social import CONFLICT_KINDS
from townlet.core.world.state import ShiftState
from townlet.core.world.townmap import load_town
from townlet.core.world.weather import UTILITIES, WEATHERS

__all__ = ["SyntheticObject", "SyntheticTown", "Vocabulary", "vocabulary"]

_NAMES: Final = (
    "Ada", "Bo", "Cyd", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kit", "Lu",
    "Mo", "Ned", "Ola", "Pip",
)  # fmt: skip
_WORK: Final = "work"
"""The ``affordance`` of an agent at its workplace (as the world reports it)."""
_EXIT_REASON: Final = "eviction"
"""One of the lifecycle's exit causes."""


@dataclass(frozen=True)
class SyntheticObject:
    """One object of the default town as the world snapshot reports it."""

    id: str
    type: str
    place: str
    x: int
    y: int


@dataclass(frozen=True)
class Vocabulary:
    """The names a world snapshot of the default town uses."""

    options: tuple[str, ...]
    affordances: tuple[str, ...]
    """Affordance ids, then the one for being at work."""
    objects: tuple[SyntheticObject, ...]
    """The first object of each type, in town order."""
    tills: tuple[str, ...]
    """Ids of the objects that sell (the economy's stock is keyed by them)."""
    workplaces: tuple[str, ...]
    shift_states: tuple[str, ...]
    needs: tuple[str, ...]
    items: tuple[str, ...]
    utilities: tuple[str, ...]
    weathers: tuple[str, ...]
    conflict_types: tuple[str, ...]
    width: int
    height: int


@functools.cache
def vocabulary() -> Vocabulary:
    """The default town's vocabulary (read once from its config, town and affordances)."""
    world = load_config().config.world
    town = load_town(world.town)
    firsts: dict[str, SyntheticObject] = {}
    for o, (oid, kind, place) in enumerate(
        zip(town.object_ids, town.object_types, town.object_places, strict=True)
    ):
        x, y = (int(v) for v in town.object_xy[o])
        firsts.setdefault(kind, SyntheticObject(oid, kind, place, x, y))
    height, width = town.shape
    return Vocabulary(
        options=tuple(OPTIONS),
        affordances=(*load_affordances(world.affordances).ids, _WORK),
        objects=tuple(firsts.values()),
        tills=tuple(town.object_ids[o] for o in town.objects_of_type("till")),
        workplaces=tuple(dict.fromkeys(job.place for job in world.jobs.jobs)),
        shift_states=tuple(ShiftState.NAMES),
        needs=tuple(NEEDS),
        items=tuple(ITEMS),
        utilities=tuple(UTILITIES),
        weathers=tuple(WEATHERS),
        conflict_types=tuple(CONFLICT_KINDS),
        width=width,
        height=height,
    )


class SyntheticTown:
    """Generates one world snapshot dict per :meth:`step`, a new dict each time.

    ``n_agents`` is the number of slots: each tick an agent leaves with
    probability ``churn``, and a newcomer fills a free slot with the same
    probability.
    """

    def __init__(
        self,
        n_agents: int = 8,
        seed: int = 0,
        *,
        ticks_per_day: int = 1000,
        churn: float = 0.002,
        config_id: str = "synthetic",
    ) -> None:
        self.vocabulary = vocab = vocabulary()
        self._rng = np.random.default_rng(seed)
        self.tick = 0
        self.ticks_per_day = ticks_per_day
        self._churn = churn
        self._slots = n_agents
        self._config_id = config_id
        self._serial = 0
        self._serials: dict[str, int] = {}
        self._agents: dict[str, dict[str, Any]] = {}
        self._clashed: set[tuple[str, str]] = set()
        self._narration: list[dict[str, Any]] = []
        for _ in range(n_agents):
            self._spawn()
        self._narration.clear()  # the first citizens are there from the start
        self._objects: dict[str, dict[str, Any]] = {
            obj.id: {
                "type": obj.type,
                "x": obj.x,
                "y": obj.y,
                "place": obj.place,
                "occupant": None,
                "queue": [],
                "available": True,
            }
            for obj in vocab.objects
        }
        self._prices = dict(zip(vocab.items, (0.6, 1.0, 0.4), strict=True))
        self._stock = {till: dict.fromkeys(vocab.items, 10) for till in vocab.tills}
        self._weather = vocab.weathers[0]
        self._utilities = dict.fromkeys(vocab.utilities, True)

    def _spawn(self) -> None:
        serial = self._serial
        self._serial += 1
        agent_id = f"agent_{serial:03d}"
        vocab = self.vocabulary
        rng = self._rng
        name = f"{_NAMES[serial % len(_NAMES)]}{serial // len(_NAMES) or ''}"
        self._serials[agent_id] = serial
        self._agents[agent_id] = {
            "name": name,
            "x": int(rng.integers(0, vocab.width)),
            "y": int(rng.integers(0, vocab.height)),
            "option": vocab.options[0],
            "affordance": None,
            "needs": dict.fromkeys(vocab.needs, 1.0),
            "wallet": 3.0,
            "inventory": dict(zip(vocab.items, (1, 0, 1), strict=True)),
            "job": {
                "workplace": vocab.workplaces[serial % len(vocab.workplaces)],
                "state": vocab.shift_states[0],
                "attendance": 1.0,
            },
            "last_event": None,
        }
        self._narrate("new_arrival", agent_id)

    def _narrate(self, category: str, *ids: str, **fields: str) -> None:
        names = [self._agents[i]["name"] for i in ids]
        text = TEMPLATES[category].format(**dict(zip("ab", names, strict=False)), **fields)
        self._narration.append({"category": category, "text": text, "agents": list(ids)})

    def step(self) -> dict[str, Any]:
        """Advance one tick and return that tick's snapshot."""
        rng = self._rng
        vocab = self.vocabulary
        self.tick += 1
        events: list[dict[str, Any]] = []
        narration: list[dict[str, Any]] = []
        self._narration = narration
        for agent in self._agents.values():
            agent["last_event"] = None
        if rng.random() < self._churn and len(self._agents) > 1:
            gone = str(rng.choice(sorted(self._agents)))
            self._narrate("left_town", gone, reason=_EXIT_REASON)
            del self._agents[gone], self._serials[gone]
            events.append({"kind": "exit", "agent": gone, "reason": _EXIT_REASON})
        if rng.random() < self._churn and len(self._agents) < self._slots:
            self._spawn()  # a newcomer takes a free slot, as in the town
        ids = sorted(self._agents)
        moves = rng.integers(-1, 2, size=(len(ids), 2))
        decay = rng.random((len(ids), len(vocab.needs))) * 0.01
        for i, agent_id in enumerate(ids):
            agent = self._agents[agent_id]
            agent["x"] = int(min(vocab.width - 1, max(0, agent["x"] + moves[i, 0])))
            agent["y"] = int(min(vocab.height - 1, max(0, agent["y"] + moves[i, 1])))
            needs = agent["needs"]
            for j, need in enumerate(vocab.needs):
                value = needs[need] - float(decay[i, j])
                needs[need] = round(1.0 if value < 0.2 else value, 4)
            if rng.random() < 0.05:
                agent["option"] = vocab.options[int(rng.integers(len(vocab.options)))]
                pick = int(rng.integers(len(vocab.affordances) + 1))  # the last: none
                agent["affordance"] = (
                    vocab.affordances[pick] if pick < len(vocab.affordances) else None
                )
                agent["job"]["state"] = vocab.shift_states[
                    int(rng.integers(len(vocab.shift_states)))
                ]
                agent["wallet"] = round(agent["wallet"] + float(rng.normal(0.0, 0.2)), 2)
        for obj in self._objects.values():
            if rng.random() < 0.03 and ids:
                queue = obj["queue"]
                if len(queue) < 3 and rng.random() < 0.6:
                    queue.append(str(rng.choice(ids)))
                elif queue:
                    obj["occupant"] = queue.pop(0)
        if len(ids) >= 2 and rng.random() < 0.05:
            events.append(self._conflict(ids))
        if rng.random() < 0.001:
            self._weather = vocab.weathers[int(rng.integers(len(vocab.weathers)))]
        if rng.random() < 0.002:
            item = vocab.items[int(rng.integers(len(vocab.items)))]
            self._prices[item] = round(self._prices[item] * float(rng.uniform(0.9, 1.1)), 3)
        minute = (self.tick % self.ticks_per_day) * 1440 // self.ticks_per_day
        return {
            "tick": self.tick,
            "config_id": self._config_id,
            "ticks_per_day": self.ticks_per_day,
            "day": self.tick // self.ticks_per_day,
            "minute_of_day": minute,
            "agents": {
                k: {
                    **a,
                    "needs": dict(a["needs"]),
                    "inventory": dict(a["inventory"]),
                    "job": dict(a["job"]),
                }
                for k, a in self._agents.items()
            },
            "objects": {k: {**o, "queue": list(o["queue"])} for k, o in self._objects.items()},
            "economy": {
                "prices": dict(self._prices),
                "stock": {k: dict(v) for k, v in self._stock.items()},
            },
            "weather": self._weather,
            "utilities": dict(self._utilities),
            "relationships": self._ties(ids),
            "events": events,
            "narration": narration,
            "kpis": {
                "self_sufficiency": round(
                    sum(all(v > 0.3 for v in a["needs"].values()) for a in self._agents.values())
                    / max(1, len(self._agents)),
                    4,
                ),
                "population": float(len(self._agents)),
            },
        }

    def _conflict(self, ids: list[str]) -> dict[str, Any]:
        """A conflict between two agents at an object; narrated the first time per pair."""
        rng = self._rng
        vocab = self.vocabulary
        a, b = (str(v) for v in rng.choice(ids, size=2, replace=False))
        obj = vocab.objects[int(rng.integers(len(vocab.objects)))]
        kind = vocab.conflict_types[int(rng.integers(len(vocab.conflict_types)))]
        self._agents[a]["last_event"] = "conflict"
        pair = (min(a, b), max(a, b))
        if pair not in self._clashed:
            self._clashed.add(pair)
            self._narrate("first_clash", a, b, where=obj.type)
        return {
            "kind": "conflict",
            "agent": a,
            "type": kind,
            "other": b,
            "intensity": round(float(rng.random()), 3),
            "object": obj.id,
        }

    def _ties(self, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Each agent's next two neighbours as ties, with values fixed per pair."""
        ties: dict[str, list[dict[str, Any]]] = {}
        for i, agent_id in enumerate(ids):
            mine = []
            for other in ids[i + 1 : i + 3]:
                seed = (self._serials[agent_id] * 7919 + self._serials[other]) % 1000 / 1000
                mine.append(
                    {
                        "other": other,
                        "trust": round(seed - 0.5, 3),
                        "familiarity": round(seed, 3),
                        "rivalry": round(0.5 - seed, 3),
                    }
                )
            ties[agent_id] = mine
        return ties
