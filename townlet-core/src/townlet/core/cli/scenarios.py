"""``townlet scenarios list|show|check``: the installed scenario packs and their baselines.

The group lives in the core so that listing works (and says what to install)
without any scenario package, and so that every pack, first- or third-party,
is checked against its golden baseline the same way.
"""

from __future__ import annotations

import json
from typing import Any

import click

from townlet.core.errors import PluginError
from townlet.core.registry import PluginInfo, Registry
from townlet.core.scenario import ResolvedScenario, check_scenario, resolve_scenario
from townlet.core.scenario.baselines import load_baseline, update_baseline

__all__ = ["scenarios"]


@click.group()
def scenarios() -> None:
    """List, show and check scenario packs (``townlet.scenarios`` entry points)."""


def _features(s: ResolvedScenario) -> str:
    cfg = s.config
    f = cfg.features
    perturb = "on" if cfg.world.perturbations.enabled else "off"
    parts = [
        f.curriculum,
        f"relationships {f.stages.relationships}",
        f"social {f.stages.social_rewards}",
        f"lifecycle {'on' if f.lifecycle else 'off'}",
        f"perturbations {perturb}",
    ]
    if cfg.timeline:
        parts.append(f"timeline {len(cfg.timeline)}")
    return ", ".join(parts)


def _row(info: PluginInfo, s: ResolvedScenario) -> dict[str, Any]:
    return {
        "name": info.name,
        "description": s.description,
        "ticks": s.ticks,
        "agents": s.config.world.agents,
        "features": _features(s),
        "exercises": s.exercises,
        "provider": info.provider,
        "baseline": s.baseline_path is not None,
    }


@scenarios.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """Every installed scenario: what it shows, its length, agents and features."""
    registry = Registry()
    infos = [i for i in registry.infos("scenarios") if not i.disabled]
    rows = []
    for info in infos:
        try:
            rows.append(_row(info, resolve_scenario(info.name, registry=registry)))
        except PluginError as exc:
            rows.append({"name": info.name, "provider": info.provider, "error": str(exc)})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        hint = registry.dist_hint("townlet-scenarios", "Scenarios", plural=True)
        click.echo(f"No scenarios are available. {hint}")
        return
    for row in rows:
        if "error" in row:
            click.echo(f"{row['name']}  ({row['provider']})  error: {row['error']}")
            continue
        click.echo(f"{row['name']}  ({row['provider']})")
        click.echo(f"    {row['description']}")
        click.echo(f"    {row['ticks']} ticks, {row['agents']} agents; {row['features']}")
        click.echo(f"    exercises: {row['exercises']}")


@scenarios.command()
@click.argument("name")
def show(name: str) -> None:
    """One scenario: metadata, config files, timeline and golden figures."""
    registry = Registry()
    s = resolve_scenario(name, registry=registry)
    info = registry.find("scenarios", name)
    click.echo(f"{info.name}  ({info.provider})")
    click.echo(f"  {s.description}")
    click.echo(f"  exercises  {s.exercises}")
    click.echo(f"  ticks      {s.ticks}   agents {s.config.world.agents}   seed {s.config.seed}")
    click.echo(f"  features   {_features(s)}")
    click.echo("  config     " + " <- ".join(str(p) for p in reversed(s.loaded.files)))
    if s.config.timeline:
        click.echo("  timeline")
        for e in s.config.timeline:
            args = " ".join(f"{k}={v}" for k, v in e.args.items())
            click.echo(f"    {e.at:>6}  {e.command} {args}")
    path = s.baseline_path
    if path is None:
        click.echo("  baseline   none")
        return
    baseline = load_baseline(path)
    click.echo(f"  baseline   {path} (seed {baseline.seed}, {baseline.ticks} ticks)")
    for fig, band in sorted(baseline.figures.items()):
        click.echo(f"    {fig:<28} {band.value:>10g}  band {band.describe()}")


@scenarios.command()
@click.argument("names", nargs=-1)
@click.option("--update", is_flag=True, help="Rewrite the baseline values and print the diff.")
def check(names: tuple[str, ...], update: bool) -> None:
    """Run scenarios (default: all with a baseline) and check their golden figures.

    Exits 1 when a figure is outside its band.
    """
    registry = Registry()
    wanted = names or tuple(i.name for i in registry.infos("scenarios") if not i.disabled)
    failed = False
    checked = 0
    for name in wanted:
        s = resolve_scenario(name, registry=registry)
        path = s.baseline_path
        if path is None:
            if names:
                raise click.ClickException(f"scenario {name!r} has no golden baseline")
            continue
        report = check_scenario(s, registry=registry)
        checked += 1
        for line in report.lines():
            click.echo(line)
        if update:
            diff = update_baseline(report, path)
            click.echo(f"  updated {path}" + ("" if diff else " (no change)"))
            for line in diff:
                click.echo(f"    {line}")
        failed = failed or not report.passed
    if not checked:
        hint = registry.dist_hint(
            "townlet-scenarios", "Scenarios with golden baselines", plural=True
        )
        click.echo(f"No scenario with a golden baseline is available. {hint}")
    if failed and not update:
        raise SystemExit(1)
