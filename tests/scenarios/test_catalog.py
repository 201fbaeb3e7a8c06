"""Every shipped scenario loads, validates its plugins, runs; the curriculum table."""

from __future__ import annotations

from typing import Any

import pytest

from townlet.core.config import check_plugins
from townlet.core.observations.build import build_encoder
from townlet.core.registry import Registry
from townlet.core.scenario import resolve_scenario
from townlet.core.sim import Simulation

pytest.importorskip("townlet.scenarios")

REGISTRY = Registry()
SHIPPED = sorted(i.name for i in REGISTRY.infos("scenarios") if i.dist == "townlet-scenarios")

ISSUE_NAMES = {
    "queue_conflict",
    "employment_punctuality",
    "rivalry_decay",
    "kitchen_breakfast",
    "observation_baseline",
    "starvation",
    "eviction",
    "exit_storm",
    "blackout",
    "price_shock",
    "demo_story_arc",
    "m0_home",
    "m1_shop",
    "m2_job",
    "m2_5_conflict",
    "m3_relationships",
    "c1_chat",
    "c2_avoid",
    "m4_perturbations",
    "m5_full",
}

# Each curriculum stage enables exactly these features (SPEC §14).
# (curriculum, relationships, social_rewards, lifecycle, perturbations, jobs)
STAGE_FEATURES: dict[str, tuple[str, str, str, bool, bool, bool]] = {
    "m0_home": ("M0", "off", "off", False, False, False),
    "m1_shop": ("M1", "off", "off", False, False, False),
    "m2_job": ("M2", "off", "off", False, False, True),
    "m2_5_conflict": ("M2.5", "A", "off", False, False, True),
    "m3_relationships": ("M3", "B", "off", False, False, True),
    "c1_chat": ("M3", "C", "C1", False, False, True),
    "c2_avoid": ("M3", "C", "C2", False, False, True),
    "m4_perturbations": ("M4", "C", "C3", False, True, True),
    "m5_full": ("M5", "C", "C3", True, True, True),
}


def test_every_scenario_of_the_issue_is_shipped() -> None:
    assert set(SHIPPED) == ISSUE_NAMES


@pytest.mark.parametrize("name", SHIPPED)
def test_scenario_validates(name: str) -> None:
    s = resolve_scenario(name, registry=REGISTRY)
    assert s.config.config_id == name
    assert check_plugins(s.loaded, REGISTRY) == []
    assert s.description and s.exercises and s.ticks > 0
    assert s.baseline_path is not None and s.baseline_path.is_file()


@pytest.mark.parametrize("name", SHIPPED)
def test_scenario_runs_to_completion(name: str) -> None:
    s = resolve_scenario(name, registry=REGISTRY)
    sim = Simulation(s.config, REGISTRY)
    summary = sim.run(min(s.ticks, 300))
    assert summary.ticks == min(s.ticks, 300) and not summary.interrupted
    refused = [
        (e.command, r.code)
        for e, r in (sim.world.timeline.applied if sim.world.timeline else [])
        if not r.ok
    ]
    assert refused == []


@pytest.mark.parametrize(("name", "expected"), sorted(STAGE_FEATURES.items()))
def test_curriculum_stage_enables_exactly_its_features(
    name: str, expected: tuple[str, str, str, bool, bool, bool]
) -> None:
    cfg = resolve_scenario(name, registry=REGISTRY).config
    f = cfg.features
    perturb = cfg.world.perturbations
    got = (
        f.curriculum,
        f.stages.relationships,
        f.stages.social_rewards,
        f.lifecycle,
        perturb.enabled
        and any(
            getattr(perturb, k).probability_per_day > 0
            for k in (
                "price_spike",
                "blackout",
                "water_outage",
                "facility_closure",
                "arranged_meet",
            )
        ),
        bool(cfg.world.jobs.jobs),
    )
    assert got == expected
    assert cfg.timeline == []  # stages are settings, not scripts


def test_city_wide_events_are_locked_out_in_m0_to_m2() -> None:
    for name in ("m0_home", "m1_shop", "m2_job"):
        sim = Simulation(
            resolve_scenario(
                name,
                overrides=[
                    "world.perturbations.enabled=true",
                    "world.perturbations.blackout.probability_per_day=24",
                ],
                registry=REGISTRY,
            ).config,
            REGISTRY,
        )
        assert sim.run(200).kpis["perturbations"] == 0


def test_stages_share_one_observation_spec_and_option_set() -> None:
    # the option set is fixed by the world (OPTIONS); stages only mask options
    specs: dict[str, Any] = {}
    for name in STAGE_FEATURES:
        cfg = resolve_scenario(name, registry=REGISTRY).config
        spec = build_encoder(cfg, REGISTRY, None).spec
        specs[name] = (repr(spec), repr(cfg.observations), cfg.world.town, cfg.world.agents)
    assert len(set(specs.values())) == 1, specs


def test_scenarios_extend_the_default_town() -> None:
    for name in SHIPPED:
        files = resolve_scenario(name, registry=REGISTRY).loaded.files
        assert files[0].name == "default.yaml" and len(files) == 2
