"""``townlet telemetry summary``: per-epoch table, trends, anneal, promotion and stability."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from townlet.core.training.records import TRAINING_VERSIONS
from townlet.telemetry.logs import LogLine, training_record

__all__ = ["Summary", "Trend", "render", "summarize"]

Format = Literal["text", "markdown", "json"]

COLUMNS = (
    ("epoch", "epoch"),
    ("loss_total", "loss"),
    ("loss_policy", "policy"),
    ("loss_value", "value"),
    ("loss_entropy", "entropy"),
    ("approx_kl", "kl"),
    ("clip_fraction", "clip"),
    ("explained_variance", "ev"),
    ("grad_norm", "grad"),
    ("lr", "lr"),
    ("steps_per_sec", "sps"),
    ("queue_conflict_events", "q_events"),
    ("queue_conflict_intensity_sum", "q_intensity"),
    ("anneal_ratio", "anneal"),
    ("anneal_stage", "stage"),
)
"""Record field → column heading, in table order."""

TREND_FIELDS = tuple(f for f, _ in COLUMNS if f not in ("epoch", "lr", "anneal_stage"))


@dataclass(frozen=True, slots=True)
class Trend:
    """How one field moved over the epochs."""

    first: float
    last: float
    min: float
    max: float
    mean: float

    @property
    def change(self) -> float:
        """``last − first``."""
        return self.last - self.first

    @property
    def direction(self) -> str:
        """``up``, ``down`` or ``flat`` (within 1% of the larger magnitude)."""
        scale = max(abs(self.first), abs(self.last), 1e-12)
        if abs(self.change) <= 0.01 * scale:
            return "flat"
        return "up" if self.change > 0 else "down"


@dataclass
class Summary:
    """Everything ``summary`` reports about one log."""

    log: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    versions: Counter[str] = field(default_factory=Counter)
    trends: dict[str, Trend] = field(default_factory=dict)
    anneal: dict[str, Any] | None = None
    promotion: dict[str, Any] | None = None
    stability: dict[str, Any] | None = None
    """Stability windows: ``windows``, ``fired`` (windows per canary), ``first_fired``
    (tick each canary first fired at) and ``last`` (the last window's KPIs)."""
    dropped_messages: int | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-able form (the ``--format json`` output)."""
        return {
            "log": self.log,
            "epochs": len(self.rows),
            "versions": dict(sorted(self.versions.items())),
            "rows": [{k: _jsonable(v) for k, v in r.items()} for r in self.rows],
            "trends": {
                k: {**asdict(t), "change": t.change, "direction": t.direction}
                for k, t in self.trends.items()
            },
            "anneal": self.anneal,
            "promotion": self.promotion,
            "stability": self.stability,
            "dropped_messages": self.dropped_messages,
            "problems": [{"line": n, "message": m} for n, m in self.problems],
        }


def _jsonable(value: Any) -> Any:
    """NaN and infinities as strings: JSON has no such numbers."""
    return str(value) if isinstance(value, float) and not math.isfinite(value) else value


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def summarize(lines: Iterable[LogLine], log: str) -> Summary:
    """Read every line; skip (and list) malformed lines and unknown versions."""
    summary = Summary(log)
    rolled_back: list[int] = []
    for line in lines:
        if line.kind == "error" or line.obj is None:
            summary.problems.append((line.lineno, line.error or "unreadable"))
            continue
        if line.obj.get("payload_type") == "stability":
            summary.stability = _add_window(summary.stability, line.obj)
            continue
        if line.obj.get("payload_type") == "health":
            dropped = line.obj.get("dropped_messages")
            summary.dropped_messages = dropped if isinstance(dropped, int) else None
        record = training_record(line.obj)
        if record is None:
            continue
        version = record.get("telemetry_version")
        if version not in TRAINING_VERSIONS:
            summary.problems.append((line.lineno, f"unknown telemetry_version {version!r}"))
            continue
        summary.versions[str(version)] += 1
        summary.rows.append(
            {f: record[f] for f, _ in COLUMNS if f in record} | {"line": line.lineno}
        )
        if record.get("anneal_ratio") is not None or record.get("anneal_stage") is not None:
            summary.anneal = {
                "ratio": record.get("anneal_ratio"),
                "stage": record.get("anneal_stage"),
                "epoch": record.get("epoch"),
            }
        if record.get("anneal_rolled_back"):
            rolled_back.append(int(record.get("epoch", 0)))
        if (
            record.get("promotion_state") is not None
            or record.get("promotion_pass_streak") is not None
        ):
            summary.promotion = {
                "state": record.get("promotion_state"),
                "pass_streak": record.get("promotion_pass_streak"),
                "epoch": record.get("epoch"),
            }
    if summary.anneal is not None:
        summary.anneal["rolled_back_epochs"] = rolled_back
    for name in TREND_FIELDS:
        values = [float(r[name]) for r in summary.rows if _finite_number(r.get(name))]
        if values:
            summary.trends[name] = Trend(
                values[0], values[-1], min(values), max(values), sum(values) / len(values)
            )
    return summary


def _add_window(state: dict[str, Any] | None, payload: dict[str, Any]) -> dict[str, Any]:
    """Fold one ``stability`` payload into the summary's stability state."""
    state = state or {"windows": 0, "fired": {}, "first_fired": {}, "last": None}
    state["windows"] += 1
    state["last"] = payload.get("kpis")
    for canary in payload.get("canaries") or ():
        if isinstance(canary, dict) and canary.get("fired"):
            name = str(canary.get("name"))
            state["fired"][name] = state["fired"].get(name, 0) + 1
            state["first_fired"].setdefault(name, payload.get("tick"))
    return state


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(summary: Summary) -> tuple[list[str], list[list[str]]]:
    present = [(f, h) for f, h in COLUMNS if any(f in r for r in summary.rows)]
    rows = [[_cell(r.get(f)) for f, _ in present] for r in summary.rows]
    return [h for _, h in present], rows


def _state_lines(summary: Summary) -> list[str]:
    lines = []
    if summary.anneal is not None:
        a = summary.anneal
        ratio = "-" if a["ratio"] is None else f"{a['ratio']:.2f}"
        line = f"anneal: stage {a['stage'] or '-'}, scripted share {ratio} (epoch {a['epoch']})"
        if a["rolled_back_epochs"]:
            line += f"; rollback guard fired at epochs {a['rolled_back_epochs']}"
        lines.append(line)
    if summary.promotion is not None:
        p = summary.promotion
        lines.append(
            f"promotion: {p['state'] or '-'}, {p['pass_streak'] or 0} passing window(s) "
            f"in a row (epoch {p['epoch']})"
        )
    if summary.stability is not None:
        st = summary.stability
        fired = ", ".join(
            f"{name} in {n} window(s) (first at tick {st['first_fired'][name]})"
            for name, n in st["fired"].items()
        )
        lines.append(
            f"stability: {st['windows']} window(s); "
            + (f"canaries fired: {fired}" if fired else "no canary fired")
        )
    if summary.dropped_messages is not None:
        lines.append(f"telemetry: {summary.dropped_messages} message(s) dropped")
    return lines


def _render_text(summary: Summary) -> str:
    head, rows = _table(summary)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)] if rows else []
    out = [f"{summary.log}: {len(summary.rows)} epoch(s), versions {dict(summary.versions)}"]
    if rows:
        out.append("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
        out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    if summary.trends:
        out.append("trends (first -> last, min..max, mean):")
        for name, t in summary.trends.items():
            out.append(
                f"  {name}: {t.first:.4g} -> {t.last:.4g} ({t.direction}), "
                f"{t.min:.4g}..{t.max:.4g}, mean {t.mean:.4g}"
            )
    out += _state_lines(summary)
    out += [f"line {n}: {m}" for n, m in summary.problems]
    return "\n".join(out) + "\n"


def _render_markdown(summary: Summary) -> str:
    head, rows = _table(summary)
    out = [f"# Training summary: `{summary.log}`", ""]
    versions = ", ".join(f"{v} ×{n}" for v, n in sorted(summary.versions.items())) or "none"
    out += [f"{len(summary.rows)} epoch(s); telemetry versions: {versions}.", ""]
    if rows:
        out += ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        out.append("")
    if summary.trends:
        out += ["## Trends", "", "| metric | first | last | change | min | max | mean |"]
        out.append("|---|---:|---:|---|---:|---:|---:|")
        for name, t in summary.trends.items():
            out.append(
                f"| {name} | {t.first:.4g} | {t.last:.4g} | {t.direction} ({t.change:+.4g}) "
                f"| {t.min:.4g} | {t.max:.4g} | {t.mean:.4g} |"
            )
        out.append("")
    state = _state_lines(summary)
    if state:
        out += ["## State", "", *(f"- {s}" for s in state), ""]
    if summary.problems:
        out += ["## Problems", "", *(f"- line {n}: {m}" for n, m in summary.problems), ""]
    return "\n".join(out)


def render(summary: Summary, fmt: Format) -> str:
    """The summary as ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        return json.dumps(summary.to_json(), indent=2) + "\n"
    if fmt == "markdown":
        return _render_markdown(summary)
    return _render_text(summary)
