"""Curricula: named sequences of stages, each a config with a KPI band and a budget.

A :class:`Curriculum` lists stages in order. :func:`train_curriculum` trains a
strategy on each stage's config in windows of epochs, evaluates the policy
after each window, and advances when the stage's KPI band holds for
``required_streak`` consecutive windows or when its budget of windows is spent.
The policy carries over: every window starts from the previous window's
checkpoint (``training.params.init_from``).

Curricula are found by name through the ``townlet.curricula`` entry-point
group (townlet-scenarios ships ``default``, the stages of SPEC §14); each
entry point names a :class:`Curriculum` or a function returning one. A YAML
file with the same fields works too (``townlet train --curriculum FILE``)::

    name: mine
    window_epochs: 5
    stages:
      - {name: home, config: "scenario:m0_home", bands: {self_sufficiency: {min: 0.9}}}
      - {name: town, config: "builtin:default", budget: 4}
"""

from __future__ import annotations

import importlib.metadata as md
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from townlet.core._validation import read_yaml_model
from townlet.core.config.loader import load_config, parse_override
from townlet.core.config.models import TownletConfig
from townlet.core.config_base import ConfigModel
from townlet.core.errors import TownletError
from townlet.core.observations.build import build_encoder
from townlet.core.registry import Registry
from townlet.core.training._rollout import EPISODE_KPIS
from townlet.core.training.context import DEFAULT_HORIZON, ProgressCallback
from townlet.core.training.dto import TrainingResult, _Frozen
from townlet.core.training.evaluate import evaluate
from townlet.core.training.orchestrator import RESULT_FILE, make_run_dir, resolve_strategy, train

__all__ = [
    "BAND_KPIS",
    "CURRICULA_GROUP",
    "CURRICULUM_FILE",
    "Curriculum",
    "CurriculumError",
    "CurriculumResult",
    "CurriculumStage",
    "KpiBand",
    "StageOutcome",
    "WindowOutcome",
    "check_stages",
    "curricula",
    "load_curriculum",
    "load_stages",
    "train_curriculum",
]

CURRICULA_GROUP: Final = "townlet.curricula"
"""Entry-point group naming the installed curricula."""

CURRICULUM_FILE: Final = "curriculum.yaml"
"""The curriculum walked, inside its run directory."""

BAND_KPIS: Final = ("mean_return", *EPISODE_KPIS)
"""What a stage's band may bound: the evaluation's mean return and its KPIs."""


class CurriculumError(TownletError):
    """An unknown curriculum, an invalid one, or stages a policy cannot carry across."""


