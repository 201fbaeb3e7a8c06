"""Stability monitor: per-window KPIs of a town, canaries, and KPI comparison (torch-free).

A :class:`StabilityMonitor` watches one town. Call ``observe(world, events)``
after every step (``events``: that tick's events, default ``world.events``);
it returns a :class:`WindowReport` when the tick ends a window (one sim day,
1,000 ticks by default; ``StabilityParams(window_ticks=N)`` changes it), else
None. ``close_window()`` ends the open window early and returns its report
(e.g. at the end of a training epoch). ``monitor.reports`` keeps every
window; ``monitor.fired`` counts the windows each canary fired in::

    from townlet.core.stability import StabilityMonitor, compare

    monitor = StabilityMonitor(baseline=scripted_kpis)   # or None: window 1 is the baseline
    for _ in range(ticks):
        world.step(policy.act(world))
        report = monitor.observe(world)
        if report is not None and report.fired:
            print(report.window, report.fired)
    drops = compare(report.kpis, scripted_kpis)       # {"lateness": 0.4, ...}: 40% worse
    if max(drops.values()) > 0.3: ...                 # the anneal's rollback guard

A :class:`WindowReport` holds ``window`` (1-based), ``tick``,
``window_ticks``, ``kpis`` (the eight of :data:`KPI_NAMES`), ``baseline``
(None until there is one) and ``canaries`` (:class:`Canary`: ``name``,
``fired``, ``value``, ``threshold``, ``message``); ``payload()`` is the
body of the ``stability`` telemetry payload.

KPIs of a window (directions in :data:`HIGHER_IS_BETTER`):

- ``self_sufficiency``: share of agent-ticks with every need above the
  threshold (the run summary's self-sufficiency, over the window);
- ``job_tenure``: mean sim days in town of the current citizens;
- ``relationship_formation``: share of citizens with a tie above 0.3;
- ``conflict_escalation``: arguments per conflict in the window;
- ``lateness``: late arrivals per shift started in the window;
- ``starvation_incidents``: citizens whose hunger fell past the near-death
  line (``world.lifecycle.near_death_deficit``) in the window;
- ``option_switch_rate``: option switches per citizen per sim day;
- ``throughput``: ticks per wall-clock second (machine-dependent, so left
  out of :func:`compare` by default).

:func:`compare` ``(kpis, baseline) -> {name: drop}`` gives each behaviour
KPI's relative drop versus a baseline, positive = worse (0.3 = 30% worse).
Canaries (:mod:`townlet.core.stability.canaries`): lateness above 2× the
baseline, starvation incidents above ``starvation_max``, option-switch rate
more than 25% above the baseline for two windows in a row.
"""

from townlet.core.stability.canaries import Canary, StabilityParams
from townlet.core.stability.kpis import (
    BEHAVIOUR_KPIS,
    HIGHER_IS_BETTER,
    KPI_NAMES,
    compare,
    mean_kpis,
    worst_drop,
)
from townlet.core.stability.monitor import StabilityMonitor, WindowReport, summary_line

__all__ = [
    "BEHAVIOUR_KPIS",
    "HIGHER_IS_BETTER",
    "KPI_NAMES",
    "Canary",
    "StabilityMonitor",
    "StabilityParams",
    "WindowReport",
    "compare",
    "mean_kpis",
    "summary_line",
    "worst_drop",
]
