"""A synthetic world stream that follows the world payload contract.

For sink authors, benchmarks and tests: realistic snapshots (agents walking,
needs decaying, queues forming, spawns and exits, events and narration)
without running the simulation. Deterministic for a given seed.

    town = SyntheticTown(n_agents=8, seed=1)
    for _ in range(1000):
        hub.publish_world(town.tick, town.step())
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["SyntheticTown"]

_NAMES = (
    "Ada", "Bo", "Cyd", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kit", "Lu",
    "Mo", "Ned", "Ola", "Pip",
)  # fmt: skip
_OPTIONS = ("GetFed", "GetClean", "GoToWork", "ShopGroceries", "Sleep", "Socialise", "Wait")
_OBJECTS = (
    ("shower_1", "shower", "gym"),
    ("fridge_1", "fridge", "home_1"),
    ("stove_1", "stove", "home_1"),
    ("bed_1", "bed", "home_1"),
    ("till_1", "till", "grocer"),
    ("desk_1", "desk", "office"),
)
_ITEMS = ("raw_food", "meal", "clean_clothes")
_WEATHER = ("sunny", "rainy", "cold")


class SyntheticTown:
    """Generates one world snapshot dict per :meth:`step`, a new dict each time."""

    def __init__(
        self,
        n_agents: int = 8,
        seed: int = 0,
        *,
        ticks_per_day: int = 1000,
        churn: float = 0.002,
        config_id: str = "synthetic",
    ) -> None:
        self._rng = np.random.default_rng(seed)
        self.tick = 0
        self.ticks_per_day = ticks_per_day
        self._churn = churn
        self._config_id = config_id
        self._next_id = 0
        self._agents: dict[str, dict[str, Any]] = {}
        for _ in range(n_agents):
            self._spawn()
        self._objects: dict[str, dict[str, Any]] = {
            oid: {
                "type": kind,
                "x": int(self._rng.integers(0, 48)),
                "y": int(self._rng.integers(0, 48)),
                "place": place,
                "occupant": None,
                "queue": [],
                "available": True,
            }
            for oid, kind, place in _OBJECTS
        }
        self._prices = {"raw_food": 0.6, "meal": 1.0, "clean_clothes": 0.4}
        self._stock = {"till_1": {"raw_food": 20, "meal": 10, "clean_clothes": 5}}
        self._weather = "sunny"
        self._utilities = {"power": True, "water": True}

    def _spawn(self) -> None:
        agent_id = f"a{self._next_id}"
        self._next_id += 1
        rng = self._rng
        self._agents[agent_id] = {
            "name": f"{_NAMES[self._next_id % len(_NAMES)]}{self._next_id // len(_NAMES) or ''}",
            "x": int(rng.integers(0, 48)),
            "y": int(rng.integers(0, 48)),
            "option": "Wait",
            "affordance": None,
            "needs": {"hunger": 1.0, "hygiene": 1.0, "energy": 1.0},
            "wallet": 3.0,
            "inventory": {"raw_food": 1, "meal": 0, "clean_clothes": 1},
            "job": {"workplace": "desk_1", "state": "off", "attendance": 1.0},
            "last_event": None,
        }

    def step(self) -> dict[str, Any]:
        """Advance one tick and return that tick's snapshot."""
        rng = self._rng
        self.tick += 1
        events: list[dict[str, Any]] = []
        narration: list[dict[str, Any]] = []
        if rng.random() < self._churn and len(self._agents) > 1:
            gone = str(rng.choice(sorted(self._agents)))
            del self._agents[gone]
            events.append({"kind": "agent_exit", "agent": gone, "other": None, "reason": "evicted"})
        if rng.random() < self._churn:
            self._spawn()
        ids = sorted(self._agents)
        moves = rng.integers(-1, 2, size=(len(ids), 2))
        decay = rng.random((len(ids), 3)) * 0.01
        for i, agent_id in enumerate(ids):
            agent = self._agents[agent_id]
            agent["x"] = int(min(47, max(0, agent["x"] + moves[i, 0])))
            agent["y"] = int(min(47, max(0, agent["y"] + moves[i, 1])))
            needs = agent["needs"]
            for j, need in enumerate(("hunger", "hygiene", "energy")):
                value = needs[need] - float(decay[i, j])
                needs[need] = round(1.0 if value < 0.2 else value, 4)
            if rng.random() < 0.05:
                agent["option"] = str(rng.choice(_OPTIONS))
                agent["wallet"] = round(agent["wallet"] + float(rng.normal(0.0, 0.2)), 2)
        for obj in self._objects.values():
            if rng.random() < 0.03 and ids:
                queue = obj["queue"]
                if len(queue) < 3 and rng.random() < 0.6:
                    queue.append(str(rng.choice(ids)))
                elif queue:
                    obj["occupant"] = queue.pop(0)
        if len(ids) >= 2 and rng.random() < 0.05:
            a, b = (str(v) for v in rng.choice(ids, size=2, replace=False))
            intensity = round(float(rng.random()), 3)
            events.append(
                {"kind": "queue_conflict", "agent": a, "other": b, "intensity": intensity}
            )
            self._agents[a]["last_event"] = f"blocked by {self._agents[b]['name']}"
            narration.append(
                {
                    "category": "conflict",
                    "text": f"{self._agents[a]['name']} is blocked by {self._agents[b]['name']}",
                    "agents": [a, b],
                }
            )
        if rng.random() < 0.001:
            self._weather = str(rng.choice(_WEATHER))
        if rng.random() < 0.002:
            item = str(rng.choice(_ITEMS))
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
                "agents": float(len(self._agents)),
            },
        }

    def _ties(self, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Each agent's next two neighbours as ties, with values fixed per pair."""
        ties: dict[str, list[dict[str, Any]]] = {}
        for i, agent_id in enumerate(ids):
            mine = []
            for other in ids[i + 1 : i + 3]:
                seed = (int(agent_id[1:]) * 7919 + int(other[1:])) % 1000 / 1000
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
