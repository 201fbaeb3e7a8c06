"""compare(), the canaries' rules and the monitor's API surface, on plain numbers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from townlet.core.stability import (
    BEHAVIOUR_KPIS,
    KPI_NAMES,
    StabilityParams,
    compare,
    mean_kpis,
    summary_line,
    worst_drop,
)
from townlet.core.stability.canaries import CanaryState, evaluate_canaries

BASE = {
    "self_sufficiency": 0.9,
    "job_tenure": 2.0,
    "relationship_formation": 0.5,
    "conflict_escalation": 0.1,
    "lateness": 0.1,
    "starvation_incidents": 0.0,
    "option_switch_rate": 10.0,
    "throughput": 4000.0,
}


def test_compare_is_positive_when_worse_in_either_direction() -> None:
    kpis = BASE | {"self_sufficiency": 0.6, "lateness": 0.13, "option_switch_rate": 8.0}
    drops = compare(kpis, BASE)
    assert set(drops) == set(BEHAVIOUR_KPIS) and "throughput" not in drops
    assert drops["self_sufficiency"] == pytest.approx(1 / 3)
    assert drops["lateness"] == pytest.approx(0.3)
    assert drops["option_switch_rate"] == pytest.approx(-0.2)  # fewer switches: better
    assert worst_drop(drops) == ("self_sufficiency", drops["self_sufficiency"])
    assert worst_drop({}) == (None, 0.0)


def test_a_zero_baseline_divides_by_the_floor() -> None:
    drops = compare(BASE | {"starvation_incidents": 2.0}, BASE)
    assert drops["starvation_incidents"] == 2.0
    assert compare({"throughput": 10.0}, {"throughput": 20.0}, ["throughput"]) == {
        "throughput": 0.5
    }
    with pytest.raises(KeyError, match="unknown stability KPI 'mood'"):
        compare({"mood": 1.0}, {"mood": 2.0}, ["mood"])


def test_canaries_without_and_with_a_baseline() -> None:
    params = StabilityParams()
    state = CanaryState()
    alone = evaluate_canaries(BASE, None, params, state)
    assert [c.name for c in alone] == ["starvation"] and not alone[0].fired
    late = BASE | {"lateness": 0.21, "starvation_incidents": 1.0}
    verdicts = {c.name: c for c in evaluate_canaries(late, BASE, params, state)}
    assert verdicts["lateness"].fired and verdicts["lateness"].threshold == pytest.approx(0.2)
    assert verdicts["starvation"].fired and verdicts["starvation"].value == 1.0
    quiet = BASE | {"lateness": 0.0}
    floor = {c.name: c for c in evaluate_canaries(BASE | {"lateness": 0.04}, quiet, params, state)}
    assert not floor["lateness"].fired and floor["lateness"].threshold == 0.05


def test_the_switch_canary_needs_two_windows_in_a_row() -> None:
    params, state = StabilityParams(), CanaryState()
    high = BASE | {"option_switch_rate": 12.6}  # +26%
    sequence = [
        c.fired
        for kpis in (high, BASE, high, high, high)
        for c in evaluate_canaries(kpis, BASE, params, state)
        if c.name == "option_switch_rate"
    ]
    assert sequence == [False, False, False, True, True]


def test_mean_kpis_and_the_summary_line() -> None:
    assert mean_kpis([BASE, BASE | {"lateness": 0.3}])["lateness"] == pytest.approx(0.2)
    assert tuple(mean_kpis([BASE])) == KPI_NAMES
    assert summary_line({"windows": 0}) == "no window closed yet"
    assert summary_line({"windows": 3, "fired": {}}) == "3 window(s), no canary fired"
    assert (
        summary_line({"windows": 3, "fired": {"lateness": 2}})
        == "3 window(s), canaries fired: lateness in 2 window(s)"
    )


def test_params_refuse_bad_thresholds() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="greater than 0"):
        StabilityParams(lateness_factor=0)
    with pytest.raises(ValidationError, match="Extra inputs"):
        StabilityParams(windows=3)  # type: ignore[call-arg]


def test_the_monitor_is_torch_free() -> None:
    code = "import sys, townlet.core.stability; assert 'torch' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_the_stdout_sink_prints_a_line_per_window(capsys: pytest.CaptureFixture[str]) -> None:
    from townlet.core.ports import TelemetryEvent
    from townlet.core.telemetry.sinks import StdoutParams, StdoutSink

    hungry = BASE | {"starvation_incidents": 2.0}
    canaries = evaluate_canaries(hungry, BASE, StabilityParams(), CanaryState())
    body = {"window": 3, "canaries": [c.as_dict() for c in canaries]}
    sink = StdoutSink(StdoutParams())
    sink.emit(TelemetryEvent("stability", 3000, body))
    sink.emit(TelemetryEvent("stability", 4000, {"window": 4, "canaries": []}))
    assert capsys.readouterr().out.splitlines() == [
        "[t=3000] stability window 3: CANARY starvation: 2 starvation incident(s) in the "
        "window (at most 0 expected)",
        "[t=4000] stability window 4: ok",
    ]
