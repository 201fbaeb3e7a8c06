"""Promotion: a candidate policy replaces the pinned release only after it wins
two evaluation windows in a row; rollback pins the release before.

A policy is named by a *reference*: a Policy plugin name (``scripted``,
``random``) or the path of a checkpoint or training run directory, which
runs as the ``learned`` policy (:meth:`PolicyRef.parse`).

One **window** is a paired evaluation: candidate and release each run
``episodes`` fixed-seed episodes of the config through
:func:`~townlet.core.training.evaluate.evaluate`, meeting the same worlds.
Window ``k`` of a candidate uses seeds ``seed + (k − 1)·episodes`` onwards,
so every window sees new worlds and a rerun sees the same ones. The
candidate **passes** a window when

- the lower end of the 95% interval of its paired per-episode return gain
  over the release is above ``min_gain`` (it is better, not merely equal),
- and no KPI the two reports share with the stability monitor
  (:data:`~townlet.core.stability.BEHAVIOUR_KPIS`) is more than
  ``max_kpi_drop`` worse (:func:`~townlet.core.stability.compare`).

``required_streak`` (2) passing windows in a row on the same config
promote it; a failed window resets the streak, and so does a window of
another *setup* (:func:`window_setup`: the config, episodes, ticks or first
seed differ), which also starts the window count, and so the seeds, again.
Everything is appended to a JSON Lines history file, one
:class:`HistoryEntry` per line (``pin``, ``window``, ``promoted``,
``rollback``); the state (pinned release, the releases before
it, the streak) is read back from that file, so it is the one source of
truth. A last line cut short (a writer killed mid-line) never happened: it
is skipped when read and cut off before the next append. A writer holds an
exclusive lock on the file (POSIX ``flock``) from reading the state to its
last append, so a second ``townlet promote`` on the same history is refused
instead of judging the same window twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from townlet.core.config.models import TownletConfig
from townlet.core.config_base import ConfigModel
from townlet.core.errors import TownletError
from townlet.core.registry import Registry
from townlet.core.stability import BEHAVIOUR_KPIS, compare, worst_drop
from townlet.core.training.dto import EvaluationReport, PromotionDecision
from townlet.core.training.evaluate import evaluate, mean_ci95

if sys.platform != "win32":
    import fcntl

__all__ = [
    "DEFAULT_HISTORY",
    "HistoryEntry",
    "PolicyRef",
    "PromotionParams",
    "PromotionService",
    "PromotionStatus",
    "window_setup",
]

DEFAULT_HISTORY: Final = Path("promotion") / "history.jsonl"
"""Where ``townlet promote`` keeps its history unless told otherwise."""

Evaluator = Callable[..., EvaluationReport]
_TAIL: Final = 1 << 16  # bytes of the history's end searched for a cut-short last line


class PromotionParams(ConfigModel):
    """How a window is evaluated and judged."""

    episodes: int = Field(
        4,
        ge=2,
        description="Episodes per policy per window (≥ 2: one paired gain has no interval).",
    )
    ticks: int | None = Field(
        None, ge=1, description="Ticks per episode (≥ 1); default: one sim day."
    )
    seed: int = Field(1000, ge=0, description="Seed of the first episode of window 1 (≥ 0).")
    towns: int | None = Field(
        None, ge=1, description="Episodes run side by side (≥ 1); default: up to 8."
    )
    required_streak: int = Field(
        2, ge=1, description="Passing windows in a row that promote the candidate (≥ 1)."
    )
    min_gain: float = Field(
        0.0,
        description="The 95% interval of the return gain per agent-episode must lie above this.",
    )
    max_kpi_drop: float = Field(
        0.3, ge=0, description="Largest relative KPI drop versus the release that passes (≥ 0)."
    )


@dataclass(frozen=True)
class PolicyRef:
    """A policy to evaluate: a plugin name and its params, and how the user named it."""

    text: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> PolicyRef:
        """A plugin name, or a checkpoint / run directory path (run by ``learned``).

        A bare word is always a plugin name, even where a folder of that name exists
        (``scripted`` never means ``./scripted``); a path has a separator or ends in ``.pt``.
        """
        if not text.strip():
            raise TownletError("empty policy reference: give a policy name or a checkpoint path")
        path = Path(text)
        if path.suffix == ".pt" or "/" in text or "\\" in text:
            if not path.exists():
                raise TownletError(f"checkpoint {text!r} does not exist")
            resolved = str(path.resolve())
            return cls(resolved, "learned", {"checkpoint": resolved})
        return cls(text, text)


class HistoryEntry(BaseModel):
    """One line of the promotion history."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: Literal["pin", "window", "promoted", "rollback"] = Field(
        description="pin: a release set by hand; window: an evaluation window; promoted: the "
        "candidate became the release; rollback: the previous release was pinned again."
    )
    time: str = Field(description="UTC time of the entry, ISO 8601.")
    release: str = Field(description="The release pinned after this entry.")
    previous: str | None = Field(None, description="The release pinned before this entry.")
    candidate: str | None = Field(None, description="The candidate (window and promoted).")
    config_id: str | None = Field(None, description="config_id evaluated on (window).")
    setup: str | None = Field(
        None, description="window_setup of the window: windows of one setup make a streak."
    )
    seeds: list[int] | None = Field(None, description="Episode seeds of the window.")
    decision: PromotionDecision | None = Field(None, description="The window's verdict.")


