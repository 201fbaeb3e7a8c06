"""Golden baselines: they pass as shipped and fail when a mechanism is broken on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from townlet.core.registry import Registry
from townlet.core.scenario import Band, Baseline, check_scenario, resolve_scenario
from townlet.core.scenario.baselines import load_baseline, update_baseline

pytest.importorskip("townlet.scenarios")

REGISTRY = Registry()
SHIPPED = sorted(i.name for i in REGISTRY.infos("scenarios") if i.dist == "townlet-scenarios")


@pytest.mark.parametrize("name", SHIPPED)
def test_golden_baseline_holds(name: str) -> None:
    report = check_scenario(resolve_scenario(name, registry=REGISTRY), registry=REGISTRY)
    assert report.passed, "\n".join(report.lines())


def test_golden_values_are_reproduced_exactly() -> None:
    """Runs are deterministic: the recorded values, not just the bands, come back."""
    for name in ("queue_conflict", "blackout", "kitchen_breakfast"):
        report = check_scenario(resolve_scenario(name, registry=REGISTRY), registry=REGISTRY)
        assert {f.name: f.measured for f in report.figures} == {
            f.name: f.band.value for f in report.figures
        }


# (scenario, override breaking one mechanism, the figure that must then fail)
BROKEN = [
    ("rivalry_decay", "world.social.decay_per_hour=1.0", "rivalry_decay_ticks"),  # decay x10
    ("employment_punctuality", "world.jobs.grace_minutes=120", "lateness"),
    ("exit_storm", "world.lifecycle.max_exits_per_day=8", "exits"),
    ("starvation", "world.lifecycle.collapse_ticks=100000", "exits.collapse"),
    ("blackout", "timeline=[]", "first_off_tick.power"),
    ("kitchen_breakfast", "features.stages.relationships='off'", "shared_meals"),
]


@pytest.mark.parametrize(("name", "override", "figure"), BROKEN)
def test_breaking_a_mechanism_fails_its_figure(name: str, override: str, figure: str) -> None:
    scenario = resolve_scenario(name, overrides=[override], registry=REGISTRY)
    report = check_scenario(scenario, registry=REGISTRY)
    failed = {f.name for f in report.figures if not f.passed}
    assert figure in failed, "\n".join(report.lines())
    assert not report.passed


def test_report_names_value_and_band() -> None:
    baseline = Baseline(seed=0, ticks=50, figures={"exits": Band(value=0, min=1)})
    report = check_scenario(
        resolve_scenario("observation_baseline", registry=REGISTRY),
        baseline=baseline,
        registry=REGISTRY,
    )
    assert not report.passed
    assert report.lines()[1].split() == [
        "FAIL",
        "exits",
        "0",
        "band",
        "[1,",
        "∞]",
        "(baseline",
        "0)",
    ]


def test_update_rewrites_values_keeps_bands_and_reports_the_diff(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "seed": 0,
                "ticks": 400,
                "figures": {
                    "events.scripted": {"value": 9, "min": 4, "max": 4},
                    "price_peak.meal": {"value": 1, "min": 1},
                },
            }
        )
    )
    scenario = resolve_scenario("price_shock", registry=REGISTRY)
    report = check_scenario(scenario, baseline=load_baseline(path), registry=REGISTRY)
    diff = update_baseline(report, path)
    assert diff == ["events.scripted: 9 -> 2  (outside band [4, 4])", "price_peak.meal: 1 -> 3"]
    updated = load_baseline(path)
    assert updated.figures["events.scripted"] == Band(value=2, min=4, max=4)
    assert updated.figures["price_peak.meal"] == Band(value=3, min=1)
    assert (
        update_baseline(check_scenario(scenario, baseline=updated, registry=REGISTRY), path) == []
    )


def test_band_must_be_ordered() -> None:
    with pytest.raises(ValueError, match=r"min 2\.0 is above max 1\.0"):
        Band(value=1, min=2, max=1)
