"""``townlet promote``: candidate vs release windows, the promotion history, rollback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from townlet.core.cli.options import load_from_options, scenario_option, set_option
from townlet.core.registry import Registry
from townlet.core.training.promotion import (
    DEFAULT_HISTORY,
    PromotionParams,
    PromotionService,
    PromotionStatus,
)

__all__ = ["promote"]

_history = click.option(
    "--history",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_HISTORY,
    show_default=True,
    help="The promotion history (JSON Lines); created on first use.",
)
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.group()
def promote() -> None:
    """Promote a candidate policy over the pinned release, or roll back.

    A policy is a Policy plugin name (scripted, random) or a checkpoint / run
    directory (run by the learned policy). A candidate is promoted after two
    evaluation windows in a row in which it beats the release.
    """


@promote.command("evaluate")
@click.argument("candidate")
@click.option("--release", metavar="R", help="Pin R as the release first (needed the first time).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Config to evaluate on [default: the built-in town].",
)
@scenario_option
@set_option
@click.option(
    "--episodes",
    type=click.IntRange(min=2),
    default=4,
    show_default=True,
    help="Episodes per policy per window.",
)
@click.option("--ticks", type=click.IntRange(min=1), help="Ticks per episode [default: 1 sim day].")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Seed of window 1's first episode; window k starts at SEED+(k-1)*EPISODES.",
)
@click.option("--towns", type=click.IntRange(min=1), help="Episodes run side by side.")
@click.option(
    "--min-gain",
    type=float,
    default=0.0,
    show_default=True,
    help="The 95% interval of the return gain must lie above this.",
)
@click.option(
    "--max-kpi-drop",
    type=click.FloatRange(min=0),
    default=0.3,
    show_default=True,
    help="Largest relative KPI drop vs the release that passes.",
)
@_history
@_json
def evaluate_cmd(
    candidate: str,
    release: str | None,
    config_path: Path | None,
    scenario: str | None,
    set_: tuple[str, ...],
    episodes: int,
    ticks: int | None,
    seed: int,
    towns: int | None,
    min_gain: float,
    max_kpi_drop: float,
    history: Path,
    as_json: bool,
) -> None:
    """Run the next evaluation window of CANDIDATE against the release."""
    registry = Registry()
    loaded = load_from_options(config_path, {"set_": set_, "scenario": scenario}, registry)
    params = PromotionParams(
        episodes=episodes,
        ticks=ticks,
        seed=seed,
        towns=towns,
        min_gain=min_gain,
        max_kpi_drop=max_kpi_drop,
    )
    service = PromotionService(loaded.config, history, params=params, registry=registry)
    decision = service.evaluate(candidate, release)
    if as_json:
        click.echo(decision.model_dump_json(indent=2))
        return
    verdict = "PROMOTED" if decision.promote else ("PASS" if decision.passed else "FAIL")
    click.echo(
        f"window {decision.window}: {decision.candidate} vs {decision.release}: {verdict}\n"
        f"  {decision.reason}\n"
        f"  return/agent-episode: candidate {decision.candidate_return:.3f}, "
        f"release {decision.release_return:.3f}"
    )
    click.echo(f"pinned release: {service.status().release}")


@promote.command("status")
@click.option(
    "--last", type=click.IntRange(min=0), default=10, show_default=True, help="History lines shown."
)
@_history
@_json
def status_cmd(last: int, history: Path, as_json: bool) -> None:
    """Show the pinned release, the history and why the last window passed or failed."""
    state = _service(history).status()
    if as_json:
        click.echo(json.dumps(_status_doc(state), indent=2))
        return
    click.echo(f"history: {history}")
    click.echo(f"pinned release: {state.release or '(none)'}")
    if state.earlier:
        click.echo("earlier releases: " + ", ".join(reversed(state.earlier)) + " (newest first)")
    shown = state.entries[-last:] if last else []
    if shown:
        click.echo(f"last {len(shown)} of {len(state.entries)} entries:")
    for entry in shown:
        d = entry.decision
        if d is not None:
            verdict = "PROMOTED" if d.promote else ("pass" if d.passed else "fail")
            what = f"window {d.window} {d.candidate} vs {d.release}: {verdict} ({d.pass_streak})"
        elif entry.event == "rollback":
            what = f"rollback {entry.previous} -> {entry.release}"
        elif entry.event == "promoted":
            what = f"promoted {entry.release} (was {entry.previous})"
        else:
            what = f"pin {entry.release}"
        click.echo(f"  {entry.time}  {what}")
    decision = state.last_decision
    if decision is not None:
        click.echo(f"last decision ({decision.candidate}, window {decision.window}):")
        click.echo(f"  {decision.reason}")


@promote.command("rollback")
@_history
def rollback_cmd(history: Path) -> None:
    """Pin the release before the current one again."""
    service = _service(history)
    before = service.status().release
    state = service.rollback()
    click.echo(f"rolled back: {before} -> {state.release}")


def _service(history: Path) -> PromotionService:
    return PromotionService(None, history)  # status and rollback build no world


def _status_doc(state: PromotionStatus) -> dict[str, Any]:
    last = state.last_decision
    return {
        "release": state.release,
        "earlier": state.earlier,
        "entries": [e.model_dump(mode="json", exclude_none=True) for e in state.entries],
        "last_decision": last.model_dump(mode="json") if last is not None else None,
    }
