"""Observation encoders (``full``, ``hybrid``, ``compact``) and their specs.

See docs/observations.md for every feature; it is generated from the specs
with ``python -m townlet.core.observations.docs docs/observations.md``.
"""

from townlet.core.observations.build import build_encoder
from townlet.core.observations.encoders import (
    DEFAULT_ENCODER,
    SPEC_VERSION,
    CompactEncoder,
    CompactParams,
    FullEncoder,
    FullParams,
    HybridEncoder,
    HybridParams,
)
from townlet.core.observations.spec import Component, Feature, ObservationSpec

__all__ = [
    "DEFAULT_ENCODER",
    "SPEC_VERSION",
    "CompactEncoder",
    "CompactParams",
    "Component",
    "Feature",
    "FullEncoder",
    "FullParams",
    "HybridEncoder",
    "HybridParams",
    "ObservationSpec",
    "build_encoder",
]
