"""The built-in observation encoders: ``full``, ``hybrid`` (the default) and ``compact``.

Each encodes the rows of one town, or of a vector env's towns end to end, in
one call into contiguous float32 arrays whose first axis is the row, laid
out as its :class:`ObservationSpec` says. Rows of empty slots are zeros.
Encoders only read the published :class:`~townlet.core.ports.RowsView`.

- ``full``: egocentric map (self, agents, objects, reservations, path_dx,
  path_dy) + the scalar bundle + the social snippet.
- ``hybrid``: a slimmer map (self, agents, objects, reservations) + the
  bundle (whose landmark block gives unit vector and distance to the home,
  workplace, nearest shower, fridge and nearest till) + the social snippet.
- ``compact``: no big map; the bundle, a shorter social snippet and at most a
  small one-channel window.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field, field_validator

from townlet.core.observations._bundle import bundle_features, fill_bundle
from townlet.core.observations._frame import Frame, FrameCache
from townlet.core.observations._map import fill_map, map_features
from townlet.core.observations._social import fill_social, social_features
from townlet.core.observations.spec import Component, ObservationSpec
from townlet.core.ports import PLUGIN_API_VERSION, PluginParams, RowsView

__all__ = [
    "DEFAULT_ENCODER",
    "SPEC_VERSION",
    "CompactEncoder",
    "CompactParams",
    "FullEncoder",
    "FullParams",
    "HybridEncoder",
    "HybridParams",
]

DEFAULT_ENCODER = "hybrid"
"""The encoder used when a config names none."""
SPEC_VERSION = "1.0"
"""Layout version of the built-in encoders; bump on any change of meaning."""


class _CommonParams(PluginParams):
    personality: bool = Field(
        True, description="Include the three personality traits in the scalar bundle."
    )
    horizon: int = Field(
        1000,
        ge=1,
        le=10**9,
        description="Ticks per episode for episode.progress (1..10^9); the env sets its own.",
    )


class FullParams(_CommonParams):
    """Parameters of the ``full`` encoder."""

    window: int = Field(11, ge=3, le=31, description="Side of the egocentric map (odd, 3..31).")
    social_k: int = Field(3, ge=1, le=6, description="Friend slots and rival slots (1..6 each).")

    @field_validator("window")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"window must be odd (got {value})")
        return value


class HybridParams(FullParams):
    """Parameters of the ``hybrid`` encoder."""


class CompactParams(_CommonParams):
    """Parameters of the ``compact`` encoder."""

    window: Literal[0, 3, 5, 7] = Field(
        7, description="Side of the one-channel local window: 0 (none), 3, 5 or 7."
    )
    social_k: int = Field(2, ge=1, le=6, description="Friend slots and rival slots (1..6 each).")


class _Encoder:
    """Shared machinery: spec from params, buffers, one-call encoding."""

    Params: ClassVar[type[BaseModel]]
    plugin_api_version: ClassVar[str] = PLUGIN_API_VERSION
    name: ClassVar[str]
    map_name: ClassVar[str] = "map"
    channels: ClassVar[tuple[str, ...]]

    def __init__(self, params: FullParams | CompactParams) -> None:
        self.params = params
        self._window: int = params.window
        self._social_k: int = params.social_k
        self._pad = max(self._window // 2, 1)
        self._cache = FrameCache(self._pad)
        self._batch_cache = FrameCache(self._pad)
        self._spec = self._build_spec()

    @property
    def spec(self) -> ObservationSpec:
        """The layout of :meth:`encode`'s arrays."""
        return self._spec

    def _build_spec(self) -> ObservationSpec:
        comps: list[Component] = []
        if self._window:
            feats = map_features(self.channels)
            comps.append(
                Component(
                    self.map_name,
                    (len(feats), self._window, self._window),
                    feats,
                    f"Egocentric {self._window}×{self._window} window centred on the agent.",
                )
            )
        scal = tuple(bundle_features(self.params.personality))
        comps.append(Component("scalars", (len(scal),), scal, "The shared scalar bundle."))
        soc = tuple(social_features(self._social_k))
        comps.append(
            Component(
                "social",
                (len(soc),),
                soc,
                f"Top {self._social_k} friends and rivals with identity embeddings.",
            )
        )
        layout = {
            "window": self._window,
            "personality": self.params.personality,
            "social_k": self._social_k,
        }
        return ObservationSpec(self.name, SPEC_VERSION, tuple(comps), layout)

    def encode(
        self,
        rows: RowsView,
        out: MutableMapping[str, npt.NDArray[np.float32]] | None = None,
    ) -> Mapping[str, npt.NDArray[np.float32]]:
        """Encode every row of ``rows``: one town, or several of one geometry (a
        vector env's towns) end to end, every feature one array operation over
        all rows.

        ``out``, when given, holds one preallocated array per component with
        the row count as first axis (e.g. a slice of a batch buffer); it is
        filled in place and returned. Otherwise fresh arrays are returned.
        Towns of different geometry raise ``ValueError``.
        """
        arrays = out if out is not None else self.spec.allocate(rows.n_agents)
        # one cache per use: a town encoded alone does not evict the stacks of a batch
        cache = self._cache if len(rows.worlds) == 1 else self._batch_cache
        self._fill(Frame.of(rows, cache), arrays)
        return arrays

    def _fill(self, frame: Frame, arrays: MutableMapping[str, npt.NDArray[np.float32]]) -> None:
        if self._window:
            fill_map(frame, arrays[self.map_name], self.channels)
        scal = arrays["scalars"]
        fill_bundle(frame, scal, self.params.horizon, self.params.personality)
        soc = arrays["social"]
        fill_social(frame, soc, self._social_k)
        if frame.dead is not None:
            scal[frame.dead] = 0.0
            soc[frame.dead] = 0.0


class FullEncoder(_Encoder):
    """Egocentric map with path channels, the scalar bundle and the social snippet."""

    Params: ClassVar[type[BaseModel]] = FullParams
    name: ClassVar[str] = "full"
    channels: ClassVar[tuple[str, ...]] = (
        "self",
        "agents",
        "objects",
        "reservations",
        "path_dx",
        "path_dy",
    )

    def __init__(self, params: FullParams) -> None:
        super().__init__(params)


class HybridEncoder(_Encoder):
    """Slim egocentric map plus directional landmark fields (the default encoder)."""

    Params: ClassVar[type[BaseModel]] = HybridParams
    name: ClassVar[str] = "hybrid"
    channels: ClassVar[tuple[str, ...]] = ("self", "agents", "objects", "reservations")

    def __init__(self, params: HybridParams) -> None:
        super().__init__(params)


class CompactEncoder(_Encoder):
    """No big map: distilled vectors, a short social snippet, a small local window."""

    Params: ClassVar[type[BaseModel]] = CompactParams
    name: ClassVar[str] = "compact"
    map_name: ClassVar[str] = "window"
    channels: ClassVar[tuple[str, ...]] = ("local",)

    def __init__(self, params: CompactParams) -> None:
        super().__init__(params)
