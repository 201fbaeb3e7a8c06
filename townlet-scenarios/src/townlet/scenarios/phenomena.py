"""Scenarios that each show one mechanism (configs in ``configs/``).

``ticks`` is the length of a run that shows the whole story; the golden
baselines in ``baselines/`` may check a shorter run.
"""

from __future__ import annotations

from townlet.scenarios._base import PackScenario

__all__ = [
    "Blackout",
    "DemoStoryArc",
    "EmploymentPunctuality",
    "Eviction",
    "ExitStorm",
    "KitchenBreakfast",
    "ObservationBaseline",
    "PriceShock",
    "QueueConflict",
    "RivalryDecay",
    "Starvation",
]


class QueueConflict(PackScenario):
    name = "queue_conflict"
    config_file = "queue_conflict.yaml"
    description = "Three citizens, one shower: all three need a wash at once and queue."
    exercises = "queues, reservations, blocking conflicts"
    ticks = 600


class EmploymentPunctuality(PackScenario):
    name = "employment_punctuality"
    config_file = "employment_punctuality.yaml"
    description = "A punctual and a habitually late office worker over three shifts."
    exercises = "jobs, shift states, lateness, punctuality bonus"
    ticks = 3000


class RivalryDecay(PackScenario):
    name = "rivalry_decay"
    config_file = "rivalry_decay.yaml"
    description = "Two citizens fall out, then live apart while the rivalry decays."
    exercises = "relationship ledger, hourly decay"
    ticks = 800


class KitchenBreakfast(PackScenario):
    name = "kitchen_breakfast"
    config_file = "kitchen_breakfast.yaml"
    description = "Housemates all hungry at 07:00 share their kitchen at breakfast."
    exercises = "stove and table queues, shared meals"
    ticks = 400


class ObservationBaseline(PackScenario):
    name = "observation_baseline"
    config_file = "observation_baseline.yaml"
    description = "The idle control: the default town with nothing scripted or random."
    exercises = "needs, schedule, economy (reference run)"
    ticks = 1000


class Starvation(PackScenario):
    name = "starvation"
    config_file = "starvation.yaml"
    description = "Empty shops and wallets: famished citizens collapse and are replaced."
    exercises = "lifecycle: collapse exits, replacement arrivals"
    ticks = 600


class Eviction(PackScenario):
    name = "eviction"
    config_file = "eviction.yaml"
    description = "Rent far above wages: unpaid midnights, notice, eviction."
    exercises = "lifecycle: rent arrears, eviction exits"
    ticks = 3200


class ExitStorm(PackScenario):
    name = "exit_storm"
    config_file = "exit_storm.yaml"
    description = "The whole town starving at once; the exit cap holds the line."
    exercises = "lifecycle: exit cap and cooldown"
    ticks = 1000


class Blackout(PackScenario):
    name = "blackout"
    config_file = "blackout.yaml"
    description = "A city-wide power cut from tick 300 to tick 420."
    exercises = "utilities, affordance failures, outage grace"
    ticks = 600


class PriceShock(PackScenario):
    name = "price_shock"
    config_file = "price_shock.yaml"
    description = "Meals triple and groceries double from tick 200 to tick 700."
    exercises = "economy: prices, spending"
    ticks = 1000


class DemoStoryArc(PackScenario):
    name = "demo_story_arc"
    config_file = "demo_story_arc.yaml"
    description = "A watchable day: rivals sent to meet, chats, rain, narration."
    exercises = "relationships, chats, shared meals, arranged meets, narration"
    ticks = 1000
