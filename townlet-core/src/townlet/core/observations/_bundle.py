"""The shared scalar bundle: needs, money, work, time, option, queue, hints, landmarks.

The bundle is one ordered list of *groups*. Each group declares its features
and the function that computes them, next to each other; :func:`bundle_features`
reads the features off the list and :func:`fill_bundle` gives each group's
function exactly its own columns, at offsets summed from the widths of the
groups before it. Adding, removing or reordering a feature therefore moves
its name and its column together.

A fill function writes its columns into ``out`` (``[N, width]``, zeroed), or,
for a one-hot group, returns the hot column of each row, so that all one-hots
are set in one scatter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.observations._frame import Frame, squash
from townlet.core.observations.spec import Feature
from townlet.core.ports import (
    ITEMS,
    MILLS,
    NEEDS,
    OPTIONS,
    SHIFT_STATES,
    TRAITS,
    UTILITIES,
    WEATHERS,
    WORK,
)

__all__ = ["LANDMARKS", "bundle_features", "fill_bundle"]

LANDMARKS: Final = ("home", "workplace", "shower", "fridge", "till")
"""Landmarks with a bearing and distance: own bed, own desk, nearest shower,
own home's fridge, nearest till."""
RIVAL: Final = 0.3
"""Rivalry at or above which a tie counts as a rival."""
NEAR: Final = 5
"""Chebyshev radius (tiles) of 'near'."""
_STATUS: Final = ("active", "done", "failed")
_DIRS: Final = ("n", "e", "s", "w")

_Out = npt.NDArray[np.float32]
_Fill = Callable[[Frame, _Out, int], npt.NDArray[Any] | None]
"""``fill(frame, out, horizon)``: write the group's columns, or return its hot column."""


@dataclass(frozen=True)
class _Group:
    """Consecutive bundle columns: their features and the function that fills them."""

    features: tuple[Feature, ...]
    fill: _Fill
    personality: bool
    """Present only when the encoder shows personality."""


_GROUPS: list[_Group] = []
"""Every group in column order (the order of the ``@_group`` definitions below)."""


def _group(features: Sequence[Feature], *, personality: bool = False) -> Callable[[_Fill], _Fill]:
    """Append the decorated fill function, with its features, to :data:`_GROUPS`."""

    def add(fill: _Fill) -> _Fill:
        _GROUPS.append(_Group(tuple(features), fill, personality))
        return fill

    return add


def _f(name: str, low: float, high: float, description: str) -> Feature:
    return Feature(name, low, high, description)


def _clip(x: npt.ArrayLike, low: float, high: float) -> npt.NDArray[np.float64]:
    """Fast clip (``np.clip`` carries a large per-call overhead)."""
    out: npt.NDArray[np.float64] = np.minimum(np.maximum(x, low), high)
    return out


@cache
def _layout(personality: bool) -> tuple[int, tuple[tuple[slice, _Fill], ...]]:
    """The bundle's width and each included group's columns and fill function."""
    layout = []
    c = 0
    for g in _GROUPS:
        if personality or not g.personality:
            layout.append((slice(c, c + len(g.features)), g.fill))
            c += len(g.features)
    return c, tuple(layout)


def bundle_features(personality: bool) -> list[Feature]:
    """The scalar bundle's features in column order."""
    return [f for g in _GROUPS if personality or not g.personality for f in g.features]


def fill_bundle(
    frame: Frame, out: npt.NDArray[np.float32], horizon: int, personality: bool
) -> None:
    """Write the bundle of every row into ``out`` (``[N, F]``)."""
    width, layout = _layout(personality)
    if out.shape[1] != width:
        raise ValueError(f"the scalar bundle has {width} columns, not {out.shape[1]}")
    out[:] = 0.0
    hot: list[npt.NDArray[np.int64]] = []
    for cols, fill in layout:
        col = fill(frame, out[:, cols], horizon)
        if col is not None:
            hot.append(np.add(col, cols.start, dtype=np.int64))
    out[np.arange(frame.n)[:, None], np.stack(hot, axis=1)] = 1.0


# The groups, in column order.


@_group([_f(f"need.{n}", 0, 1, f"{n.capitalize()} (1 = satisfied).") for n in NEEDS])
def _needs(frame: Frame, out: _Out, horizon: int) -> None:
    out[:] = _clip(frame.a.needs, 0.0, 1.0)


@_group(
    [
        _f("money.wallet", -1, 1, "tanh(wallet / 10 money)."),
        _f("money.can_afford_meal", 0, 1, "1 if the wallet covers a café meal."),
        _f("money.rent_due", 0, 1, "tanh(unpaid rent / 5 money)."),
    ]
)
def _money(frame: Frame, out: _Out, horizon: int) -> None:
    a = frame.a
    wallet = a.wallet
    out[:, 0] = np.tanh(wallet * (0.1 / MILLS))
    out[:, 1] = wallet >= frame.meal_price
    out[:, 2] = np.tanh(np.maximum(a.rent_due, 0) * (0.2 / MILLS))


