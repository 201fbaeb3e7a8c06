"""The shared scalar bundle: needs, money, work, time, option, queue, hints, landmarks.

The bundle is one ordered list of *groups*. Each group declares its features
and the function that computes them, next to each other; :func:`bundle_features`
reads the features off the list and :func:`fill_bundle` gives each group's
function exactly its own columns, at offsets summed from the widths of the
groups before it. Adding, removing or reordering a feature therefore moves
its name and its column together.

A fill function writes its columns into ``out`` (``[N, width]``, zeroed), or,
for a one-hot group, returns the hot column of each row (-1: none, for a
group declared ``none=True``), so that all one-hots are set in one scatter.
Every feature is clipped to its declared bounds in one operation at the end,
so a fill function leaves values raw unless a clip must come before a later
step (a clip that is only to the feature's bounds is the final one's job).

With a town's few rows every array operation costs mostly its fixed
overhead, so the bundle is built in few of them: one scatter for the
one-hots, one clip for every column, and the landmark block as one gather
from a per-field table (:mod:`~townlet.core.observations._landmarks`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.observations._frame import Frame
from townlet.core.observations._landmarks import NEAREST, gather_landmarks
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
    onehot: bool
    """The fill function returns each row's hot column instead of writing."""
    none: bool
    """(one-hot) -1 means no hot column; otherwise the column is clipped into the group."""


@dataclass(frozen=True)
class _Layout:
    """How the groups of one bundle variant map onto its columns."""

    width: int
    plain: tuple[tuple[slice, _Fill], ...]
    """Columns and fill function of each group that writes its columns."""
    onehot: tuple[tuple[slice, _Fill], ...]
    """Columns and fill function of each one-hot group."""
    hot_start: npt.NDArray[np.int64]
    """``[H]`` first column of each one-hot group."""
    hot_low: npt.NDArray[np.int64]
    """``[H]`` lowest hot column within each one-hot group (-1 where none is allowed)."""
    hot_high: npt.NDArray[np.int64]
    low: npt.NDArray[np.float32]
    """``[F]`` declared lower bound of each feature."""
    high: npt.NDArray[np.float32]


_GROUPS: list[_Group] = []
"""Every group in column order (the order of the ``@_group`` definitions below)."""


def _group(
    features: Sequence[Feature],
    *,
    personality: bool = False,
    onehot: bool = False,
    none: bool = False,
) -> Callable[[_Fill], _Fill]:
    """Append the decorated fill function, with its features, to :data:`_GROUPS`."""

    def add(fill: _Fill) -> _Fill:
        _GROUPS.append(_Group(tuple(features), fill, personality, onehot, none))
        return fill

    return add


def _f(name: str, low: float, high: float, description: str) -> Feature:
    return Feature(name, low, high, description)


@cache
def _layout(personality: bool) -> _Layout:
    """The bundle's columns: each included group's and every feature's bounds."""
    plain: list[tuple[slice, _Fill]] = []
    onehot: list[tuple[slice, _Fill]] = []
    hot: list[tuple[int, int, int]] = []
    feats: list[Feature] = []
    for g in _GROUPS:
        if personality or not g.personality:
            c, k = len(feats), len(g.features)
            if g.onehot:
                onehot.append((slice(c, c + k), g.fill))
                hot.append((c, -1 if g.none else 0, k - 1))
            else:
                plain.append((slice(c, c + k), g.fill))
            feats += g.features
    start, hot_low, hot_high = np.array(hot, dtype=np.int64).reshape(-1, 3).T
    return _Layout(
        width=len(feats),
        plain=tuple(plain),
        onehot=tuple(onehot),
        hot_start=start.copy(),
        hot_low=hot_low.copy(),
        hot_high=hot_high.copy(),
        low=np.array([f.low for f in feats], dtype=np.float32),
        high=np.array([f.high for f in feats], dtype=np.float32),
    )


def bundle_features(personality: bool) -> list[Feature]:
    """The scalar bundle's features in column order."""
    return [f for g in _GROUPS if personality or not g.personality for f in g.features]


def fill_bundle(
    frame: Frame, out: npt.NDArray[np.float32], horizon: int, personality: bool
) -> None:
    """Write the bundle of every row into ``out`` (``[N, F]``)."""
    lay = _layout(personality)
    width = lay.width
    if out.shape[1] != width:
        raise ValueError(f"the scalar bundle has {width} columns, not {out.shape[1]}")
    # one spare column takes the one-hots of rows with no hot column
    buf = np.zeros((frame.n, width + 1), dtype=np.float32)
    for cols, fill in lay.plain:
        fill(frame, buf[:, cols], horizon)
    hot = np.empty((frame.n, len(lay.onehot)), dtype=np.int64)
    for k, (cols, fill) in enumerate(lay.onehot):
        col = fill(frame, buf[:, cols], horizon)
        assert col is not None  # one-hot groups return their hot column
        hot[:, k] = col
    hot = np.minimum(np.maximum(hot, lay.hot_low), lay.hot_high)
    buf[frame.arange[:, None], np.where(hot >= 0, hot + lay.hot_start, width)] = 1.0
    np.minimum(np.maximum(buf[:, :width], lay.low), lay.high, out=out)