@dataclass
class PromotionStatus:
    """The state read back from a history file."""

    release: str | None
    """The pinned release (None before any)."""
    earlier: list[str]
    """Releases a rollback would go back to, most recent last."""
    entries: list[HistoryEntry]
    """Every history entry, oldest first."""

    @property
    def last_decision(self) -> PromotionDecision | None:
        """The verdict of the most recent window."""
        for entry in reversed(self.entries):
            if entry.decision is not None:
                return entry.decision
        return None

    def streak(self, candidate: str, setup: str | None = None) -> tuple[int, int]:
        """``(windows, passes in a row)`` of ``candidate`` against the current
        release since the release last changed; with ``setup``
        (:func:`window_setup`), since its last window of another setup too."""
        windows = streak = 0
        for entry in self.entries:
            if entry.event != "window":
                windows = streak = 0
            elif entry.candidate == candidate and entry.decision is not None:
                if setup is not None and entry.setup != setup:
                    windows = streak = 0
                    continue
                windows += 1
                streak = streak + 1 if entry.decision.passed else 0
        return windows, streak


class PromotionService:
    """Runs promotion windows and keeps the history file ``history``.

    ``config`` is the configuration windows are evaluated on; reading the
    state, pinning and rolling back need none.
    """

    def __init__(
        self,
        config: TownletConfig | None,
        history: Path = DEFAULT_HISTORY,
        *,
        params: PromotionParams | None = None,
        registry: Registry | None = None,
        evaluator: Evaluator | None = None,
    ) -> None:
        self.config = config
        self.history = Path(history)
        self.params = params or PromotionParams()
        self.registry = registry or Registry()
        self._evaluate: Evaluator = evaluator or evaluate
        self._lock_depth = 0

    # -- state -----------------------------------------------------------------

    def status(self) -> PromotionStatus:
        """The state the history file holds (empty when it does not exist)."""
        entries = self._read()
        stack: list[str] = []
        for number, entry in enumerate(entries, 1):
            if entry.event == "rollback":
                if len(stack) < 2 or stack[-2] != entry.release:
                    raise TownletError(
                        f"{self.history}: entry {number} rolls back to {entry.release!r}, "
                        "which is not the release before the pinned one"
                    )
                stack.pop()
            elif not stack or stack[-1] != entry.release:
                stack.append(entry.release)
        return PromotionStatus(stack[-1] if stack else None, stack[:-1], entries)

    def pin(self, release: str) -> PromotionStatus:
        """Pin ``release`` (a policy reference) by hand."""
        ref = PolicyRef.parse(release)
        with self._locked():
            current = self.status().release
            if current != ref.text:
                self._append(
                    HistoryEntry(event="pin", time=_now(), release=ref.text, previous=current)
                )
            return self.status()

    def rollback(self) -> PromotionStatus:
        """Pin the release before the current one again; error when there is none."""
        with self._locked():
            state = self.status()
            if state.release is None or not state.earlier:
                raise TownletError(
                    f"nothing to roll back to in {self.history}: "
                    + (
                        "no release is pinned"
                        if state.release is None
                        else "only one release so far"
                    )
                )
            self._append(
                HistoryEntry(
                    event="rollback",
                    time=_now(),
                    release=state.earlier[-1],
                    previous=state.release,
                )
            )
            return self.status()

    # -- windows ---------------------------------------------------------------

    def evaluate(self, candidate: str, release: str | None = None) -> PromotionDecision:
        """Run the next window of ``candidate`` against ``release`` (pinned first
        when given) or the pinned release; promote on the required streak."""
        if self.config is None:
            raise TownletError("evaluating a promotion window needs a config")
        with self._locked():
            return self._evaluate_window(self.config, candidate, release)

    def _evaluate_window(
        self, config: TownletConfig, candidate: str, release: str | None
    ) -> PromotionDecision:
        if release is not None:
            self.pin(release)
        state = self.status()
        if state.release is None:
            raise TownletError(
                f"no release is pinned in {self.history}: pass --release R "
                "(e.g. --release scripted) the first time"
            )
        cand, rel = PolicyRef.parse(candidate), PolicyRef.parse(state.release)
        if cand.text == rel.text:
            raise TownletError(f"{cand.text!r} is already the pinned release")
        p = self.params
        setup = window_setup(config, p)
        windows, streak = state.streak(cand.text, setup)
        window = windows + 1
        seed = p.seed + windows * p.episodes
        run = {"episodes": p.episodes, "seed": seed, "towns": p.towns, "ticks": p.ticks}
        rel_report = self._evaluate(config, rel.name, rel.params, registry=self.registry, **run)
        cand_report = self._evaluate(config, cand.name, cand.params, registry=self.registry, **run)
        decision = self._judge(cand.text, rel.text, window, streak, cand_report, rel_report)
        self._append(
            HistoryEntry(
                event="window",
                time=_now(),
                release=rel.text,
                candidate=cand.text,
                config_id=config.config_id,
                setup=setup,
                seeds=list(cand_report.seeds),
                decision=decision,
            )
        )
        if decision.promote:
            self._append(
                HistoryEntry(
                    event="promoted",
                    time=_now(),
                    release=cand.text,
                    previous=rel.text,
                    candidate=cand.text,
                )
            )
        return decision

    def _judge(
        self,
        candidate: str,
        release: str,
        window: int,
        streak: int,
        cand: EvaluationReport,
        rel: EvaluationReport,
    ) -> PromotionDecision:
        p = self.params
        gains = [[c - r] for c, r in zip(cand.episode_returns, rel.episode_returns, strict=True)]
        gain, (low, high) = mean_ci95(gains)
        shared = [name for name in BEHAVIOUR_KPIS if name in cand.kpis and name in rel.kpis]
        drops = compare(cand.kpis, rel.kpis, shared)
        worst, drop = worst_drop(drops)
        better = low > p.min_gain
        kpis_ok = drop <= p.max_kpi_drop
        passed = better and kpis_ok
        streak = streak + 1 if passed else 0
        promoted = streak >= p.required_streak
        why_return = (
            f"return {gain:+.3f} per agent-episode vs the release "
            f"(95% CI [{low:+.3f}, {high:+.3f}]"
            + (f", must lie above {p.min_gain:+g})" if not better else ")")
        )
        if worst is None:
            why_kpi = "no KPI shared with the stability monitor to compare"
        elif drop <= 0:
            why_kpi = f"{', '.join(drops)} as good or better"
        else:
            why_kpi = f"worst KPI {worst} {drop:.0%} worse (limit {p.max_kpi_drop:.0%})"
        if passed:
            tail = (
                "promoted"
                if promoted
                else f"{streak} of {p.required_streak} passing windows in a row"
            )
            reason = f"passed: {why_return}, {why_kpi}; {tail}"
        else:
            reason = "failed: " + "; ".join(
                part for part, bad in ((why_return, not better), (why_kpi, not kpis_ok)) if bad
            )
        return PromotionDecision(
            candidate=candidate,
            release=release,
            window=window,
            passed=passed,
            pass_streak=streak,
            required_streak=p.required_streak,
            state="promoted" if promoted else "candidate",
            candidate_return=cand.mean_return,
            release_return=rel.mean_return,
            kpi_deltas={k: round(-v, 6) for k, v in drops.items()},
            reason=reason,
        )

    # -- the history file ------------------------------------------------------

    def _read(self) -> list[HistoryEntry]:
        if not self.history.exists():
            return []
        entries = []
        with self.history.open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    entries.append(HistoryEntry.model_validate_json(line))
                except ValidationError as exc:
                    if not line.endswith("\n"):  # cut short by a killed writer: never happened
                        break
                    first = exc.errors()[0]
                    where = ".".join(str(x) for x in first["loc"]) or "line"
                    raise TownletError(
                        f"{self.history}:{number}: not a promotion history entry: "
                        f"{where}: {first['msg']} (repair or delete that line)"
                    ) from exc
        return entries

    def _append(self, entry: HistoryEntry) -> None:
        self.history.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry.model_dump(mode="json", exclude_none=True)) + "\n"
        with self.history.open("a+b") as f:
            _end_last_line(f)
            f.write(line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the history's writer lock (re-entrant within this service)."""
        if self._lock_depth or sys.platform == "win32":
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        self.history.parent.mkdir(parents=True, exist_ok=True)
        with self.history.open("a", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TownletError(
                    f"{self.history} is in use by another townlet promote (it holds the "
                    "history's lock): wait for it to finish"
                ) from None
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _end_last_line(f: BinaryIO) -> None:
    """Make the history end with a newline before an append: a last entry written
    without one (by hand) gets it; a last line cut short (a writer killed
    mid-line) is cut off. ``f``: the history opened ``a+b``."""
    end = f.seek(0, os.SEEK_END)
    if end == 0:
        return
    start = max(0, end - _TAIL)
    f.seek(start)
    tail = f.read()
    if tail.endswith(b"\n"):
        return
    cut = tail.rfind(b"\n")
    if cut < 0 and start > 0:
        raise TownletError(f"{f.name}: its last line runs over {_TAIL} bytes without an end")
    try:
        HistoryEntry.model_validate_json(tail[cut + 1 :])
    except ValidationError:
        f.truncate(start + cut + 1)
    else:
        f.write(b"\n")


def window_setup(config: TownletConfig, params: PromotionParams) -> str:
    """16 hex digits naming what a window is evaluated on: the whole config and the
    episodes, ticks and first seed of ``params`` (a streak needs one setup)."""
    text = json.dumps(
        [config.model_dump(mode="json"), params.episodes, params.ticks, params.seed],
        sort_keys=True,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