@_group([_f(f"item.{i}", 0, 1, f"Units of {i} held, min(n, 5) / 5.") for i in ITEMS])
def _items(frame: Frame, out: _Out, horizon: int) -> None:
    out[:] = _clip(frame.a.inventory, 0, 5) * 0.2


@_group(
    [
        _f("work.employed", 0, 1, "1 if the agent has a job."),
        _f("work.at_desk", 0, 1, "1 while working at its desk."),
        _f("work.lateness", 0, 1, "Late days / shift days so far."),
        _f("work.attendance", 0, 1, "Present ticks / scheduled ticks (1 before any shift)."),
    ]
)
def _work(frame: Frame, out: _Out, horizon: int) -> None:
    a = frame.a
    out[:, 0] = a.job >= 0
    out[:, 1] = a.aff == WORK
    out[:, 2] = _clip(a.late_days / np.maximum(a.shift_days, 1), 0.0, 1.0)
    sched = a.scheduled_ticks
    attendance = _clip(a.present_ticks / np.maximum(sched, 1), 0.0, 1.0)
    out[:, 3] = np.where(sched > 0, attendance, 1.0)


@_group([_f(f"shift.{s}", 0, 1, f"Shift state is {s} (one-hot).") for s in SHIFT_STATES])
def _shift_state(frame: Frame, out: _Out, horizon: int) -> npt.NDArray[Any]:
    return _clip(frame.a.shift_state, 0, len(SHIFT_STATES) - 1)


@_group(
    [
        _f("shift.until_start", 0, 1, "Time until the next shift start / one day (0 jobless)."),
        _f("shift.progress", 0, 1, "Share of today's shift elapsed (0 outside the shift)."),
        _f("time.sin", -1, 1, "sin(2π · time of day)."),
        _f("time.cos", -1, 1, "cos(2π · time of day)."),
    ]
)
def _shift_time(frame: Frame, out: _Out, horizon: int) -> None:
    day = frame.day
    tod = frame.tod
    employed = frame.a.job >= 0
    job = np.maximum(frame.a.job, 0)
    start = frame.job_start[frame.town, job]
    end = frame.job_end[frame.town, job]
    out[:, 0] = ((start - tod) % day) * (employed / day)
    inside = employed & (tod >= start) & (tod < end)
    out[:, 1] = _clip((tod - start) / np.maximum(end - start, 1), 0.0, 1.0) * inside
    phase = (2.0 * np.pi) * tod / day
    out[:, 2] = np.sin(phase)
    out[:, 3] = np.cos(phase)


@_group([_f(f"option.{o}", 0, 1, f"Current option is {o} (one-hot).") for o in OPTIONS])
def _option(frame: Frame, out: _Out, horizon: int) -> npt.NDArray[Any]:
    return _clip(frame.a.option, 0, len(OPTIONS) - 1)


@_group([_f(f"status.{s}", 0, 1, f"Current option is {s} (one-hot).") for s in _STATUS])
def _status(frame: Frame, out: _Out, horizon: int) -> npt.NDArray[Any]:
    return _clip(frame.status, 0, len(_STATUS) - 1)


@_group(
    [
        _f("last.success", 0, 1, "Whether the last affordance succeeded."),
        _f("last.duration", 0, 1, "Duration of the last completed affordance / 100 ticks."),
        _f("affordance.active", 0, 1, "1 while performing an affordance or working."),
        _f("affordance.progress", 0, 1, "Share of the current affordance done."),
    ]
)
def _affordance(frame: Frame, out: _Out, horizon: int) -> None:
    a = frame.a
    aff = a.aff
    out[:, 0] = a.last_ok
    out[:, 1] = _clip(a.last_duration * 0.01, 0.0, 1.0)
    performing = aff >= 0
    out[:, 2] = performing | (aff == WORK)
    dur = frame.duration[frame.town, _clip(aff, 0, frame.duration.shape[1] - 1).astype(np.int64)]
    out[:, 3] = _clip(1.0 - a.aff_left / np.maximum(dur, 1), 0.0, 1.0) * performing


@_group(
    [
        _f("queue.waiting", 0, 1, "1 while queued behind another agent's reservation."),
        _f("queue.reserved", 0, 1, "1 while holding the reservation of its target."),
        _f("queue.wait_age", 0, 1, "Ticks queued / 100, capped at 1."),
        _f("queue.blocked", 0, 1, "Failed moves in a row / ghost-step threshold."),
    ]
)
def _queue(frame: Frame, out: _Out, horizon: int) -> None:
    a = frame.a
    rows = np.arange(frame.n)
    q = a.queue_obj
    queued = q >= 0
    holder = frame.holder_row
    out[:, 0] = queued & (holder[frame.town, np.maximum(q, 0)] != rows)
    out[:, 1] = frame.has_target & (holder[frame.town, frame.tgt] == rows)
    out[:, 2] = _clip((frame.tick - a.queue_since) * 0.01, 0.0, 1.0) * queued
    out[:, 3] = _clip(a.blocked / frame.ghost_after, 0.0, 1.0)