class KpiBand(ConfigModel):
    """The range a KPI must lie in for a stage to pass (a missing bound is open)."""

    min: float | None = Field(None, description="Lowest passing value (null: no bound).")
    max: float | None = Field(None, description="Highest passing value (null: no bound).")

    @model_validator(mode="after")
    def _ordered(self) -> KpiBand:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def holds(self, value: float) -> bool:
        """Whether ``value`` lies in the band."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class CurriculumStage(ConfigModel):
    """One stage: the config trained on, the band that passes it, and its budget."""

    name: str = Field(min_length=1, description="Stage name, stamped on every epoch record.")
    config: str = Field(
        min_length=1,
        description="Config of the stage: scenario:NAME, builtin:NAME or a YAML path.",
    )
    overrides: tuple[str, ...] = Field(
        (), description="KEY.PATH=VALUE overrides applied to this stage only (after --set)."
    )
    bands: dict[str, KpiBand] = Field(
        default_factory=dict,
        description="KPI -> band that must hold after a window (mean_return or an evaluation "
        "KPI); empty: every window passes.",
    )
    budget: int = Field(10, ge=1, description="Windows at most before advancing anyway (≥ 1).")

    @field_validator("bands")
    @classmethod
    def _known_kpis(cls, bands: dict[str, KpiBand]) -> dict[str, KpiBand]:
        unknown = sorted(set(bands) - set(BAND_KPIS))
        if unknown:
            raise ValueError(f"unknown KPI {unknown} (known: {', '.join(BAND_KPIS)})")
        return bands


class Curriculum(ConfigModel):
    """A named sequence of stages and how windows are sized and evaluated."""

    name: str = Field(min_length=1, description="Curriculum name.")
    description: str = Field("", description="One line saying what it teaches.")
    window_epochs: int = Field(
        10, ge=1, description="Epochs per window (≥ 1); --epochs overrides it."
    )
    required_streak: int = Field(
        2, ge=1, description="Consecutive passing windows that advance a stage (≥ 1)."
    )
    eval_episodes: int = Field(4, ge=1, description="Evaluation episodes per window (≥ 1).")
    eval_ticks: int | None = Field(
        None, ge=1, description="Ticks per evaluation episode (null: one sim day)."
    )
    eval_seed: int = Field(
        10_000, ge=0, description="Seed of the first evaluation episode (the same every window)."
    )
    stages: tuple[CurriculumStage, ...] = Field(min_length=1, description="Stages in order.")

    @field_validator("stages")
    @classmethod
    def _unique_names(cls, stages: tuple[CurriculumStage, ...]) -> tuple[CurriculumStage, ...]:
        names = [s.name for s in stages]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"stage names must be unique (repeated: {', '.join(twice)})")
        return stages


class WindowOutcome(_Frozen):
    """One window of a stage: its training run and the evaluation after it."""

    window: int = Field(ge=1, description="1-based window index within the stage.")
    run_dir: Path = Field(description="The window's training run directory.")
    epochs: int = Field(ge=0, description="Epochs trained in the window.")
    checkpoint: Path = Field(description="The policy the window ended with.")
    kpis: dict[str, float] = Field(description="mean_return and the evaluation KPIs.")
    passed: bool = Field(description="Whether every band of the stage held.")


class StageOutcome(_Frozen):
    """How a stage ended: its windows and why it was left."""

    stage: str = Field(description="Stage name.")
    config_id: str = Field(description="config_id of the stage's config.")
    outcome: Literal["passed", "budget", "stopped"] = Field(
        description="passed: the band held for required_streak windows; budget: windows ran "
        "out; stopped: Ctrl-C."
    )
    windows: tuple[WindowOutcome, ...] = Field(description="Windows in order.")

    @property
    def kpis(self) -> dict[str, float]:
        """KPIs after the stage's last window."""
        return dict(self.windows[-1].kpis) if self.windows else {}


class CurriculumResult(_Frozen):
    """What a curriculum run produced; written as ``result.json`` in its run directory."""

    curriculum: str = Field(description="Curriculum name.")
    strategy: str = Field(description="Training strategy trained with.")
    seed: int = Field(description="Seed of the first window (window k trains with seed + k − 1).")
    run_dir: Path = Field(description="The curriculum's run directory.")
    stages: tuple[StageOutcome, ...] = Field(description="Stages walked, in order.")
    completed: bool = Field(description="Whether every stage was walked (none stopped early).")
    policy: str | None = Field(None, description="Policy plugin that loads the checkpoints.")
    checkpoint: Path | None = Field(None, description="The final policy.")
    seconds: float = Field(ge=0, description="Wall-clock duration in seconds.")


def curricula() -> dict[str, md.EntryPoint]:
    """The installed curricula by name (entry-point metadata only, nothing imported)."""
    return {ep.name: ep for ep in md.entry_points(group=CURRICULA_GROUP)}


def load_curriculum(name: str) -> Curriculum:
    """The installed curriculum ``name``, or the curriculum YAML file at that path.

    Raises :class:`CurriculumError` listing the installed curricula when
    neither exists, or stating what is wrong with an invalid one.
    """
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return _read_file(path)
    installed = curricula()
    if name not in installed:
        known = ", ".join(sorted(installed)) or "none (pip install townlet-scenarios)"
        raise CurriculumError(f"unknown curriculum {name!r} (installed: {known})")
    entry = installed[name]
    try:
        obj = entry.load()
        curriculum = obj() if callable(obj) else obj
    except Exception as exc:
        dist = entry.dist.name if entry.dist is not None else "?"
        raise CurriculumError(f"curriculum {name!r} of {dist} failed to load: {exc}") from exc
    if not isinstance(curriculum, Curriculum):
        raise CurriculumError(f"curriculum {name!r} ({entry.value}) is not a Curriculum")
    return curriculum


