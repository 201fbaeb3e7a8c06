"""``townlet run``: run a town headless and print its KPI summary."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from townlet.core.cli._run_guard import (
    SnapshotFailures,
    StopSignals,
    check_snapshot_dir,
    ticks_to_run,
)
from townlet.core.cli.config_cmds import check_config
from townlet.core.cli.options import config_options, load_from_options
from townlet.core.console.bus import ConsoleBus, health_lines
from townlet.core.console.server import ConsoleServer
from townlet.core.errors import ConfigError
from townlet.core.registry import Registry
from townlet.core.sim import RunSummary, Simulation
from townlet.core.stability import summary_line as stability_line

__all__ = ["run"]


@click.command()
@click.argument("config_path", metavar="[CONFIG]", required=False, type=click.Path(path_type=Path))
@click.option(
    "--ticks",
    type=click.IntRange(min=1),
    help="Ticks to run [default: the scenario's length, else 3 sim days].",
)
@click.option("--days", type=click.FloatRange(min=0, min_open=True), help="Sim days to run.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the config's seed.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--snapshot-every", type=click.IntRange(min=1), help="Snapshot every N ticks.")
@click.option(
    "--snapshot-dir",
    type=click.Path(path_type=Path),
    default=Path("snapshots"),
    show_default=True,
    help="Where --snapshot-every writes.",
)
@click.option("--resume", type=click.Path(path_type=Path), help="Continue from a snapshot file.")
@click.option("--migrate", is_flag=True, help="Accept a snapshot from another config_id.")
@click.option(
    "--console-port",
    type=click.IntRange(0, 65535),
    help="Serve the operator console on console.host:PORT (0: any free port).",
)
@click.option(
    "--observe",
    is_flag=True,
    help="Serve the live observer page (websocket sink) and pace ticks in real time "
    "(250 ms/tick at 1x; speed and pause from the page).",
)
@click.option(
    "--port",
    "observe_port",
    type=click.IntRange(0, 65535),
    help="With --observe: the observer's port on 127.0.0.1 [default: the sink's, 8765; 0: any].",
)
@config_options
def run(
    config_path: Path | None,
    ticks: int | None,
    days: float | None,
    seed: int | None,
    quiet: bool,
    as_json: bool,
    snapshot_every: int | None,
    snapshot_dir: Path,
    resume: Path | None,
    migrate: bool,
    console_port: int | None,
    observe: bool,
    observe_port: int | None,
    **options: Any,
) -> None:
    """Run CONFIG (default: the built-in town) and print a KPI summary.

    Ctrl-C or SIGTERM stops after the current tick; the summary is still
    printed, telemetry is closed, and the exit status is 130 (143 for SIGTERM).
    """
    if ticks is not None and days is not None:
        raise click.UsageError("give --ticks or --days, not both")
    registry = Registry()
    if seed is not None:
        options["set_"] = (*options.get("set_", ()), f"seed={seed}")
    loaded = load_from_options(config_path, options, registry)
    if problems := check_config(loaded, registry):  # what `townlet validate` refuses
        raise ConfigError("\n".join(problems))
    if observe_port is not None and not observe:
        raise click.UsageError("--port needs --observe")
    if snapshot_every:  # refused now, not after the simulation time is spent
        check_snapshot_dir(snapshot_dir)
    config = loaded.config
    live: Any = None
    if observe:  # the page and the websocket sink live in townlet-telemetry, loaded when asked
        try:
            live = importlib.import_module("townlet.telemetry.observer.live")
        except ImportError as exc:
            raise click.UsageError(
                f"--observe needs townlet-telemetry: pip install townlet-telemetry ({exc})"
            ) from exc
        config = live.observed_config(config, observe_port)
    wants_bus = console_port is not None or observe  # the page sends console requests too
    bus = (
        ConsoleBus.from_config(loaded.config.console, snapshot_dir=snapshot_dir)
        if wants_bus
        else None
    )
    sim = Simulation(config, registry, console=bus)
    observer: Any = None
    if live is not None:
        observer = live.LiveObserver(sim, bus, announce=lambda line: click.echo(line, err=True))
    server = None
    if bus is not None and console_port is not None:
        cfg = loaded.config.console
        server = ConsoleServer(
            bus,
            console_port,
            cfg.host,
            cfg.allow_remote,
            max_connections=cfg.max_connections,
            idle_timeout=cfg.idle_timeout,
        )
        server.start()
        click.echo(f"console listening on {server.endpoint}", err=True)
        for warning in server.warnings():
            click.echo(f"Warning: {warning}", err=True)
    for failure in sim.failures:
        click.echo(f"Warning: {failure}", err=True)
    if resume is not None:
        tick = sim.resume(resume, migrate=migrate)
        click.echo(f"resumed from {resume} at tick {tick}", err=True)
    if sim.world.timeline is not None:  # scripted commands are audited like an operator's
        sim.world.timeline.audit_log = loaded.config.console.audit_log
    per_day = sim.world.clock.ticks_per_day
    scenario_ticks = None
    if ticks is None and days is None and options.get("scenario"):
        scenario_ticks = registry.build("scenarios", options["scenario"]).ticks
    total = ticks_to_run(ticks, days, per_day, scenario_ticks)

    signals = StopSignals()
    snapshot_failures = SnapshotFailures(snapshot_dir)
    with signals:
        try:
            snaps: dict[str, Any] = {
                "snapshot_every": snapshot_every or 0,
                "snapshot_dir": snapshot_dir,
                "on_snapshot_error": snapshot_failures,
            }
            if observer is not None:  # real-time pacing: a progress bar would only flicker
                summary = sim.run(
                    total,
                    should_stop=signals,
                    on_tick=lambda t: observer.on_tick(t, signals),
                    **snaps,
                )
            elif quiet or as_json:
                summary = sim.run(total, should_stop=signals, **snaps)
            else:
                with click.progressbar(length=total, label="simulating", file=sys.stderr) as bar:
                    step = max(1, total // 200)
                    summary = sim.run(
                        total,
                        should_stop=signals,
                        on_tick=lambda t: bar.update(step) if t % step == 0 else None,
                        **snaps,
                    )
        finally:
            if server is not None:
                server.stop()
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        click.echo(format_summary(loaded.config.config_id, per_day, summary))
        if failed := snapshot_failures.summary_line():
            click.echo(f"  {failed}")
    if signals.exit_code:
        sys.exit(signals.exit_code)


def format_summary(config_id: str, ticks_per_day: int, s: RunSummary) -> str:
    """The human-readable KPI summary."""
    k = s.kpis
    lines = [
        f"{config_id}: {s.ticks} ticks ({s.ticks / ticks_per_day:.2f} sim days)"
        + (" — interrupted" if s.interrupted else ""),
        f"  speed             {s.ticks_per_second:,.0f} ticks/s",
        f"  population        {k['population']:.0f}",
        f"  self-sufficiency  {k['self_sufficiency']:.1%} of agent-ticks, all needs > threshold",
        f"  attendance        {k['attendance']:.1%}   lateness {k['lateness']:.1%} of shifts"
        f"   absences {k['absences']:.0f}",
        f"  meals eaten       {k['meals']:.0f}   showers {k['showers']:.0f}",
        f"  queues            mean wait {k['mean_queue_wait']:.1f} ticks"
        f"   ghost steps {k['ghost_steps']:.0f}   blocked moves {s.counts['blocked_moves']}",
        "  money flow        " + "   ".join(f"{cause} {v:+.2f}" for cause, v in s.money.items()),
    ]
    lines += [
        f"  social            ties formed {k['relationship_formation']:.0%} of citizens"
        f"   chats {k['chats']:.0f}   shared meals {k['shared_meals']:.0f}",
        f"  conflicts         {k['conflicts']:.0f} (intensity {k['conflict_intensity']:.1f},"
        f" escalation {k['escalation_rate']:.1%})   option switches {k['option_switch_rate']:.1f}"
        "/citizen/day",
        f"  lifecycle         exits {k['exits']:.0f}   arrivals {k['arrivals']:.0f}"
        f"   tenure {k['tenure_days']:.1f} days   perturbations {k['perturbations']:.0f}"
        f"   narrations {k['narrations']:.0f}",
    ]
    failed = {c.removeprefix("failed_"): n for c, n in s.counts.items() if c.startswith("failed_")}
    if failed:
        lines.append("  interrupted/failed " + "   ".join(f"{c} {n}" for c, n in failed.items()))
    if s.stability:
        lines.append(f"  stability         {stability_line(s.stability)}")
    if s.health:
        lines.append("  telemetry")
        lines.extend(f"    {line}" for line in s.health)
    if s.console:
        lines.append("  console")
        lines.extend(f"    {line}" for line in health_lines(s.console))
    return "\n".join(lines)