@_group(
    [
        _f("queue.rival_in_queue", 0, 1, "1 if a rival waits in the same queue (stage B+)."),
        _f("social.rivalry_max", 0, 1, "Strongest rivalry among its ties (stage B+)."),
        _f("social.avoid_count", 0, 1, f"Rivals within {NEAR} tiles / 6 (stage B+)."),
    ]
)
def _social(frame: Frame, out: _Out, horizon: int) -> None:
    """Zeros unless relationships are visible (stage B or C)."""
    if not frame.social.any():
        return
    q = frame.a.queue_obj
    queued = q >= 0
    other, _, _, rivalry_all = frame.ties()
    o = np.maximum(other, 0)
    valid = (other >= 0) & frame.alive[o] & frame.social[:, None]
    rivalry = np.where(valid, rivalry_all, 0.0)
    rival = valid & (rivalry >= RIVAL)
    same_queue = queued[:, None] & (q[o] == q[:, None])
    out[:, 0] = (rival & same_queue).any(axis=1)
    out[:, 1] = _clip(rivalry.max(axis=1, initial=0.0), 0.0, 1.0)
    near = (np.abs(frame.x[o] - frame.x[:, None]) <= NEAR) & (
        np.abs(frame.y[o] - frame.y[:, None]) <= NEAR
    )
    out[:, 2] = (rival & near).sum(axis=1) / 6.0


@_group(
    [
        _f("ctx_reset_flag", 0, 1, "1 on the tick after a spawn, teleport or possession."),
        _f("episode.progress", 0, 1, "Tick / horizon, capped at 1."),
    ]
)
def _episode(frame: Frame, out: _Out, horizon: int) -> None:
    out[:, 0] = frame.a.ctx_reset
    out[:, 1] = _clip(frame.tick / max(horizon, 1), 0.0, 1.0)


@_group(
    [_f(f"personality.{p}", -1, 1, f"{p.capitalize()} (fixed at spawn).") for p in TRAITS],
    personality=True,
)
def _personality(frame: Frame, out: _Out, horizon: int) -> None:
    out[:] = _clip(frame.a.personality, -1.0, 1.0)


@_group(
    [_f(f"path.{d}", 0, 1, f"Next step toward the target is {d.upper()} (one-hot).") for d in _DIRS]
)
def _path(frame: Frame, out: _Out, horizon: int) -> None:
    """One-hot where the agent has a reachable target, all zeros otherwise."""
    step = frame.cache.step[frame.town, frame.tgt, frame.y, frame.x]
    moving = np.flatnonzero(frame.has_target & (step >= 0))
    out[moving, step[moving]] = 1.0


@_group([_f(f"weather.{w}", 0, 1, f"Weather is {w} (one-hot).") for w in WEATHERS])
def _weather(frame: Frame, out: _Out, horizon: int) -> npt.NDArray[Any]:
    return frame.weather


@_group([_f(f"utility.{u}", 0, 1, f"1 while {u} is on.") for u in UTILITIES])
def _utility(frame: Frame, out: _Out, horizon: int) -> None:
    out[:] = frame.utility


def _landmark_features() -> list[Feature]:
    out = []
    for lm in LANDMARKS:
        out += [
            _f(f"landmark.{lm}.dx", -1, 1, f"Unit bearing x to the {lm} (0 when none or on it)."),
            _f(f"landmark.{lm}.dy", -1, 1, f"Unit bearing y to the {lm} (0 when none or on it)."),
            _f(f"landmark.{lm}.dist", 0, 1, f"Path cost d to the {lm} as d/(d+20); 1 if none."),
        ]
    return out


@_group(_landmark_features())
def _landmark(frame: Frame, out: _Out, horizon: int) -> None:
    """Bearing and distance, three columns per landmark."""
    objs = _landmarks(frame)
    exists = objs >= 0
    safe = np.maximum(objs, 0)
    d = frame.cache.dist[frame.town[:, None], safe, frame.y[:, None], frame.x[:, None]]
    oxy = frame.worlds[0].town.object_xy[safe]
    dx = (oxy[:, :, 0] - frame.x[:, None]) * exists
    dy = (oxy[:, :, 1] - frame.y[:, None]) * exists
    inv = 1.0 / np.maximum(np.sqrt(dx * dx + dy * dy), 1e-9)
    out[:, 0::3] = dx * inv
    out[:, 1::3] = dy * inv
    out[:, 2::3] = np.where(exists, squash(d), 1.0)


def _landmarks(frame: Frame) -> npt.NDArray[np.int64]:
    """``[N, 5]`` object index of each landmark per row, or -1."""
    a = frame.a
    cache = frame.cache
    dist = cache.dist
    objs = np.empty((frame.n, len(LANDMARKS)), dtype=np.int64)
    objs[:, 0] = a.bed
    objs[:, 1] = a.desk
    for col, cands in ((2, cache.showers), (4, cache.tills)):
        if cands.size:
            d = dist[frame.town, cands[:, None], frame.y, frame.x]
            objs[:, col] = cands[np.argmin(d, axis=0)]
        else:
            objs[:, col] = -1
    fridges = cache.home_fridge
    objs[:, 3] = fridges[_clip(a.home, 0, fridges.size - 1).astype(np.int64)]
    return objs
