"""The shared scalar bundle: needs, money, work, time, option, queue, hints, landmarks.

:func:`bundle_features` declares the features in order; :func:`fill_bundle`
computes them for every agent slot at once into a ``[N, F]`` array. Both are
driven by the same list of groups, so names and columns cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.observations._frame import Frame, squash
from townlet.core.observations.spec import Feature
from townlet.core.world.affordances import ITEMS, NEEDS
from townlet.core.world.options import OPTIONS
from townlet.core.world.queues import WORK
from townlet.core.world.state import MILLS, ShiftState
from townlet.core.world.weather import UTILITIES, WEATHERS

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


def _f(name: str, low: float, high: float, description: str) -> Feature:
    return Feature(name, low, high, description)


def bundle_features(personality: bool) -> list[Feature]:
    """The scalar bundle's features in column order."""
    out = [_f(f"need.{n}", 0, 1, f"{n.capitalize()} (1 = satisfied).") for n in NEEDS]
    out += [
        _f("money.wallet", -1, 1, "tanh(wallet / 10 money)."),
        _f("money.can_afford_meal", 0, 1, "1 if the wallet covers a café meal."),
        _f("money.rent_due", 0, 1, "tanh(unpaid rent / 5 money)."),
    ]
    out += [_f(f"item.{i}", 0, 1, f"Units of {i} held, min(n, 5) / 5.") for i in ITEMS]
    out += [
        _f("work.employed", 0, 1, "1 if the agent has a job."),
        _f("work.at_desk", 0, 1, "1 while working at its desk."),
        _f("work.lateness", 0, 1, "Late days / shift days so far."),
        _f("work.attendance", 0, 1, "Present ticks / scheduled ticks (1 before any shift)."),
    ]
    out += [_f(f"shift.{s}", 0, 1, f"Shift state is {s} (one-hot).") for s in ShiftState.NAMES]
    out += [
        _f("shift.until_start", 0, 1, "Time until the next shift start / one day (0 jobless)."),
        _f("shift.progress", 0, 1, "Share of today's shift elapsed (0 outside the shift)."),
        _f("time.sin", -1, 1, "sin(2π · time of day)."),
        _f("time.cos", -1, 1, "cos(2π · time of day)."),
    ]
    out += [_f(f"option.{o}", 0, 1, f"Current option is {o} (one-hot).") for o in OPTIONS]
    out += [_f(f"status.{s}", 0, 1, f"Current option is {s} (one-hot).") for s in _STATUS]
    out += [
        _f("last.success", 0, 1, "Whether the last affordance succeeded."),
        _f("last.duration", 0, 1, "Duration of the last completed affordance / 100 ticks."),
        _f("affordance.active", 0, 1, "1 while performing an affordance or working."),
        _f("affordance.progress", 0, 1, "Share of the current affordance done."),
        _f("queue.waiting", 0, 1, "1 while queued behind another agent's reservation."),
        _f("queue.reserved", 0, 1, "1 while holding the reservation of its target."),
        _f("queue.wait_age", 0, 1, "Ticks queued / 100, capped at 1."),
        _f("queue.blocked", 0, 1, "Failed moves in a row / ghost-step threshold."),
        _f("queue.rival_in_queue", 0, 1, "1 if a rival waits in the same queue (stage B+)."),
        _f("social.rivalry_max", 0, 1, "Strongest rivalry among its ties (stage B+)."),
        _f("social.avoid_count", 0, 1, f"Rivals within {NEAR} tiles / 6 (stage B+)."),
        _f("ctx_reset_flag", 0, 1, "1 on the tick after a spawn, teleport or possession."),
        _f("episode.progress", 0, 1, "Tick / horizon, capped at 1."),
    ]
    if personality:
        out += [
            _f(f"personality.{p}", -1, 1, f"{p.capitalize()} (fixed at spawn).")
            for p in ("extroversion", "forgiveness", "ambition")
        ]
    out += [
        _f(f"path.{d}", 0, 1, f"Next step toward the target is {d.upper()} (one-hot).")
        for d in _DIRS
    ]
    out += [_f(f"weather.{w}", 0, 1, f"Weather is {w} (one-hot).") for w in WEATHERS]
    out += [_f(f"utility.{u}", 0, 1, f"1 while {u} is on.") for u in UTILITIES]
    for lm in LANDMARKS:
        out += [
            _f(f"landmark.{lm}.dx", -1, 1, f"Unit bearing x to the {lm} (0 when none or on it)."),
            _f(f"landmark.{lm}.dy", -1, 1, f"Unit bearing y to the {lm} (0 when none or on it)."),
            _f(f"landmark.{lm}.dist", 0, 1, f"Path cost d to the {lm} as d/(d+20); 1 if none."),
        ]
    return out


def _clip(x: npt.ArrayLike, low: float, high: float) -> npt.NDArray[np.float64]:
    """Fast clip (``np.clip`` carries a large per-call overhead)."""
    out: npt.NDArray[np.float64] = np.minimum(np.maximum(x, low), high)
    return out


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