def _read_file(path: Path) -> Curriculum:
    return read_yaml_model(path, Curriculum, "curriculum", CurriculumError)


# -- walking a curriculum --------------------------------------------------------

WindowCallback = Callable[[CurriculumStage, WindowOutcome], None]
"""Receives each stage's windows as they are evaluated (the CLI prints a line)."""


def load_stages(
    curriculum: Curriculum, overrides: Sequence[str] = (), registry: Registry | None = None
) -> list[TownletConfig]:
    """Each stage's config with ``overrides`` (``KEY.PATH=VALUE``, as ``--set``),
    then the stage's own overrides, applied."""
    return [
        load_config(
            stage.config,
            overrides=[parse_override(o) for o in (*overrides, *stage.overrides)],
            registry=registry,
        ).config
        for stage in curriculum.stages
    ]


def check_stages(
    curriculum: Curriculum, configs: Sequence[TownletConfig], registry: Registry
) -> str:
    """The training strategy every stage uses; :class:`CurriculumError` unless all stages
    use the same strategy and observation spec (options are one fixed set), and the
    strategy can start from a checkpoint (``init_from``), as carrying the policy needs."""
    strategies = {resolve_strategy(c, registry) for c in configs}
    if len(strategies) > 1:
        raise CurriculumError(f"stages use different strategies: {', '.join(sorted(strategies))}")
    (strategy,) = strategies
    specs = [build_encoder(c, registry, {"horizon": DEFAULT_HORIZON}).spec for c in configs]
    for stage, spec in zip(curriculum.stages[1:], specs[1:], strict=True):
        if spec.hash != specs[0].hash:
            first = curriculum.stages[0]
            raise CurriculumError(
                f"stage {stage.name!r} has observation spec {spec.hash}, stage {first.name!r} "
                f"{specs[0].hash}: a policy cannot carry over between them (give every stage "
                "the same encoder and encoder params)"
            )
    if "init_from" not in registry.params_model("training_strategies", strategy).model_fields:
        raise CurriculumError(
            f"training strategy {strategy!r} has no init_from parameter: a curriculum carries "
            "the policy from window to window and stage to stage, so it needs one"
        )
    return strategy


def _checkpoint_param(registry: Registry, policy: str) -> str:
    """The parameter of Policy plugin ``policy`` that takes the checkpoint to act with:
    ``checkpoint``, else its one required path parameter."""
    fields = registry.params_model("policies", policy).model_fields
    if "checkpoint" in fields:
        return "checkpoint"
    paths = [n for n, f in fields.items() if f.is_required() and f.annotation is Path]
    if len(paths) != 1:
        raise CurriculumError(
            f"policy {policy!r} has no checkpoint parameter to evaluate a window's policy with"
        )
    return paths[0]


def _window_config(
    config: TownletConfig, epochs: int, seed_offset: int, init_from: Path | None
) -> TownletConfig:
    params: dict[str, Any] = dict(config.training.params)
    if init_from is not None:
        params["init_from"] = str(init_from)
    training = config.training.model_copy(
        update={"epochs": epochs, "total_steps": None, "params": params}
    )
    return config.model_copy(update={"training": training, "seed": config.seed + seed_offset})


