"""``townlet telemetry ...``: log tools (registered under the ``townlet.cli`` entry points).

Exit status: 0 when all is well; 1 when a log is invalid (``validate``), a
threshold was breached (``watch``), a schema file drifted (``schemas
--check``) or a replayed sink lost messages; 2 for usage errors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from townlet.telemetry.logs import read_log
from townlet.telemetry.replay import replay_lines
from townlet.telemetry.schema import check_schemas, shipped_schema_dir, write_schemas
from townlet.telemetry.summary import Format, render, summarize
from townlet.telemetry.validate import validate_lines
from townlet.telemetry.watch import Thresholds, watch_lines

__all__ = ["telemetry"]

_LOG = click.argument(
    "log", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def telemetry() -> None:
    """Telemetry log tools: validate, watch, summarise, replay; payload schemas."""


@telemetry.command()
@_LOG
@click.option(
    "--shallow", is_flag=True, help="Skip validating the world each diff rebuilds (faster)."
)
@click.option(
    "--max-problems", default=50, show_default=True, type=click.IntRange(min=0),
    help="Print at most this many problems (all are counted).",
)  # fmt: skip
def validate(log: Path, shallow: bool, max_problems: int) -> None:
    """Check LOG: schemas and versions of every payload and training record (1.0/1.1/1.2),
    world-stream continuity. Malformed lines are reported with their line numbers."""
    report = validate_lines(read_log(log), deep=not shallow)
    for problem in report.problems[:max_problems]:
        click.echo(f"{log}:{problem.lineno}: {problem.message}")
    if len(report.problems) > max_problems:
        click.echo(f"... {len(report.problems) - max_problems} more problem(s)")
    click.echo(f"{log}: {report.summary()}")
    sys.exit(0 if report.ok else 1)


@telemetry.command()
@_LOG
@click.option("--follow", "-f", is_flag=True, help="Keep reading as the log grows.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line checked.")
@click.option("--kl-max", type=float, default=0.2, show_default=True, help="Max approx_kl.")
@click.option("--loss-max", type=float, help="Max loss_total.")
@click.option("--grad-norm-max", type=float, help="Max grad_norm.")
@click.option("--entropy-min", type=float, help="Min loss_entropy (policy collapse).")
@click.option("--clip-fraction-max", type=float, help="Max clip_fraction.")
@click.option("--queue-events-max", type=float, help="Max queue_conflict_events per epoch.")
@click.option("--queue-intensity-max", type=float, help="Max queue_conflict_intensity_sum.")
@click.option("--dropped-max", type=float, help="Max dropped_messages in health payloads.")
@click.option(
    "--canaries/--no-canaries", default=True, show_default=True,
    help="A stability canary that fired is a breach.",
)  # fmt: skip
@click.option("--fail-fast", is_flag=True, help="Stop at the first breach.")
@click.option(
    "--idle-timeout", type=click.FloatRange(min=0), help="With --follow: stop after this many "
    "seconds without a new line (default: run until interrupted).",
)  # fmt: skip
@click.option(
    "--poll", type=click.FloatRange(min=0.01), default=0.2, show_default=True,
    help="With --follow: seconds between checks for new lines.",
)  # fmt: skip
def watch(
    log: Path,
    follow: bool,
    as_json: bool,
    fail_fast: bool,
    idle_timeout: float | None,
    poll: float,
    canaries: bool,
    **limits: float | None,
) -> None:
    """Check every epoch of LOG (and its health reports and stability windows) against
    thresholds.

    Exits 1 if any value is beyond its threshold or not finite, or a stability
    canary fired (unless --no-canaries); malformed
    lines are reported with their line numbers and do not change the status.
    """
    thresholds = Thresholds(**limits, canaries=canaries)
    counts = {"training": 0, "health": 0, "error": 0, "breaches": 0}
    try:
        lines = read_log(log, follow=follow, poll_s=poll, idle_timeout_s=idle_timeout)
        for seen in watch_lines(lines, thresholds):
            counts[seen.kind] = counts.get(seen.kind, 0) + 1  # stability: only when seen
            counts["breaches"] += bool(seen.breaches)
            click.echo(json.dumps(seen.to_json()) if as_json else seen.text())
            if fail_fast and seen.breaches:
                break
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    except KeyboardInterrupt:
        pass
    windows = f"{counts['stability']} stability window(s), " if "stability" in counts else ""
    summary = (
        f"{counts['training']} epoch(s), {counts['health']} health report(s), {windows}"
        f"{counts['error']} malformed line(s), {counts['breaches']} with breaches"
    )
    click.echo(json.dumps({"summary": counts}) if as_json else summary)
    sys.exit(1 if counts["breaches"] else 0)


@telemetry.command()
@_LOG
@click.option(
    "--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
    show_default=True,
)  # fmt: skip
def summary(log: Path, fmt: Format) -> None:
    """Summarise the training records of LOG: per-epoch table, trends, anneal/promotion state."""
    click.echo(render(summarize(read_log(log), str(log)), fmt), nl=False)


def _param(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{text!r}: expected KEY=VALUE", param_hint="--param")
    return key.strip(), yaml.safe_load(raw) if raw.strip() else ""


@telemetry.command()
@_LOG
@click.option("--sink", metavar="NAME", help="Sink to stream into (by name).")
@click.option(
    "--param", "params", multiple=True, metavar="KEY=VALUE",
    help="A sink parameter (YAML value); repeatable, e.g. --param port=8765.",
)  # fmt: skip
@click.option(
    "--ticks-per-second", type=click.FloatRange(min=0), default=0.0, show_default=True,
    help="Pace by the recorded ticks (0: as fast as the sink takes it).",
)  # fmt: skip
@click.option(
    "--linger", type=click.FloatRange(min=0), default=0.0, show_default=True,
    help="Seconds to keep the sink open after the last message.",
)  # fmt: skip
@click.option(
    "--observe", is_flag=True,
    help="Open LOG in the observer page, with a scrubber (instead of --sink); Ctrl-C ends.",
)  # fmt: skip
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
    help="With --observe: the observer's port on 127.0.0.1 (0: any free port).",
)  # fmt: skip
@click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --observe: the run's config, for the town map [default: the built-in town].",
)  # fmt: skip
def replay(
    log: Path,
    sink: str | None,
    params: tuple[str, ...],
    ticks_per_second: float,
    linger: float,
    observe: bool,
    port: int,
    config_path: Path | None,
) -> None:
    """Re-stream recorded LOG into the sink NAME, e.g. a websocket server for a demo,
    or (--observe) open it in the observer page with a scrubber."""
    if observe:
        if sink is not None:
            raise click.UsageError("--observe serves its own websocket sink: leave out --sink")
        _observe_replay(log, port, config_path, dict(_param(p) for p in params))
        return
    if sink is None:
        raise click.UsageError("give --sink NAME (or --observe)")
    result = replay_lines(
        read_log(log),
        sink,
        dict(_param(p) for p in params),
        ticks_per_second=ticks_per_second,
        linger_s=linger,
    )
    for lineno, why in result.skipped:
        click.echo(f"{log}:{lineno}: skipped: {why}", err=True)
    click.echo(f"replayed {result.sent} message(s) from {log} into {sink}")
    for line in result.health.summary_lines():
        click.echo(f"  {line}")
    sys.exit(0 if result.health.ok else 1)


def _observe_replay(log: Path, port: int, config_path: Path | None, params: dict[str, Any]) -> None:
    import signal

    from townlet.core.config.loader import load_config
    from townlet.core.world.townmap import load_town
    from townlet.telemetry.observer.live import town_document
    from townlet.telemetry.observer.replay import RecordedStream, serve_replay
    from townlet.telemetry.sinks.websocket import WebsocketParams

    try:
        recorded = RecordedStream.read(read_log(log))
    except ValueError as exc:
        raise click.ClickException(f"{log}: {exc}") from exc
    for lineno, why in recorded.skipped:
        click.echo(f"{log}:{lineno}: skipped: {why}", err=True)
    town = town_document(load_town(load_config(config_path).config.world.town))
    try:
        sink_params = WebsocketParams.model_validate({"port": port, **params})
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--param") from exc
    stop = False

    def interrupt(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        serve_replay(
            recorded,
            sink_params,
            town=town,
            announce=lambda line: click.echo(line, err=True),
            stopping=lambda: stop,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    click.echo(f"replayed {log}: ticks {recorded.first_tick}..{recorded.last_tick}")


@telemetry.command()
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path),
    help="Write every schema file into this directory.",
)  # fmt: skip
@click.option(
    "--check", "check_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Exit 1 if this directory's schema files differ from the models.",
)  # fmt: skip
def schemas(out: Path | None, check_dir: Path | None) -> None:
    """Generate the JSON Schema of every payload and training-record version.

    Without options, list the schema files shipped with this package.
    """
    if out is not None:
        for path in write_schemas(out):
            click.echo(f"wrote {path}")
    if check_dir is not None:
        problems = check_schemas(check_dir)
        for problem in problems:
            click.echo(f"{check_dir}/{problem}")
        if problems:
            click.echo("regenerate with: townlet telemetry schemas --out DIR")
            sys.exit(1)
        click.echo(f"{check_dir}: schemas up to date")
    if out is None and check_dir is None:
        for path in sorted(shipped_schema_dir().glob("*.schema.json")):
            click.echo(str(path))
