"""Replay datasets: many samples checked together, then batched in memory or streamed.

:meth:`ReplayDataset.from_paths` and :meth:`ReplayDataset.from_manifest`
check every sample (sidecar, NPZ headers, schema version, spec hash,
options, which optional arrays exist) before reading any array data, so a
bad file refuses the whole set with a :class:`ReplayError` naming it and
nothing is half-loaded.

In memory (the default) the samples are stacked into one array per name.
With ``streaming=True`` nothing is stacked: :meth:`ReplayDataset.iter_batches`
reads one sample at a time (memory-mapped when stored uncompressed) and
shuffles inside a buffer of ``buffer_samples`` samples, so memory stays
bounded by the buffer whatever the dataset's size. Both orders are fixed by
the seed (but differ from each other).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from townlet.core.observations.spec import ObservationSpec
from townlet.core.training.replay_format import (
    check_sample,
    load_sample,
    manifest_samples,
    sample_files,
)
from townlet.core.training.replay_meta import (
    OPTIONAL_ARRAYS,
    ReplayError,
    Sample,
    Sidecar,
    SpecInfo,
)

__all__ = ["Batch", "Normalize", "ReplayDataset"]

Batch = dict[str, npt.NDArray[Any]]
"""Arrays of a minibatch by name (the sample format's names), transitions first."""
Normalize = Callable[[Batch], Batch]
"""A hook applied to every batch before it is yielded (e.g. an ObsNormalizer)."""


def _check_together(paths: Sequence[Path], spec: ObservationSpec | None) -> list[Sidecar]:
    """Sidecars of ``paths`` after checking each and that all agree; no array data read."""
    if not paths:
        raise ReplayError("no replay samples given")
    sidecars = [check_sample(p) for p in paths]
    first = sidecars[0]
    want = SpecInfo.from_spec(spec) if spec is not None else first.spec
    source = "the given spec" if spec is not None else f"{paths[0]}"
    optional = set(first.arrays) & set(OPTIONAL_ARRAYS)
    for path, sidecar in zip(paths, sidecars, strict=True):
        where = sample_files(path)[0]
        if sidecar.spec.hash != want.hash:
            raise ReplayError(
                f"{where}: spec.hash {sidecar.spec.hash} != {want.hash} of {source} "
                f"(encoder {sidecar.spec.encoder!r} vs {want.encoder!r})"
            )
        if sidecar.spec != want:
            raise ReplayError(f"{where}: spec: components differ from {source} under one hash")
        if sidecar.options != first.options:
            raise ReplayError(f"{where}: options {sidecar.options} != {first.options} of {source}")
        have = set(sidecar.arrays) & set(OPTIONAL_ARRAYS)
        if have != optional:
            odd = sorted(have ^ optional)
            raise ReplayError(
                f"{where}: {', '.join(odd)}: present in some samples and not others "
                f"(compare {paths[0]})"
            )
    return sidecars


def _select(arrays: Batch, decisions_only: bool) -> npt.NDArray[np.intp] | None:
    if not decisions_only:
        return None
    return np.flatnonzero(arrays["acted"] & ~arrays["possessed"])


def _take(arrays: Batch, index: npt.NDArray[np.intp] | None) -> Batch:
    if index is None:
        return {k: np.array(v) for k, v in arrays.items()}  # copies out of a memory map
    return {k: v[index] for k, v in arrays.items()}


def _concat(parts: Sequence[Batch]) -> Batch:
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


class ReplayDataset:
    """Checked replay samples; build with :meth:`from_paths` or :meth:`from_manifest`."""

    def __init__(
        self,
        paths: Sequence[Path],
        sidecars: Sequence[Sidecar],
        *,
        arrays: Batch | None,
        mmap: bool = True,
    ) -> None:
        self.paths = [sample_files(p)[0] for p in paths]
        """The NPZ file of every sample, in order."""
        self.sidecars = list(sidecars)
        """The sidecar of every sample, in order."""
        self._arrays = arrays
        self._mmap = mmap
        ends = np.cumsum([s.counts.transitions for s in self.sidecars])
        self._bounds = list(zip([0, *ends[:-1].tolist()], ends.tolist(), strict=True))

    @classmethod
    def from_paths(
        cls,
        paths: Sequence[Path],
        *,
        spec: ObservationSpec | None = None,
        streaming: bool = False,
        mmap: bool = True,
    ) -> ReplayDataset:
        """Check then load samples (either file of each, or the bare name).

        ``spec``, when given, is the spec every sample must match (else they
        must match the first). ``streaming`` keeps the data on disk; ``mmap``
        maps uncompressed arrays when streaming instead of reading them.
        """
        sidecars = _check_together(list(paths), spec)
        if streaming:
            return cls(paths, sidecars, arrays=None, mmap=mmap)
        samples = [load_sample(p) for p in paths]
        return cls(paths, sidecars, arrays=_concat([s.arrays for s in samples]))

    @classmethod
    def from_manifest(
        cls,
        manifest: Path,
        *,
        spec: ObservationSpec | None = None,
        streaming: bool = False,
        mmap: bool = True,
        verify: bool = True,
    ) -> ReplayDataset:
        """The samples a manifest lists (the file or its directory); see :meth:`from_paths`.

        ``verify`` compares every file's sha256 with the manifest's first.
        """
        paths = manifest_samples(manifest, verify=verify)
        return cls.from_paths(paths, spec=spec, streaming=streaming, mmap=mmap)

    # -- facts -------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        """Whether the data stays on disk."""
        return self._arrays is None

    @property
    def spec(self) -> SpecInfo:
        """The encoder spec every sample shares."""
        return self.sidecars[0].spec

    @property
    def options(self) -> tuple[str, ...]:
        """Option names: action ``i`` is ``options[i]``."""
        return self.sidecars[0].options

    @property
    def transitions(self) -> int:
        """Transitions over every sample."""
        return sum(s.counts.transitions for s in self.sidecars)

    @property
    def decisions(self) -> int:
        """Trainable transitions (acted, not possessed) over every sample."""
        return sum(s.counts.decisions for s in self.sidecars)

    @property
    def array_names(self) -> tuple[str, ...]:
        """Names of the arrays every sample holds (and every batch carries)."""
        return tuple(sorted(self.sidecars[0].arrays))

    @property
    def arrays(self) -> Batch:
        """Every array stacked over the samples (in-memory datasets only)."""
        if self._arrays is None:
            raise ReplayError("a streaming replay dataset has no stacked arrays; iterate it")
        return self._arrays

    # -- iteration ---------------------------------------------------------

    def iter_samples(self) -> Iterator[Sample]:
        """Each sample in order (streaming: loaded one at a time, then let go)."""
        for i, (path, sidecar) in enumerate(zip(self.paths, self.sidecars, strict=True)):
            if self._arrays is None:
                yield load_sample(path, mmap=self._mmap)
            else:
                lo, hi = self._bounds[i]
                yield Sample(path, sidecar, {k: v[lo:hi] for k, v in self._arrays.items()})

    def iter_batches(
        self,
        batch_size: int,
        seed: int,
        *,
        shuffle: bool = True,
        drop_last: bool = False,
        decisions_only: bool = True,
        normalize: Normalize | None = None,
        buffer_samples: int = 4,
    ) -> Iterator[Batch]:
        """Minibatches of transitions, each a dict of arrays by name.

        ``decisions_only`` keeps the trainable transitions (acted and not
        possessed). ``shuffle`` orders them by a generator seeded with
        ``seed``; streaming shuffles the sample order and, within a buffer of
        ``buffer_samples`` samples, the transitions. ``drop_last`` drops a
        final short batch. ``normalize`` is applied to every batch.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1 (got {batch_size})")
        if buffer_samples < 1:
            raise ValueError(f"buffer_samples must be ≥ 1 (got {buffer_samples})")
        rng = np.random.default_rng(seed)
        batches = (
            self._stream(batch_size, rng, shuffle, drop_last, decisions_only, buffer_samples)
            if self._arrays is None
            else self._in_memory(self._arrays, batch_size, rng, shuffle, drop_last, decisions_only)
        )
        for batch in batches:
            yield normalize(batch) if normalize is not None else batch

    @staticmethod
    def _in_memory(
        arrays: Batch,
        batch_size: int,
        rng: np.random.Generator,
        shuffle: bool,
        drop_last: bool,
        decisions_only: bool,
    ) -> Iterator[Batch]:
        index = _select(arrays, decisions_only)
        if index is None:
            index = np.arange(len(arrays["actions"]))
        if shuffle:
            index = rng.permutation(index)
        for start in range(0, len(index), batch_size):
            chunk = index[start : start + batch_size]
            if drop_last and len(chunk) < batch_size:
                return
            yield {k: v[chunk] for k, v in arrays.items()}

    def _stream(
        self,
        batch_size: int,
        rng: np.random.Generator,
        shuffle: bool,
        drop_last: bool,
        decisions_only: bool,
        buffer_samples: int,
    ) -> Iterator[Batch]:
        order = rng.permutation(len(self.paths)) if shuffle else np.arange(len(self.paths))
        pool: list[Batch] = []
        for i in order.tolist():
            sample = load_sample(self.paths[i], mmap=self._mmap)
            pool.append(_take(sample.arrays, _select(sample.arrays, decisions_only)))
            del sample  # unmaps the file before the next one is opened
            if len(pool) >= buffer_samples:
                rest = yield from _drain(pool, batch_size, rng if shuffle else None, final=False)
                pool = [rest] if rest is not None else []
        yield from _drain(pool, batch_size, rng if shuffle else None, final=not drop_last)


def _drain(
    pool: list[Batch], batch_size: int, rng: np.random.Generator | None, *, final: bool
) -> Generator[Batch, None, Batch | None]:
    """Yield full batches of the pooled transitions; return the remainder (or yield it)."""
    if not pool:
        return None
    merged = _concat(pool)
    pool.clear()
    n = len(merged["actions"])
    index = rng.permutation(n) if rng is not None else np.arange(n)
    full = n - n % batch_size
    for start in range(0, full, batch_size):
        yield {k: v[index[start : start + batch_size]] for k, v in merged.items()}
    if full == n:
        return None
    rest = {k: v[index[full:]] for k, v in merged.items()}
    if final:
        yield rest
        return None
    return rest