# The groups, in column order.


@_group([_f(f"need.{n}", 0, 1, f"{n.capitalize()} (1 = satisfied).") for n in NEEDS])
def _needs(frame: Frame, out: _Out, horizon: int) -> None:
    out[:] = frame.a.needs


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
    out[:] = frame.a.inventory * 0.2  # 5 units and more: 1, by the bundle's clip


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
    out[:, 2] = a.late_days / np.maximum(a.shift_days, 1)
    sched = a.scheduled_ticks
    out[:, 3] = np.where(sched > 0, a.present_ticks / np.maximum(sched, 1), 1.0)


@_group(
    [_f(f"shift.{s}", 0, 1, f"Shift state is {s} (one-hot).") for s in SHIFT_STATES], onehot=True
)
def _shift_state(frame: Frame, out: _Out, horizon: int) -> npt.NDArray[Any]:
    return frame.a.shift_state


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
    employed = frame.a.job >= 0
    job = np.maximum(frame.a.job, 0)
    start = frame.of_town(frame.job_start, job)
    since = frame.tod - start  # negative before the shift starts
    length = frame.of_town(frame.job_end, job) - start
    out[:, 0] = (-since % day) * (employed / day)
    inside = employed & (since >= 0) & (since < length)
    out[:, 1] = np.where(inside, since / np.maximum(length, 1), 0.0)
    phase = (2.0 * np.pi) * frame.tod / day
    out[:, 2] = np.sin(phase)
    out[:, 3] = np.cos(phase)


@_group(
    [_f(f"option.{o}", 0, 1, f"Current option is {o} (one-hot).") for o in OPTIONS], onehot=True
)
def _option(frame: Frame, out: _Out, horizon: int) -> npt.NDArray[Any]:
    return frame.a.option


@_group(
    [_f(f"status.{s}", 0, 1, f"Current option is {s} (one-hot).") for s in _STATUS], onehot=True
)
def _status(frame: Frame, out: _Out, horizon: int) -> npt.NDArray[Any]:
    return frame.status


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
    out[:, 1] = a.last_duration * 0.01
    performing = aff >= 0
    out[:, 2] = performing | (aff == WORK)
    dur = frame.of_town(frame.duration, aff, clip=True)
    out[:, 3] = np.where(performing, 1.0 - a.aff_left / np.maximum(dur, 1), 0.0)


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
    q = a.queue_obj
    queued = q >= 0
    out[:, 0] = queued & (frame.of_town(frame.holder_row, np.maximum(q, 0)) != frame.arange)
    out[:, 1] = frame.holds_target
    out[:, 2] = np.where(queued, (frame.tick - a.queue_since) * 0.01, 0.0)
    out[:, 3] = a.blocked / frame.ghost_after


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
    out[:, 1] = rivalry.max(axis=1, initial=0.0)
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
    out[:, 1] = frame.tick / max(horizon, 1)


@_group(
    [_f(f"personality.{p}", -1, 1, f"{p.capitalize()} (fixed at spawn).") for p in TRAITS],
    personality=True,
)
def _personality(frame: Frame, out: _Out, horizon: int) -> None:
    out[:] = frame.a.personality


@_group(
    [
        _f(f"path.{d}", 0, 1, f"Next step toward the target is {d.upper()} (one-hot).")
        for d in _DIRS
    ],
    onehot=True,
    none=True,
)
def _path(frame: Frame, out: _Out, horizon: int) -> npt.NDArray[Any]:
    """One-hot where the agent has a reachable target, all zeros otherwise."""
    step = frame.cache.step[frame.town, frame.tgt, frame.y, frame.x]
    return np.where(frame.has_target, step, -1)


@_group([_f(f"weather.{w}", 0, 1, f"Weather is {w} (one-hot).") for w in WEATHERS], onehot=True)
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
    """Bearing and distance, three columns per landmark, looked up in the towns'
    landmark tables by plane (see :mod:`~townlet.core.observations._landmarks`)."""
    a = frame.a
    cache = frame.cache
    n_obj = cache.step.shape[1]
    planes = np.empty((frame.n, len(LANDMARKS)), dtype=np.int64)
    planes[:, 0] = a.bed
    planes[:, 1] = a.desk
    planes[:, 2] = n_obj + NEAREST.index("shower")
    cache.home_fridge.take(a.home, out=planes[:, 3], mode="clip")
    planes[:, 4] = n_obj + NEAREST.index("till")
    out[:] = gather_landmarks(cache.tables, frame.town, planes, frame.y, frame.x).reshape(
        frame.n, -1
    )