def train_curriculum(
    curriculum: Curriculum,
    *,
    overrides: Sequence[str] = (),
    registry: Registry | None = None,
    runs_root: Path = Path("runs"),
    output: Path | None = None,
    window_epochs: int | None = None,
    on_progress: ProgressCallback | None = None,
    on_window: WindowCallback | None = None,
    stop: threading.Event | None = None,
) -> CurriculumResult:
    """Walk ``curriculum``: train each stage in windows, evaluate after each, advance.

    A window trains ``window_epochs`` (default: the curriculum's) epochs on the
    stage's config, starting from the previous window's checkpoint
    (``training.params.init_from``), in ``RUN/NN_STAGE/window_K/``; the policy
    is then evaluated on the stage's config. A stage passes when its bands hold
    for ``required_streak`` consecutive windows, and is left after ``budget``
    windows either way. The result is written to ``RUN/result.json``.
    """
    registry = registry or Registry()
    started = time.perf_counter()
    configs = load_stages(curriculum, overrides, registry)
    strategy = check_stages(curriculum, configs, registry)
    epochs = window_epochs or curriculum.window_epochs
    if output is not None:
        run_dir = output
        if (run_dir / CURRICULUM_FILE).exists():
            raise CurriculumError(f"{run_dir} holds a curriculum run already: choose another")
        run_dir.mkdir(parents=True, exist_ok=True)
    else:
        run_dir = make_run_dir(
            runs_root, f"curriculum-{curriculum.name}", strategy, configs[0].seed
        )
    (run_dir / CURRICULUM_FILE).write_text(
        yaml.safe_dump(curriculum.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
    )
    stop = stop or threading.Event()
    checkpoint: Path | None = None
    policy: str | None = None
    stages: list[StageOutcome] = []
    trained = 0  # windows trained so far: window k of the run trains with seed + k - 1
    for index, (stage, config) in enumerate(zip(curriculum.stages, configs, strict=True), 1):
        windows: list[WindowOutcome] = []
        outcome: Literal["passed", "budget", "stopped"] = "budget"
        streak = 0
        for window in range(1, stage.budget + 1):
            window_dir = run_dir / f"{index:02d}_{stage.name}" / f"window_{window}"
            result = train(
                _window_config(config, epochs, trained, checkpoint),
                registry=registry,
                output=window_dir,
                on_progress=on_progress,
                stop=stop,
                curriculum_stage=stage.name,
            )
            trained += 1
            if (
                not isinstance(result, TrainingResult)
                or not result.checkpoints
                or not result.policy
            ):
                raise CurriculumError(
                    f"training strategy {strategy!r} returned no checkpoint and policy to "
                    "carry to the next window"
                )
            checkpoint, policy = result.checkpoints[-1], result.policy
            report = evaluate(
                config,
                policy,
                {_checkpoint_param(registry, policy): str(checkpoint)},
                episodes=curriculum.eval_episodes,
                seed=curriculum.eval_seed,
                ticks=curriculum.eval_ticks,
                registry=registry,
            )
            kpis = {"mean_return": report.mean_return, **report.kpis}
            passed = all(band.holds(kpis[name]) for name, band in stage.bands.items())
            streak = streak + 1 if passed else 0
            windows.append(
                WindowOutcome(
                    window=window,
                    run_dir=window_dir,
                    epochs=result.epochs,
                    checkpoint=checkpoint,
                    kpis=kpis,
                    passed=passed,
                )
            )
            if on_window is not None:
                on_window(stage, windows[-1])
            if stop.is_set():
                outcome = "stopped"
                break
            if streak >= curriculum.required_streak:
                outcome = "passed"
                break
        stages.append(
            StageOutcome(
                stage=stage.name,
                config_id=config.config_id,
                outcome=outcome,
                windows=tuple(windows),
            )
        )
        if outcome == "stopped":
            break
    summary = CurriculumResult(
        curriculum=curriculum.name,
        strategy=strategy,
        seed=configs[0].seed,
        run_dir=run_dir,
        stages=tuple(stages),
        completed=len(stages) == len(curriculum.stages) and stages[-1].outcome != "stopped",
        policy=policy,
        checkpoint=checkpoint,
        seconds=time.perf_counter() - started,
    )
    (run_dir / RESULT_FILE).write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return summary
