"""``townlet run``: run a town headless and print its KPI summary."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import click

from townlet.core.cli.config_cmds import check_config
from townlet.core.cli.options import config_options, load_from_options
from townlet.core.console.bus import ConsoleBus
from townlet.core.console.server import ConsoleServer
from townlet.core.errors import ConfigError
from townlet.core.registry import Registry
from townlet.core.sim import RunSummary, Simulation

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
    **options: Any,
) -> None:
    """Run CONFIG (default: the built-in town) and print a KPI summary.

    Ctrl-C stops after the current tick; the summary is still printed.
    """
    registry = Registry()
    if seed is not None:
        options["set_"] = (*options.get("set_", ()), f"seed={seed}")
    loaded = load_from_options(config_path, options, registry)
    if problems := check_config(loaded, registry):  # what `townlet validate` refuses
        raise ConfigError("\n".join(problems))
    bus = ConsoleBus.from_config(loaded.config.console) if console_port is not None else None
    sim = Simulation(loaded.config, registry, console=bus)
    server = None
    if bus is not None and console_port is not None:
        cfg = loaded.config.console
        server = ConsoleServer(bus, console_port, cfg.host, cfg.allow_remote)
        server.start()
        host, port = server.address
        click.echo(f"console listening on {host}:{port}", err=True)
    for failure in sim.failures:
        click.echo(f"Warning: {failure}", err=True)
    if resume is not None:
        tick = sim.resume(resume, migrate=migrate)
        click.echo(f"resumed from {resume} at tick {tick}", err=True)
    if sim.world.timeline is not None:  # scripted commands are audited like an operator's
        sim.world.timeline.audit_log = loaded.config.console.audit_log
    per_day = sim.world.clock.ticks_per_day
    if ticks is None and days is None and options.get("scenario"):
        ticks = registry.build("scenarios", options["scenario"]).ticks
    total = ticks if ticks is not None else round((days if days is not None else 3) * per_day)

    stop = False

    def interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        snaps: dict[str, Any] = {
            "snapshot_every": snapshot_every or 0,
            "snapshot_dir": snapshot_dir,
        }
        if quiet or as_json:
            summary = sim.run(total, should_stop=lambda: stop, **snaps)
        else:
            with click.progressbar(length=total, label="simulating", file=sys.stderr) as bar:
                step = max(1, total // 200)
                summary = sim.run(
                    total,
                    should_stop=lambda: stop,
                    on_tick=lambda t: bar.update(step) if t % step == 0 else None,
                    **snaps,
                )
    finally:
        signal.signal(signal.SIGINT, previous)
        if server is not None:
            server.stop()
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        click.echo(format_summary(loaded.config.config_id, per_day, summary))


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
    if s.health:
        lines.append("  telemetry")
        lines.extend(f"    {line}" for line in s.health)
    return "\n".join(lines)
