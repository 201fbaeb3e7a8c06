"""PPO checkpoints: one ``.pt`` file, written atomically, loaded with ``weights_only=True``.

A checkpoint holds the network weights and optimiser state, the encoder
(name, params, spec JSON and spec hash), the option names, the config id, a
policy hash (sha256 of the weights), the hyperparameters, the epoch and
agent-step counters and the RNG states (torch, the sampling generator and
numpy), so a run can be continued (``townlet train --resume RUN_DIR``) and a
policy rebuilt without the config (the ``learned`` policy). Everything but
tensors is stored as plain strings and numbers, so loading never unpickles
arbitrary objects.

:func:`check_compatible` refuses a checkpoint whose encoder spec or option
set differs from the run's, saying which and how.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import torch
from pydantic import BaseModel

from townlet.core.errors import TownletError
from townlet.core.observations.build import build_encoder
from townlet.core.observations.spec import ObservationSpec
from townlet.core.ports import TrainingContext

__all__ = [
    "CHECKPOINT_DIR",
    "FINAL",
    "FORMAT",
    "Checkpoint",
    "CheckpointError",
    "check_compatible",
    "encoder_params",
    "load_checkpoint",
    "policy_hash",
    "save_checkpoint",
]

FORMAT: Final = "townlet-ppo-checkpoint/1"
"""Format tag of the files written here."""
CHECKPOINT_DIR: Final = "checkpoints"
"""Checkpoints live in ``<run dir>/checkpoints/``."""
FINAL: Final = "final.pt"
"""The last checkpoint of a run."""


class CheckpointError(TownletError):
    """A checkpoint cannot be read, or does not fit the run or config it is loaded into."""


def policy_hash(state: Mapping[str, torch.Tensor]) -> str:
    """First 16 hex digits of the sha256 of the weights (names and bytes, sorted by name)."""
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint (see the module docstring)."""

    path: Path
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    encoder: str
    encoder_params: dict[str, Any]
    spec_json: str
    spec_hash: str
    options: tuple[str, ...]
    config_id: str
    policy_hash: str
    hyperparameters: dict[str, Any]
    epoch: int
    agent_steps: int
    ticks: int
    rng: dict[str, Any]

    @property
    def spec(self) -> dict[str, Any]:
        """The encoder spec as recorded (JSON form)."""
        out: dict[str, Any] = json.loads(self.spec_json)
        return out


def save_checkpoint(
    path: Path,
    *,
    model: Mapping[str, torch.Tensor],
    optimizer: Mapping[str, Any],
    encoder_params: Mapping[str, Any],
    spec: ObservationSpec,
    options: Sequence[str],
    config_id: str,
    hyperparameters: Mapping[str, Any],
    epoch: int,
    agent_steps: int,
    ticks: int,
    rng: Mapping[str, Any],
) -> Path:
    """Write a checkpoint to ``path`` atomically (temporary file, fsync, rename)."""
    payload = {
        "format": FORMAT,
        "model": dict(model),
        "optimizer": dict(optimizer),
        "encoder": spec.encoder,
        "encoder_params": json.dumps(dict(encoder_params), sort_keys=True),
        "spec_json": spec.to_json(),
        "spec_hash": spec.hash,
        "options": list(options),
        "config_id": config_id,
        "policy_hash": policy_hash(model),
        "hyperparameters": json.dumps(dict(hyperparameters), sort_keys=True),
        "epoch": int(epoch),
        "agent_steps": int(agent_steps),
        "ticks": int(ticks),
        "rng": dict(rng),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint (``weights_only=True``); :class:`CheckpointError` saying why not."""
    path = Path(path)
    if path.is_dir():  # a run directory: its final checkpoint
        path = path / CHECKPOINT_DIR / FINAL
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise CheckpointError(f"no checkpoint at {path}") from e
    except Exception as e:
        raise CheckpointError(f"{path} is not a readable checkpoint: {e}") from e
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        got = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise CheckpointError(f"{path}: format {got!r}, expected {FORMAT!r}")
    try:
        return Checkpoint(
            path=path,
            model=raw["model"],
            optimizer=raw["optimizer"],
            encoder=raw["encoder"],
            encoder_params=json.loads(raw["encoder_params"]),
            spec_json=raw["spec_json"],
            spec_hash=raw["spec_hash"],
            options=tuple(raw["options"]),
            config_id=raw["config_id"],
            policy_hash=raw["policy_hash"],
            hyperparameters=json.loads(raw["hyperparameters"]),
            epoch=int(raw["epoch"]),
            agent_steps=int(raw["agent_steps"]),
            ticks=int(raw["ticks"]),
            rng=raw["rng"],
        )
    except KeyError as e:
        raise CheckpointError(f"{path}: checkpoint lacks {e.args[0]!r}") from e


def check_compatible(ckpt: Checkpoint, spec: ObservationSpec, options: Sequence[str]) -> None:
    """Refuse ``ckpt`` for a run with ``spec`` and ``options``, naming what differs."""
    if ckpt.encoder != spec.encoder:
        raise CheckpointError(
            f"{ckpt.path} was trained with encoder {ckpt.encoder!r}, this run uses {spec.encoder!r}"
        )
    if ckpt.spec_hash != spec.hash:
        raise CheckpointError(
            f"{ckpt.path}: observation spec hash {ckpt.spec_hash} differs from this run's "
            f"{spec.hash} (encoder {spec.encoder!r} with other params, or another version)"
        )
    if tuple(ckpt.options) != tuple(options):
        raise CheckpointError(
            f"{ckpt.path}: option set {list(ckpt.options)} differs from this run's {list(options)}"
        )
    if policy_hash(ckpt.model) != ckpt.policy_hash:
        raise CheckpointError(f"{ckpt.path}: weights do not match their recorded policy hash")


def encoder_params(context: TrainingContext) -> dict[str, Any]:
    """The params of ``context``'s encoder, as a checkpoint records them (the ``learned``
    policy rebuilds the encoder from its name and these)."""
    horizon = getattr(context, "horizon", None)
    extra = {"horizon": int(horizon) if horizon is not None else 1000}
    encoder = build_encoder(context.config, context.registry, extra)
    params = getattr(encoder, "params", None)
    return params.model_dump(mode="json") if isinstance(params, BaseModel) else {}
