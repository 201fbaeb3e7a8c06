"""The curriculum stages of SPEC §14 as scenarios (configs in ``configs/curriculum/``).

M0 home only → M1 shop with stipend → M2 job → M2.5 queue friction → M3
relationships in observations → C1 chat reward → C2 conflict avoidance →
M4 perturbations (after BC, the anneal and C3) → M5 the full town. Every stage
uses the default town and the same encoder, so one observation spec and one
option set serve them all and a policy carries over. City-wide events are
locked out in M0-M2 (``features.curriculum``).

:data:`DEFAULT` walks them in order (``townlet train --curriculum default``,
registered under the ``townlet.curricula`` entry-point group): each stage
names its scenario, the KPI band that passes it (evaluated after every
window of training on one-day episodes) and its budget in windows.
"""

from __future__ import annotations

from typing import Final

from townlet.core.training.curriculum import Curriculum, CurriculumStage, KpiBand
from townlet.scenarios._base import PackScenario

__all__ = [
    "DEFAULT",
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


def _stage(
    scenario: type[_Stage], budget: int, **bands: tuple[float | None, float | None]
) -> CurriculumStage:
    return CurriculumStage(
        name=scenario.name,
        config=f"scenario:{scenario.name}",
        bands={kpi: KpiBand(min=low, max=high) for kpi, (low, high) in bands.items()},
        budget=budget,
    )


_FED = (0.9, None)  # self_sufficiency: needs kept up nearly all day
_AT_WORK = {"attendance": (0.85, None), "lateness": (None, 0.2)}

DEFAULT: Final = Curriculum(
    name="default",
    description="SPEC §14: home, shop, job, queue friction, relationships, chat, avoidance, "
    "perturbations, the full town.",
    window_epochs=10,
    stages=(
        _stage(M0Home, 10, self_sufficiency=_FED),
        _stage(M1Shop, 10, self_sufficiency=_FED),
        _stage(M2Job, 15, self_sufficiency=_FED, **_AT_WORK),
        _stage(M2_5Conflict, 15, self_sufficiency=_FED, **_AT_WORK),
        _stage(M3Relationships, 10, self_sufficiency=_FED, **_AT_WORK),
        _stage(C1Chat, 15, self_sufficiency=_FED, chats=(1.0, None), **_AT_WORK),
        _stage(C2Avoid, 15, self_sufficiency=_FED, chats=(1.0, None), **_AT_WORK),
        _stage(M4Perturbations, 15, self_sufficiency=(0.85, None), **_AT_WORK),
        _stage(M5Full, 20, self_sufficiency=(0.85, None), exits=(None, 1.0), **_AT_WORK),
    ),
)
"""The default curriculum: every stage of :data:`STAGES` in order, with its band and budget."""
