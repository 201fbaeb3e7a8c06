"""A minimal third-party observation encoder: needs, money, time and a compass.

It reads the towns only through the published view (:mod:`townlet.core.ports`):
the agent columns over rows, the column constants, and each town's path
fields and map. It encodes one town or a vector env's towns in one call.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from townlet.core.observations.spec import Component, Feature, ObservationSpec
from townlet.core.ports import (
    ENERGY,
    HUNGER,
    HYGIENE,
    MILLS,
    PluginParams,
    RowsView,
    X,
    Y,
)


class CompassParams(PluginParams):
    """Parameters of ``compass``."""

    landmarks: tuple[str, ...] = Field(
        ("fridge", "shower", "till"),
        min_length=1,
        description="Object types to give the path distance to (the nearest of each).",
    )
    scale: float = Field(20.0, gt=0, le=1000, description="Distance d is shown as d/(d+scale).")


class CompassEncoder:
    """Needs, money, time of day and the path distance to the nearest landmarks."""

    Params: ClassVar[type[PluginParams]] = CompassParams
    plugin_api_version: ClassVar[str] = "2.0"

    def __init__(self, params: CompassParams) -> None:
        self.params = params
        features = [
            Feature("hunger", 0, 1, "Hunger (1 = satisfied)."),
            Feature("hygiene", 0, 1, "Hygiene (1 = satisfied)."),
            Feature("energy", 0, 1, "Energy (1 = satisfied)."),
            Feature("money", -1, 1, "tanh(wallet / 10 money)."),
            Feature("time.sin", -1, 1, "sin(2π · time of day)."),
            Feature("time.cos", -1, 1, "cos(2π · time of day)."),
        ]
        features += [
            Feature(f"to.{kind}", 0, 1, f"Path cost d to the nearest {kind}: d/(d+scale).")
            for kind in params.landmarks
        ]
        vector = Component("compass", (len(features),), tuple(features), "The compass vector.")
        self._spec = ObservationSpec("compass", "1.0", (vector,), params.model_dump())

    @property
    def spec(self) -> ObservationSpec:
        """One vector component, ``compass``."""
        return self._spec

    def encode(
        self, rows: RowsView, out: MutableMapping[str, npt.NDArray[Any]] | None = None
    ) -> Mapping[str, npt.NDArray[Any]]:
        """Encode every row of ``rows`` (one town, or several end to end)."""
        arrays = out if out is not None else self.spec.allocate(rows.n_agents)
        vec = arrays["compass"]
        a = rows.agents
        vec[:, 0] = a.needs[:, HUNGER]
        vec[:, 1] = a.needs[:, HYGIENE]
        vec[:, 2] = a.needs[:, ENERGY]
        vec[:, 3] = np.tanh(a.wallet / (10 * MILLS))
        phase = 2 * np.pi * rows.tod / rows.worlds[0].clock.ticks_per_day
        vec[:, 4] = np.sin(phase)
        vec[:, 5] = np.cos(phase)
        x, y = a.xy[:, X], a.xy[:, Y]
        for col, kind in enumerate(self.params.landmarks, start=6):
            objects = rows.town.objects_of_type(kind)
            if objects.size == 0:
                vec[:, col] = 1.0
                continue
            # each town has its own fields (weather, closures): read them town by town
            for t, world in enumerate(rows.worlds):
                span = rows.span(t)
                d = world.fields.dist[objects[:, None], y[span], x[span]].min(axis=0)
                vec[span, col] = np.where(np.isinf(d), 1.0, d / (d + self.params.scale))
        vec[~a.alive] = 0.0
        return arrays
