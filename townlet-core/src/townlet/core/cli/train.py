"""``townlet train``: run a training strategy and keep its run directory."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import click
from pydantic import BaseModel

from townlet.core.cli.options import config_options, load_from_options
from townlet.core.config import TownletConfig
from townlet.core.errors import TownletError
from townlet.core.registry import Registry
from townlet.core.training.curriculum import (
    CurriculumResult,
    CurriculumStage,
    WindowOutcome,
    load_curriculum,
    train_curriculum,
)
from townlet.core.training.dto import TrainingResult
from townlet.core.training.orchestrator import CONFIG_FILE, RESULT_FILE
from townlet.core.training.orchestrator import train as run_training

__all__ = ["train"]

# option → the config key it sets (as --set KEY=VALUE, so errors name the flag's key)
_TRAINING_FLAGS = {
    "mode": "training.mode",
    "epochs": "training.epochs",
    "total_steps": "training.total_steps",
    "rollout_ticks": "training.rollout_ticks",
    "towns": "training.towns",
    "ppo_log": "training.ppo_log",
    "device": "training.device",
    "replay_manifest": "training.replay_manifest",
}


@click.command()
@click.argument("config_path", metavar="[CONFIG]", required=False, type=click.Path(path_type=Path))
@click.option("--mode", type=click.Choice(["replay", "rollout", "mixed"]), help="Data source.")
@click.option(
    "--replay-sample",
    "replay_samples",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Replay sample (NPZ or sidecar) to train from; repeatable. Prints its summary first.",
)
@click.option(
    "--replay-manifest",
    type=click.Path(path_type=Path),
    metavar="M",
    help="Replay manifest or dir.",
)
@click.option("--epochs", type=click.IntRange(min=1), help="Epochs to train.")
@click.option("--total-steps", type=click.IntRange(min=1), help="Budget in agent-steps.")
@click.option("--rollout-ticks", type=click.IntRange(min=1), help="Ticks per rollout.")
@click.option("--towns", type=click.IntRange(min=1), help="Towns stepped together.")
@click.option(
    "--ppo-log",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Also append the epoch log here.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Use exactly DIR as run directory.",
)
@click.option(
    "--runs-dir",
    type=click.Path(path_type=Path),
    metavar="DIR",
    default=Path("runs"),
    show_default=True,
    help="Where new run directories are made.",
)
@click.option("--device", metavar="cpu|cuda", help="Device for the strategy.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the config's seed.")
@click.option(
    "--resume",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    metavar="RUN_DIR",
    help="Continue RUN_DIR: reload its config and let the strategy resume from it.",
)
@click.option(
    "--curriculum",
    metavar="NAME|FILE",
    help="Walk a curriculum's stages instead of one config; --epochs sizes its windows.",
)
@click.option("--quiet", is_flag=True, help="No progress lines.")
@config_options
def train(
    config_path: Path | None,
    replay_samples: tuple[Path, ...],
    output: Path | None,
    runs_dir: Path,
    seed: int | None,
    resume: Path | None,
    curriculum: str | None,
    quiet: bool,
    **options: Any,
) -> None:
    """Train with a strategy on CONFIG (default: the built-in town).

    The run directory (runs/<config_id>__<strategy>__<seed>__<N>/, or
    --output DIR) receives the resolved config, the epoch log (epochs.jsonl),
    checkpoints and result.json. Ctrl-C stops after the current epoch; the
    result is still written. With --curriculum, the stages' configs replace
    CONFIG and every option applies to each stage (docs/training.md).
    """
    sets = list(options.pop("set_", ()))
    for flag, key in _TRAINING_FLAGS.items():
        value = options.pop(flag)
        if value is not None:  # JSON is YAML: paths and names arrive quoted, numbers as numbers
            sets.append(f"{key}={json.dumps(value if isinstance(value, int) else str(value))}")
    if replay_samples:
        sets.append(f"training.replay_samples={json.dumps([str(p) for p in replay_samples])}")
    if seed is not None:
        sets.append(f"seed={seed}")
    if curriculum is not None:
        if config_path is not None or resume is not None or options.get("scenario"):
            raise click.UsageError("--curriculum replaces CONFIG, --scenario and --resume")
        _train_curriculum(curriculum, sets, options, output, runs_dir, quiet)
        return
    if resume is not None:
        if config_path is not None:
            raise click.UsageError("give either CONFIG or --resume RUN_DIR, not both")
        config_path = resume / CONFIG_FILE
    registry = Registry()
    config = load_from_options(config_path, {**options, "set_": tuple(sets)}, registry).config
    if config.training.replay_samples:
        _print_replay_summary(config)
    stop = threading.Event()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():  # a second Ctrl-C aborts at once
            raise KeyboardInterrupt
        stop.set()
        click.echo("\nstopping after this epoch (Ctrl-C again to abort)", err=True)

    previous = signal.signal(signal.SIGINT, interrupt)
    started = time.perf_counter()
    try:
        result = run_training(
            config,
            registry=registry,
            runs_root=runs_dir,
            output=output,
            resume_from=resume,
            on_progress=None if quiet else _ProgressLine(config),
            stop=stop,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    click.echo(format_result(result, time.perf_counter() - started))


def _train_curriculum(
    name: str,
    sets: list[str],
    options: dict[str, Any],
    output: Path | None,
    runs_dir: Path,
    quiet: bool,
) -> None:
    """``townlet train --curriculum``: every flag becomes a ``--set`` applied to each stage."""
    epochs = next((s for s in sets if s.startswith("training.epochs=")), None)
    sets = [s for s in sets if s is not epochs]  # --epochs sizes the windows instead
    for key, value in _shortcut_sets(options):
        sets.insert(0, f"{key}={value}")
    plan = load_curriculum(name)
    stop = threading.Event()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        click.echo("\nstopping after this window (Ctrl-C again to abort)", err=True)

    def on_window(stage: CurriculumStage, window: WindowOutcome) -> None:
        kpis = "  ".join(f"{k} {window.kpis[k]:.4g}" for k in stage.bands) or "no band"
        verdict = "pass" if window.passed else "miss"
        click.echo(f"{stage.name} window {window.window}: {verdict}  {kpis}", err=True)

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        result = train_curriculum(
            plan,
            overrides=sets,
            runs_root=runs_dir,
            output=output,
            window_epochs=int(epochs.partition("=")[2]) if epochs else None,
            on_progress=None if quiet else _ProgressLine(None),
            on_window=None if quiet else on_window,
            stop=stop,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    click.echo(format_curriculum(result))


def _shortcut_sets(options: dict[str, Any]) -> list[tuple[str, str]]:
    """The port shortcuts (--strategy, --encoder, --policy, --sink) as ``--set`` pairs."""
    pairs = [
        (key, json.dumps(options[flag]))
        for flag, key in (
            ("strategy", "training.strategy"),
            ("encoder", "observations.encoder"),
            ("policy", "policy.name"),
        )
        if options.get(flag)
    ]
    if options.get("sinks"):
        pairs.append(("telemetry.sinks", json.dumps([{"name": n} for n in options["sinks"]])))
    return pairs


def format_curriculum(result: CurriculumResult) -> str:
    """The final summary of a curriculum run: one line per stage walked."""
    lines = [
        f"curriculum {result.curriculum} with {result.strategy} (seed {result.seed}): "
        f"{len(result.stages)} stages in {result.seconds:.1f} s"
        + ("" if result.completed else " — stopped early"),
        f"  run directory  {result.run_dir}",
    ]
    if result.checkpoint is not None:
        lines.append(f"  checkpoint     {result.checkpoint} ({result.policy})")
    for stage in result.stages:
        kpis = ", ".join(f"{k} {v:.3g}" for k, v in stage.kpis.items())
        lines.append(f"  {stage.stage:<18} {stage.outcome:<7} {len(stage.windows)} windows  {kpis}")
    return "\n".join(lines)


def _print_replay_summary(config: TownletConfig) -> None:
    from townlet.core.training.replay import ReplayDataset
    from townlet.core.training.replay_meta import ReplayError
    from townlet.core.training.replay_summary import batch_summary, inspect_text

    try:
        dataset = ReplayDataset.from_paths(config.training.replay_samples, streaming=True)
        click.echo(inspect_text(batch_summary(dataset)))
    except ReplayError as exc:  # a user's file: one message, exit 2
        raise TownletError(str(exc)) from exc


def _pick(metrics: Mapping[str, float], *names: str) -> float | None:
    """The first metric whose last path segment is one of ``names`` (or contains the first),
    ignoring case (CleanRL writes ``charts/SPS``)."""
    leaves = {key.rpartition("/")[2].lower(): value for key, value in metrics.items()}
    for name in names:
        if name in leaves:
            return leaves[name]
    return next((v for k, v in leaves.items() if names[0] in k), None)


class _ProgressLine:
    """One stderr line per epoch: epoch, steps per second, return, loss, approx KL."""

    def __init__(self, config: TownletConfig | None) -> None:
        self.total = config.training.epochs if config is not None else None

    def __call__(self, epoch: int, metrics: Mapping[str, float]) -> None:
        parts = [f"epoch {epoch}" + (f"/{self.total}" if self.total else "")]
        for label, names in (
            ("sps", ("sps", "steps_per_sec")),
            ("return", ("return", "episodic_return", "mean_return")),
            ("loss", ("loss", "loss_total", "total_loss")),
            ("kl", ("approx_kl",)),
        ):
            value = _pick(metrics, *names)
            if value is not None:
                parts.append(f"{label} {value:,.0f}" if label == "sps" else f"{label} {value:.4g}")
        click.echo("  ".join(parts), err=True)
        sys.stderr.flush()


def format_result(result: BaseModel, seconds: float) -> str:
    """The final summary of a run."""
    if not isinstance(result, TrainingResult):
        return result.model_dump_json(indent=2)
    rows = [("run directory", str(result.run_dir)), ("result", str(result.run_dir / RESULT_FILE))]
    if result.checkpoints:
        rows.append(("checkpoint", str(result.checkpoints[-1])))
    if result.policy:
        rows.append(("policy", result.policy))
    rows += [(k, f"{v:.4g}") for k, v in sorted(result.final_metrics.items())]
    width = max(len(label) for label, _ in rows)
    head = (
        f"{result.strategy} on {result.config_id} (seed {result.seed}): "
        f"{result.epochs} epochs, {result.transitions:,} agent-steps in {seconds:.1f} s"
        + (" — stopped early" if result.stopped_early else "")
    )
    return "\n".join([head, *(f"  {label:<{width}}  {text}" for label, text in rows)])
