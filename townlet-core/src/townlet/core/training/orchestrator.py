"""Runs one training strategy and keeps its run directory.

:func:`train` resolves ``training.strategy`` through the registry, makes the
run directory ``runs/<config_id>__<strategy>__<seed>__<N>/`` (``N`` counting
up from 1 per name, like SB3's ``PPO_3``; or exactly ``output``), writes the
resolved config there, builds the :class:`TrainingContext` with the
config's telemetry hub started, prepares and runs the strategy, and writes
its result as ``result.json``. ``townlet train`` is a thin layer over it.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Final

import yaml
from pydantic import BaseModel

from townlet.core.config.models import TownletConfig
from townlet.core.errors import TownletError
from townlet.core.registry import Registry
from townlet.core.telemetry.hub import TelemetryHub
from townlet.core.training.backends import load_ray_backend
from townlet.core.training.context import ProgressCallback, TrainingContext, build_context
from townlet.core.training.epoch_log import EPOCH_LOG

__all__ = [
    "CONFIG_FILE",
    "RESULT_FILE",
    "NoStrategyError",
    "make_run_dir",
    "resolve_strategy",
    "train",
]

CONFIG_FILE: Final = "config.yaml"
"""The resolved config inside a run directory (what ``--resume`` reloads)."""
RESULT_FILE: Final = "result.json"
"""The strategy's result inside a run directory."""


class NoStrategyError(TownletError):
    """No training strategy is installed (or enabled)."""


def resolve_strategy(config: TownletConfig, registry: Registry) -> str:
    """``training.strategy``, else ``ppo`` when installed. Raises :class:`NoStrategyError`
    (naming townlet-strategies) when none is installed, the registry's error for an unknown one."""
    installed = sorted(i.name for i in registry.infos("training_strategies") if not i.disabled)
    if not installed:
        hint = registry.dist_hint(
            "townlet-strategies", "The built-in ones (ppo, bc, anneal)", plural=True
        )
        raise NoStrategyError(
            f"No training strategy is available. {hint} Or install a third-party strategy package."
        )
    name = config.training.strategy
    if name is None:
        if "ppo" not in installed:
            raise TownletError(
                "No training strategy chosen: set training.strategy or pass --strategy NAME "
                f"(installed: {', '.join(installed)})."
            )
        name = "ppo"
    registry.find("training_strategies", name)  # an unknown name raises, listing the installed
    return name


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "run"


def make_run_dir(root: Path, config_id: str, strategy: str, seed: int) -> Path:
    """Create and return ``root/<config_id>__<strategy>__<seed>__<N>`` with the next free N."""
    stem = f"{_slug(config_id)}__{_slug(strategy.rpartition(':')[2])}__{seed}__"
    root.mkdir(parents=True, exist_ok=True)
    taken = [
        int(p.name[len(stem) :]) for p in root.glob(f"{stem}*") if p.name[len(stem) :].isdigit()
    ]
    n = max(taken, default=0) + 1
    while True:
        path = root / f"{stem}{n}"
        try:
            path.mkdir()  # exist_ok=False: two runs started together get different N
        except FileExistsError:
            n += 1
            continue
        return path


def train(
    config: TownletConfig,
    *,
    registry: Registry | None = None,
    runs_root: Path = Path("runs"),
    output: Path | None = None,
    resume_from: Path | None = None,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    curriculum_stage: str | None = None,
) -> BaseModel:
    """Train ``config`` with its strategy and return the strategy's result.

    The run directory is ``output`` (not holding a run unless resuming), else
    ``resume_from`` (its log continues), else a new one under ``runs_root``.
    Setting ``stop`` stops the strategy after its epoch; the result is still written.
    ``curriculum_stage`` is stamped on every epoch record.
    """
    registry = registry or Registry()
    name = resolve_strategy(config, registry)
    training = config.training.model_copy(update={"strategy": name})
    config = config.model_copy(update={"training": training})
    strategy = registry.build("training_strategies", name, config.training.params)
    backends = getattr(strategy, "backends", ("local",))
    if config.training.backend not in backends:
        raise TownletError(
            f"training strategy {name!r} does not run on training.backend "
            f"{config.training.backend!r} (it supports: {', '.join(backends)}); set "
            "training.backend: local"
        )
    if config.training.backend == "ray":  # a missing extra fails before the run directory
        load_ray_backend("training.backend: ray")
    if output is not None:
        run_dir = output
        if resume_from is None and (run_dir / EPOCH_LOG).exists():
            raise TownletError(f"{run_dir} holds a run already: --resume it or choose another")
        run_dir.mkdir(parents=True, exist_ok=True)
    elif resume_from is not None:
        run_dir = resume_from
    else:
        run_dir = make_run_dir(runs_root, config.config_id, name, config.seed)
    (run_dir / CONFIG_FILE).write_text(
        yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
    )
    hub = TelemetryHub.from_config(config.telemetry, registry)
    hub.start()
    context: TrainingContext | None = None
    try:  # the hub is stopped and the log closed however the strategy ends
        context = build_context(
            config,
            run_dir,
            registry=registry,
            device=config.training.device,
            resume_from=resume_from,
            hub=hub,
            on_progress=on_progress,
            stop=stop,
            curriculum_stage=curriculum_stage,
        )
        strategy.prepare(context)
        result = strategy.run(context)
    finally:
        if context is not None:
            context.close()
        hub.stop()
    if not isinstance(result, BaseModel):
        raise TownletError(
            f"training strategy {name!r} returned {type(result).__name__}, not a pydantic result"
        )
    (run_dir / RESULT_FILE).write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return result
