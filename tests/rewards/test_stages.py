"""Each reward stage's formula, on real ticks of the default town."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from tests.env.helpers import force_exit, run_scripted, world
from townlet.core.config.models import DEFAULT_REWARD_STAGES
from townlet.core.registry import Registry
from townlet.core.rewards import RewardPipeline
from townlet.core.rewards.stages import HomeostasisParams, TerminalParams
from townlet.core.world.state import ShiftState


def pipeline(*names: str, **params: dict) -> RewardPipeline:
    reg = Registry()
    return RewardPipeline([(n, reg.build("reward_stages", n, params.get(n, {}))) for n in names])


def stepped(p: RewardPipeline, w, ticks: int = 1) -> np.ndarray:
    policy = run_scripted(w, 0)
    r = np.zeros(w.n_agents, np.float32)
    for _ in range(ticks):
        p.carry_over(w)
        w.step(policy.act(w))
        r = p.compute(w)
    return r


def test_every_standard_stage_is_a_registered_plugin() -> None:
    reg = Registry()
    names = {i.name for i in reg.infos("reward_stages")}
    assert set(DEFAULT_REWARD_STAGES) | {"curiosity"} <= names
    for name in names & set(DEFAULT_REWARD_STAGES):
        model = reg.params_model("reward_stages", name)
        assert model.model_config["extra"] == "forbid" and model.model_config["frozen"]
        assert all(f.description for f in model.model_fields.values()), name


def test_homeostasis_is_minus_weighted_squared_deficits() -> None:
    w = world("seed=1")
    p = pipeline("homeostasis")
    p.reset(w)
    r = stepped(p, w)
    d = 1.0 - w.agents.needs
    want = -0.1 * (1.0 * d[:, 0] ** 2 + 0.6 * d[:, 1] ** 2 + 0.8 * d[:, 2] ** 2)
    np.testing.assert_allclose(r, want, rtol=1e-5)


def test_shaping_is_gamma_phi_next_minus_phi() -> None:
    w = world("seed=1")
    p = pipeline("shaping", shaping={"gamma": 0.9, "scale": 2.0})
    p.reset(w)
    stepped(p, w, 5)
    before = w.agents.needs.copy()
    r = stepped(p, w)
    weights = np.array([1.0, 0.6, 0.8])
    phi_before = -2.0 * ((1 - before) @ weights)
    phi_after = -2.0 * ((1 - w.agents.needs) @ weights)
    np.testing.assert_allclose(r, 0.9 * phi_after - phi_before, rtol=1e-4, atol=1e-6)


def test_shaping_pays_for_relief_over_a_day() -> None:
    w = world("seed=2")
    p = pipeline("shaping", shaping={"gamma": 1.0})
    p.reset(w)
    policy = run_scripted(w, 0)
    best = 0.0
    for _ in range(600):
        w.step(policy.act(w))
        best = max(best, float(p.compute(w).max()))
    assert best > 0.01  # eating or showering pays as it happens


def test_work_pays_wages_and_arrival_terms() -> None:
    w = world("seed=0")
    p = pipeline("work")
    p.reset(w)
    policy = run_scripted(w, 0)
    paid = bonus = 0.0
    for _ in range(1000):
        before = w.agents.shift_state.copy()
        present = w.agents.present_ticks.copy()
        w.step(policy.act(w))
        r = p.compute(w)
        worked = w.agents.present_ticks > present
        arrived = (w.agents.shift_state == ShiftState.ON_TIME) & (before != ShiftState.ON_TIME)
        expected = worked * w.job_wage[np.maximum(w.agents.job, 0)] / 1000 + arrived * 0.05
        np.testing.assert_allclose(r, expected, atol=1e-6)
        paid += float((worked * r).sum())
        bonus += float(arrived.sum())
    assert paid > 0 and bonus > 0


def test_survival_and_terminal_on_exit() -> None:
    w = world("seed=3")
    p = pipeline("survival", "terminal")
    p.reset(w)
    stepped(p, w)
    force_exit(w, 2, "eviction")
    force_exit(w, 4, "collapse")
    r = stepped(p, w)
    assert r[2] == pytest.approx(-2.0) and r[4] == pytest.approx(-1.0)
    assert r[0] == pytest.approx(0.002)
    assert p.breakdown["survival"][2] == 0.0
    r = stepped(p, w)
    assert r[2] == 0.0 and r[4] == 0.0  # gone: no reward at all


def test_terminal_params_are_bounded() -> None:
    with pytest.raises(ValidationError, match=r"-10\.\.0"):
        TerminalParams(reasons={"eviction": 3.0})
    with pytest.raises(ValidationError):
        HomeostasisParams(scale=-1)


def test_social_stages_follow_the_feature_stage() -> None:
    def chat_reward(stage: str) -> float:
        w = world(
            "seed=1", "features.stages.relationships=B", f"features.stages.social_rewards='{stage}'"
        )
        p = pipeline("social_chat", "social_quality")
        p.reset(w)
        w.relations.other[0, 0] = 1
        w.relations.trust[0, 0] = 0.5
        w.relations.familiarity[0, 0] = 0.5
        policy = run_scripted(w, 0)
        w.step(policy.act(w))
        w.events.append(
            {"kind": "chat", "agent": w.agent_ids[0], "other": w.agent_ids[1], "success": True}
        )
        return float(p.compute(w)[0])

    assert chat_reward("off") == 0.0
    c1 = chat_reward("C1")
    assert c1 == pytest.approx(0.01 + 0.3 * 0.5 + 0.2 * 0.5)
    assert chat_reward("C3") > c1  # quality term on top


def test_social_floor_cancels_social_terms_of_agents_in_need() -> None:
    w = world("seed=1", "features.stages.relationships=B", "features.stages.social_rewards=C3")
    p = pipeline("social_quality", "social_floor")
    p.reset(w)
    w.relations.other[:, 0] = np.roll(np.arange(w.n_agents), 1)
    w.relations.trust[:, 0] = 1.0
    policy = run_scripted(w, 0)
    w.step(policy.act(w))
    w.agents.needs[0, 0] = 0.05  # hunger deficit 0.95 > 0.85
    total = p.compute(w)
    assert p.breakdown["social_quality"][0] > 0 and total[0] == 0.0
    assert total[1] > 0


def test_death_guard_removes_gains_near_danger_and_at_exit() -> None:
    w = world("seed=1")
    p = pipeline("survival", "death_guard", death_guard={"window": 10, "danger": 0.9})
    p.reset(w)
    policy = run_scripted(w, 0)
    w.step(policy.act(w))
    w.agents.needs[3, 2] = 0.05  # energy deficit 0.95: danger
    assert p.compute(w)[3] == 0.0
    w.agents.needs[3, 2] = 0.9
    for _ in range(10):
        w.step(policy.act(w))
        assert p.compute(w)[3] == 0.0
    w.step(policy.act(w))
    assert p.compute(w)[3] == pytest.approx(0.002)
    force_exit(w, 5)
    w.step(policy.act(w))
    assert p.compute(w)[5] == 0.0


def test_clip_bounds_ticks_and_episodes_but_passes_terminal_penalties() -> None:
    w = world("seed=1")
    p = pipeline(
        "survival",
        "terminal",
        "clip",
        survival={"per_tick": 0.1},
        clip={"tick": 0.05, "episode": 0.3},
    )
    p.reset(w)
    totals = [stepped(p, w) for _ in range(3)]
    assert all(t[0] == pytest.approx(0.05) for t in totals)
    clip = p.stages[-1]
    assert clip.clip_fraction == 1.0
    for _ in range(5):
        r = stepped(p, w)
    assert r[0] == pytest.approx(0.0, abs=1e-6)  # the episode bound of 0.3 is reached
    assert clip.episode_return[0] == pytest.approx(0.3)
    force_exit(w, 1, "collapse")
    r = stepped(p, w)
    # the exit penalty passes the per-tick clip (|-1| > 0.05) but the episode
    # bound still holds: 0.3 - 1.0 is cut to -0.3, a reward of -0.6
    assert r[1] == pytest.approx(-0.6)


def test_curiosity_pays_novelty_and_decays() -> None:
    w = world("seed=1")
    p = pipeline("curiosity", curiosity={"scale": 0.01, "decay_ticks": 100})
    p.reset(w)
    first = stepped(p, w)
    assert (first[w.agents.alive] > 0).all() and first.max() <= 0.01
    for _ in range(120):
        last = stepped(p, w)
    assert not last.any()


def test_terminal_penalises_a_faint_once() -> None:
    w = world("seed=3")
    p = pipeline("terminal")
    p.reset(w)
    stepped(p, w)
    w.agents.needs[5, 2] = 1e-5  # runs out of energy this tick
    r = stepped(p, w)
    assert [e["agent"] for e in w.events if e["kind"] == "faint"] == [w.agent_ids[5]]
    assert r[5] == pytest.approx(-1.0) and np.count_nonzero(r) == 1
    assert stepped(p, w)[5] == 0.0


def test_chats_of_several_towns_pay_the_right_rows() -> None:
    """Agent ids repeat across towns: a chat in town 1 pays town 1's rows, with its ties."""
    cfg = ("features.stages.relationships=C", "features.stages.social_rewards=C1")
    towns = [world("seed=1", *cfg), world("seed=2", *cfg)]
    p = pipeline("social_chat")
    p.reset(towns)
    t1 = towns[1]
    t1.relations.other[0, 0], t1.relations.trust[0, 0] = 1, 1.0  # slot 0 trusts slot 1
    for w in towns:
        w.step(run_scripted(w, 0).act(w))
    t1.events.append(
        {"kind": "chat", "agent": t1.agent_ids[0], "other": t1.agent_ids[1], "success": True}
    )
    r = p.compute(towns)
    n = towns[0].n_agents
    assert not r[:n].any()  # town 0 has agents with the same ids, none chatted
    assert r[n] == pytest.approx(0.01 + 0.3) and r[n + 1] == pytest.approx(0.01)
    assert np.count_nonzero(r) == 2
