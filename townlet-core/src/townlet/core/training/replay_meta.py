"""Records of the replay format: sidecar and manifest models, array names, errors.

See :mod:`townlet.core.training.replay_format` for the format itself and
docs/training.md for every field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from townlet.core.errors import TownletError
from townlet.core.observations.spec import ObservationSpec

__all__ = [
    "MANIFEST_NAME",
    "OPTIONAL_ARRAYS",
    "REPLAY_SCHEMA_VERSION",
    "REQUIRED_ARRAYS",
    "ArrayInfo",
    "ComponentInfo",
    "EpisodeInfo",
    "Manifest",
    "ManifestEntry",
    "ReplayError",
    "Sample",
    "SampleCounts",
    "SampleMeta",
    "Sidecar",
    "SpecInfo",
]

REPLAY_SCHEMA_VERSION: Final = "1.0"
"""Version of the sample and manifest format written here (the only one read)."""
MANIFEST_NAME: Final = "manifest.json"
"""File name of a replay directory's manifest."""

Arrays = dict[str, npt.NDArray[Any]]

REQUIRED_ARRAYS: Final = {
    "actions": "int64",
    "rewards": "float32",
    "terminated": "bool",
    "truncated": "bool",
    "acted": "bool",
    "possessed": "bool",
}
"""Arrays every sample holds besides ``obs.<component>`` and ``masks``, with their dtypes."""
OPTIONAL_ARRAYS: Final = {
    "decided": "bool",
    "values": "float32",
    "logprobs": "float32",
    "episode": "int64",
    "town": "int64",
    "row": "int64",
    "tick": "int64",
}
"""Arrays a sample may hold besides the required ones, with their dtypes."""


class ReplayError(TownletError, ValueError):
    """A replay sample or manifest is unreadable or does not match; names file and field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentInfo(_Model):
    """One observation component as recorded in a sidecar."""

    name: str = Field(description="Component name; its array is obs.<name>.")
    shape: tuple[int, ...] = Field(description="Per-transition shape ([F] or [C, H, W]).")
    dtype: str = Field(description="numpy dtype name of the array.")
    features: tuple[str, ...] = Field(
        description="Feature names in order (vectors) or channel names in order (maps)."
    )


class SpecInfo(_Model):
    """The encoder spec a sample was recorded with, enough to check and label it."""

    encoder: str = Field(description="Encoder plugin name.")
    version: str = Field(description="Encoder spec version.")
    hash: str = Field(description="ObservationSpec.hash: equal hashes mean the same layout.")
    components: tuple[ComponentInfo, ...] = Field(description="Components in spec order.")

    @classmethod
    def from_spec(cls, spec: ObservationSpec) -> SpecInfo:
        """The record of ``spec``."""
        comps = tuple(
            ComponentInfo(
                name=c.name,
                shape=c.shape,
                dtype=c.dtype,
                features=tuple(f.name for f in c.features),
            )
            for c in spec.components
        )
        return cls(encoder=spec.encoder, version=spec.version, hash=spec.hash, components=comps)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-transition shape of each component (as ``ObservationSpec.shapes``)."""
        return {c.name: c.shape for c in self.components}


class EpisodeInfo(_Model):
    """Metrics of one episode a sample's transitions belong to."""

    episode: int = Field(ge=0, description="Episode id (the episode array's value).")
    town: int | None = Field(None, ge=0, description="Town index in the vector env, if known.")
    seed: int | None = Field(None, description="World seed of the episode, if known.")
    ticks: int = Field(ge=0, description="Ticks of the episode recorded in this sample.")
    metrics: dict[str, float] = Field(
        default_factory=dict,
        description="By name: return, queue_conflict_events, queue_conflict_intensity_sum, "
        "lateness, chats, exits, ...",
    )


class SampleMeta(_Model):
    """What the writer of a sample states about it (the rest is counted)."""

    spec: SpecInfo = Field(description="The encoder spec of the observations.")
    options: tuple[str, ...] = Field(
        min_length=1, description="Option names: action i is options[i]; one mask column each."
    )
    config_id: str = Field(description="config_id of the configuration recorded.")
    seed: int | None = Field(None, description="Seed of the recording run.")
    policy: str | None = Field(None, description="Policy plugin that acted, if one did.")
    episodes: tuple[EpisodeInfo, ...] = Field((), description="Per-episode metrics.")


class SampleCounts(_Model):
    """Counts of a sample, computed by the writer."""

    transitions: int = Field(ge=0, description="Rows of every array (N).")
    decisions: int = Field(ge=0, description="Transitions with acted and not possessed.")
    possessed: int = Field(ge=0, description="Transitions of possessed agents (not trainable).")
    terminated: int = Field(ge=0, description="Transitions that ended an agent's episode.")
    truncated: int = Field(ge=0, description="Transitions cut by the episode horizon.")
    episodes: int = Field(ge=0, description="Distinct episodes (len(episodes) of the sidecar).")


class ArrayInfo(_Model):
    """Shape and dtype of one array of the NPZ."""

    shape: tuple[int, ...] = Field(description="Full shape, transitions first.")
    dtype: str = Field(description="numpy dtype name.")


class Sidecar(SampleMeta):
    """The ``NAME.json`` sidecar of a sample: its meta, counts and array layout."""

    schema_version: Literal["1.0"] = Field(description="Replay sample format version.")
    counts: SampleCounts = Field(description="Counts computed when the sample was written.")
    arrays: dict[str, ArrayInfo] = Field(description="Every array of the NPZ by name.")


class ManifestEntry(_Model):
    """One sample listed in a manifest; paths relative to the manifest's directory."""

    path: str = Field(description="The sample's NPZ file.")
    sidecar: str = Field(description="The sample's JSON sidecar.")
    transitions: int = Field(ge=0, description="Transitions in the sample.")
    decisions: int = Field(ge=0, description="Trainable transitions (acted, not possessed).")
    episodes: int = Field(ge=0, description="Episodes in the sample.")
    spec_hash: str = Field(description="Encoder spec hash of the sample.")
    bytes: int = Field(ge=0, description="Size of the NPZ file in bytes.")
    sha256: str = Field(description="sha256 of the NPZ file, hex.")


class Manifest(_Model):
    """``manifest.json``: the samples of a replay directory, all of one spec."""

    schema_version: Literal["1.0"] = Field(description="Replay sample format version.")
    spec_hash: str | None = Field(None, description="Spec hash every sample shares.")
    samples: tuple[ManifestEntry, ...] = Field((), description="Samples in write order.")

    @property
    def transitions(self) -> int:
        """Transitions over every sample."""
        return sum(e.transitions for e in self.samples)


@dataclass(frozen=True, slots=True)
class Sample:
    """One loaded sample: where it came from, its sidecar and its arrays."""

    path: Path
    sidecar: Sidecar
    arrays: Arrays

    @property
    def transitions(self) -> int:
        """Rows of every array."""
        return self.sidecar.counts.transitions
