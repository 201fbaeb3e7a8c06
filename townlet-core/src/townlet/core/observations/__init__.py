"""Observation encoders (``full``, ``hybrid``, ``compact``) and their specs.

The package namespace holds only the spec types, which the plugin contract
(:mod:`townlet.core.ports`) names, so importing them loads no encoder and no
simulation. The built-in encoders are in :mod:`.encoders`; :mod:`.build`
builds the one a config selects.

See docs/observations.md for every feature; it is generated from the specs
with ``python -m tools.observation_docs docs/observations.md`` (repository root).
"""

from townlet.core.observations.spec import Component, Feature, ObservationSpec

__all__ = ["Component", "Feature", "ObservationSpec"]
