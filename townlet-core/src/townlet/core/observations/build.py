"""Building the encoder a config selects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from townlet.core.config.models import TownletConfig
from townlet.core.observations.encoders import DEFAULT_ENCODER
from townlet.core.ports import ObservationEncoder
from townlet.core.registry import Registry

__all__ = ["build_encoder"]


def build_encoder(
    config: TownletConfig,
    registry: Registry | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> ObservationEncoder:
    """Build ``observations.encoder`` (``hybrid`` when unset) through the registry.

    ``defaults`` are params applied under the config's own (e.g. the env's
    horizon), and only when the encoder's ``Params`` model has that field.
    """
    registry = registry or Registry()
    name = config.observations.encoder or DEFAULT_ENCODER
    params: dict[str, Any] = {}
    if defaults:
        fields = registry.params_model("observation_encoders", name).model_fields
        params.update({k: v for k, v in defaults.items() if k in fields})
    params.update(config.observations.params)
    encoder: ObservationEncoder = registry.build("observation_encoders", name, params)
    return encoder
