"""The curriculum stages of SPEC §14 as scenarios (configs in ``configs/curriculum/``).

M0 home only → M1 shop with stipend → M2 job → M2.5 queue friction → M3
relationships in observations → C1 chat reward → C2 conflict avoidance →
M4 perturbations (after BC, the anneal and C3) → M5 the full town. Every stage
uses the default town and the same encoder, so one observation spec and one
option set serve them all and a policy carries over. City-wide events are
locked out in M0-M2 (``features.curriculum``).
"""

from __future__ import annotations

from typing import Final

from townlet.scenarios._base import PackScenario

__all__ = [
    "STAGES",
    "C1Chat",
    "C2Avoid",
    "M0Home",
    "M1Shop",
    "M2Job",
    "M2_5Conflict",
    "M3Relationships",
    "M4Perturbations",
    "M5Full",
]


class _Stage(PackScenario):
    ticks = 1000

    def __init_subclass__(cls) -> None:
        cls.config_file = f"curriculum/{cls.name}.yaml"


class M0Home(_Stage):
    name = "m0_home"
    description = "Curriculum M0: home only (no jobs, no money, no rent)."
    exercises = "needs at home: sleep, wash, cook"


class M1Shop(_Stage):
    name = "m1_shop"
    description = "Curriculum M1: shops, with a stipend instead of wages."
    exercises = "shopping, money"


class M2Job(_Stage):
    name = "m2_job"
    description = "Curriculum M2: jobs, wages only at work, punctuality, rent."
    exercises = "jobs, punctuality, rent"


class M2_5Conflict(_Stage):
    name = "m2_5_conflict"
    description = "Curriculum M2.5: queue friction, conflicts written to the ledger."
    exercises = "queues, conflicts, relationship ledger (stage A)"


class M3Relationships(_Stage):
    name = "m3_relationships"
    description = "Curriculum M3: relationships in observations (stage B)."
    exercises = "relationship observations"


class C1Chat(_Stage):
    name = "c1_chat"
    description = "Curriculum C1: socialising open, good chats rewarded."
    exercises = "chats, chat reward (stage C, C1)"


class C2Avoid(_Stage):
    name = "c2_avoid"
    description = "Curriculum C2: C1 plus a reward for avoiding rivals."
    exercises = "conflict avoidance reward (C2)"


class M4Perturbations(_Stage):
    name = "m4_perturbations"
    description = "Curriculum M4: random city-wide perturbations, C3 social reward."
    exercises = "perturbations, narration, relationship quality reward (C3)"


class M5Full(_Stage):
    name = "m5_full"
    description = "Curriculum M5: the full town, lifecycle on."
    exercises = "everything: lifecycle, perturbations, social rewards"


STAGES: Final = (
    M0Home,
    M1Shop,
    M2Job,
    M2_5Conflict,
    M3Relationships,
    C1Chat,
    C2Avoid,
    M4Perturbations,
    M5Full,
)
"""The stages in curriculum order."""