def fill_bundle(
    frame: Frame, out: npt.NDArray[np.float32], horizon: int, personality: bool
) -> None:
    """Write the bundle of every row into ``out`` (``[N, F]``)."""
    a = frame.a
    n = frame.n
    day = frame.day
    tod = frame.tod
    out[:] = 0.0
    c = 0

    out[:, c : c + 3] = _clip(a.needs, 0.0, 1.0)
    c += 3
    wallet = a.wallet
    out[:, c] = np.tanh(wallet * (0.1 / MILLS))
    out[:, c + 1] = wallet >= frame.meal_price
    out[:, c + 2] = np.tanh(np.maximum(a.rent_due, 0) * (0.2 / MILLS))
    c += 3
    out[:, c : c + 3] = _clip(a.inventory, 0, 5) * 0.2
    c += 3

    job_idx = a.job
    employed = job_idx >= 0
    job = np.maximum(job_idx, 0)
    aff = a.aff
    out[:, c] = employed
    out[:, c + 1] = aff == WORK
    out[:, c + 2] = _clip(a.late_days / np.maximum(a.shift_days, 1), 0.0, 1.0)
    sched = a.scheduled_ticks
    attendance = _clip(a.present_ticks / np.maximum(sched, 1), 0.0, 1.0)
    out[:, c + 3] = np.where(sched > 0, attendance, 1.0)
    c += 4
    hot: list[npt.NDArray[Any]] = [c + _clip(a.shift_state, 0, len(ShiftState.NAMES) - 1)]
    c += len(ShiftState.NAMES)
    start = frame.job_start[frame.town, job]
    end = frame.job_end[frame.town, job]
    out[:, c] = ((start - tod) % day) * (employed / day)
    inside = employed & (tod >= start) & (tod < end)
    out[:, c + 1] = _clip((tod - start) / np.maximum(end - start, 1), 0.0, 1.0) * inside
    phase = (2.0 * np.pi) * tod / day
    out[:, c + 2] = np.sin(phase)
    out[:, c + 3] = np.cos(phase)
    c += 4

    hot.append(c + _clip(a.option, 0, len(OPTIONS) - 1))
    c += len(OPTIONS)
    hot.append(c + _clip(frame.status, 0, len(_STATUS) - 1))
    c += len(_STATUS)
    out[:, c] = a.last_ok
    out[:, c + 1] = _clip(a.last_duration * 0.01, 0.0, 1.0)
    performing = aff >= 0
    out[:, c + 2] = performing | (aff == WORK)
    dur = frame.duration[frame.town, _clip(aff, 0, frame.duration.shape[1] - 1).astype(np.int64)]
    out[:, c + 3] = _clip(1.0 - a.aff_left / np.maximum(dur, 1), 0.0, 1.0) * performing
    c += 4

    rows = np.arange(n)
    q = a.queue_obj
    queued = q >= 0
    holder = frame.holder_row
    out[:, c] = queued & (holder[frame.town, np.maximum(q, 0)] != rows)
    out[:, c + 1] = frame.has_target & (holder[frame.town, frame.tgt] == rows)
    out[:, c + 2] = _clip((frame.tick - a.queue_since) * 0.01, 0.0, 1.0) * queued
    out[:, c + 3] = _clip(a.blocked / frame.ghost_after, 0.0, 1.0)
    c += 4
    _social_scalars(frame, out[:, c : c + 3], q, queued)
    c += 3
    out[:, c] = a.ctx_reset
    out[:, c + 1] = _clip(frame.tick / max(horizon, 1), 0.0, 1.0)
    c += 2
    if personality:
        out[:, c : c + 3] = _clip(a.personality, -1.0, 1.0)
        c += 3

    step = frame.cache.step[frame.town, frame.tgt, frame.y, frame.x]
    moving = np.flatnonzero(frame.has_target & (step >= 0))
    out[moving, c + step[moving]] = 1.0
    c += 4
    hot.append(c + frame.weather)
    c += 3
    out[:, c : c + 2] = frame.utility
    c += 2
    out[rows[:, None], np.stack(hot, axis=1).astype(np.int64)] = 1.0

    objs = _landmarks(frame)
    exists = objs >= 0
    safe = np.maximum(objs, 0)
    d = frame.cache.dist[frame.town[:, None], safe, frame.y[:, None], frame.x[:, None]]
    oxy = frame.worlds[0].town.object_xy[safe]
    dx = (oxy[:, :, 0] - frame.x[:, None]) * exists
    dy = (oxy[:, :, 1] - frame.y[:, None]) * exists
    inv = 1.0 / np.maximum(np.sqrt(dx * dx + dy * dy), 1e-9)
    k = len(LANDMARKS)
    out[:, c : c + 3 * k : 3] = dx * inv
    out[:, c + 1 : c + 3 * k : 3] = dy * inv
    out[:, c + 2 : c + 3 * k : 3] = np.where(exists, squash(d), 1.0)


def _social_scalars(
    frame: Frame,
    out: npt.NDArray[np.float32],
    q: npt.NDArray[np.integer[Any]],
    queued: npt.NDArray[np.bool_],
) -> None:
    """rival_in_queue, rivalry_max and avoid_count (zeros unless stage B or C)."""
    if not frame.social.any():
        return
    other, _, _, rivalry_all = frame.rows.relations()
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
