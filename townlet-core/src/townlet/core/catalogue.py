"""First-party plugin names and the distribution that ships each.

Lets an error about a missing or misspelled name say which package to
install even when that package is not installed. A meta-test checks that
every first-party entry point appears here.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FIRST_PARTY"]

FIRST_PARTY: Final[dict[str, dict[str, str]]] = {
    "observation_encoders": {},
    "reward_stages": {},
    "training_strategies": {
        "ppo": "townlet-strategies",
        "bc": "townlet-strategies",
        "anneal": "townlet-strategies",
    },
    "telemetry_sinks": {
        "jsonl": "townlet-telemetry",
        "tcp": "townlet-telemetry",
        "websocket": "townlet-telemetry",
    },
    "policies": {"scripted": "townlet-core"},
    "scenarios": {},
}
