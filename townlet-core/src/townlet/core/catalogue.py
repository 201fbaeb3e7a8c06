"""First-party plugin names and the distribution that ships each.

Lets an error about a missing or misspelled name say which package to
install even when that package is not installed. A meta-test checks that
every first-party entry point appears here.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FIRST_PARTY"]

FIRST_PARTY: Final[dict[str, dict[str, str]]] = {
    "observation_encoders": {
        "full": "townlet-core",
        "hybrid": "townlet-core",
        "compact": "townlet-core",
    },
    "reward_stages": {
        "homeostasis": "townlet-core",
        "shaping": "townlet-core",
        "work": "townlet-core",
        "survival": "townlet-core",
        "terminal": "townlet-core",
        "social_chat": "townlet-core",
        "social_avoidance": "townlet-core",
        "social_quality": "townlet-core",
        "social_floor": "townlet-core",
        "death_guard": "townlet-core",
        "clip": "townlet-core",
        "curiosity": "townlet-core",
    },
    "training_strategies": {
        "ppo": "townlet-strategies",
        "bc": "townlet-strategies",
        "anneal": "townlet-strategies",
    },
    "telemetry_sinks": {
        "jsonl": "townlet-telemetry",
        "tcp": "townlet-telemetry",
        "websocket": "townlet-telemetry",
        "tensorboard": "townlet-telemetry",
        "stdout": "townlet-core",
        "null": "townlet-core",
    },
    "policies": {"scripted": "townlet-core", "random": "townlet-core"},
    "scenarios": {
        "queue_conflict": "townlet-scenarios",
        "employment_punctuality": "townlet-scenarios",
        "rivalry_decay": "townlet-scenarios",
        "kitchen_breakfast": "townlet-scenarios",
        "observation_baseline": "townlet-scenarios",
        "starvation": "townlet-scenarios",
        "eviction": "townlet-scenarios",
        "exit_storm": "townlet-scenarios",
        "blackout": "townlet-scenarios",
        "price_shock": "townlet-scenarios",
        "demo_story_arc": "townlet-scenarios",
        "m0_home": "townlet-scenarios",
        "m1_shop": "townlet-scenarios",
        "m2_job": "townlet-scenarios",
        "m2_5_conflict": "townlet-scenarios",
        "m3_relationships": "townlet-scenarios",
        "c1_chat": "townlet-scenarios",
        "c2_avoid": "townlet-scenarios",
        "m4_perturbations": "townlet-scenarios",
        "m5_full": "townlet-scenarios",
    },
}
