"""The fixed-slot view: conformance, exits and arrivals by slot, seeding, masks, flags."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.test import parallel_api_test, parallel_seed_test

from tests.env.disrupted import DisruptedSlots as Disrupted
from tests.env.helpers import LIFECYCLE
from townlet.core.console.bus import ConsoleBus
from townlet.core.env import SlotParallelEnv
from townlet.core.testing import check_env
from townlet.core.world.options import Option


def _ctx_reset(env: SlotParallelEnv, obs: dict[str, Any]) -> float:
    names = [f.name for f in env.spec["scalars"].features]
    return float(obs["scalars"][names.index("ctx_reset_flag")])


@pytest.mark.parametrize("exit_terminates", [True, False])
def test_check_env_passes_through_exits_and_arrivals(exit_terminates: bool) -> None:
    env = Disrupted(
        overrides=LIFECYCLE, encoder="compact", horizon=120, exit_terminates=exit_terminates
    )
    report = check_env(env, steps=150, fixed_agents=True)
    assert report.truncated and report.steps == 120
    assert report.exits == 3 and report.arrivals >= 2


def test_strict_slot_view_passes_the_pettingzoo_api_test_through_exits() -> None:
    env = Disrupted(overrides=LIFECYCLE, encoder="compact", horizon=100, exit_terminates=False)
    parallel_api_test(env, num_cycles=100)
    assert env.exits.kills >= 2


@pytest.mark.parametrize("flatten", [False, True])
def test_pettingzoo_api_and_seed_tests_in_a_town_without_exits(flatten: bool) -> None:
    parallel_api_test(SlotParallelEnv(horizon=80, flatten=flatten), num_cycles=90)
    parallel_seed_test(lambda: SlotParallelEnv(horizon=40, flatten=flatten))


def test_a_slot_ends_its_episode_waits_empty_and_takes_a_newcomer() -> None:
    env = Disrupted(overrides=LIFECYCLE, horizon=200, schedule={5: 3})
    env.reset(seed=2)
    assert env.possible_agents == [f"slot_{i}" for i in range(8)]
    leaver = env.slot_agents[3]
    assert leaver is not None and env.agent_slots[leaver] == 3
    wait_only = np.eye(len(Option), dtype=np.int8)[Option.WAIT]
    seen_vacant = arrived_at = 0
    for _ in range(40):
        obs, rew, term, trunc, infos = env.step(dict.fromkeys(env.agents, int(Option.GET_FED)))
        assert env.agents == env.possible_agents and not any(trunc.values())
        info = infos["slot_3"]
        if info["exited"]:
            assert term["slot_3"] and rew["slot_3"] == pytest.approx(-1.0)
            assert sum(term.values()) == 1 and env.slot_agents[3] is None
        if info["vacant"]:
            seen_vacant += 1
            assert not any(obs["slot_3"][c].any() for c in obs["slot_3"])
            np.testing.assert_array_equal(info["action_mask"], wait_only)
            np.testing.assert_array_equal(env.action_mask("slot_3"), wait_only)
            if not info["exited"]:
                assert rew["slot_3"] == 0.0 and not term["slot_3"]
        if info["arrived"]:
            arrived_at = env.town.world.tick
            assert not term["slot_3"] and rew["slot_3"] == 0.0 and not info["vacant"]
            assert _ctx_reset(env, obs["slot_3"]) == 1.0
            newcomer = env.slot_agents[3]
            assert newcomer not in (None, leaver) and env.agent_slots[newcomer] == 3
            break
    assert seen_vacant >= 5 and arrived_at > 5


def test_strict_mode_reports_the_exit_in_infos_only() -> None:
    env = Disrupted(overrides=LIFECYCLE, horizon=50, schedule={3: 0}, exit_terminates=False)
    env.reset(seed=0)
    for _ in range(5):
        _, rew, term, _, infos = env.step({})
        if infos["slot_0"]["exited"]:
            assert rew["slot_0"] == pytest.approx(-1.0)
            break
    else:
        pytest.fail("the forced exit never came")
    assert not any(term.values()) and env.agents == env.possible_agents


def _episode(env: SlotParallelEnv, seed: int | None) -> list[Any]:
    """Every step's outputs, copied, under a fixed mask-respecting action stream."""
    rng = np.random.default_rng(7)
    obs, infos = env.reset(seed=seed)
    out: list[Any] = [(env.town.seed, env.slot_agents)]
    while env.agents:
        actions = {}
        for a in env.agents:
            allowed = np.flatnonzero(infos[a]["action_mask"])
            actions[a] = int(allowed[rng.integers(allowed.size)])
        obs, rew, term, trunc, infos = env.step(actions)
        flat = {a: np.concatenate([v.ravel() for v in o.values()]) for a, o in obs.items()}
        flags = {a: (i["vacant"], i["exited"], i["arrived"]) for a, i in infos.items()}
        out.append((flat, rew, term, trunc, flags, env.slot_agents))
    return out


def _same(a: list[Any], b: list[Any]) -> bool:
    if len(a) != len(b) or a[0] != b[0]:
        return False
    for x, y in zip(a[1:], b[1:], strict=True):
        if x[0].keys() != y[0].keys() or x[1:] != y[1:]:
            return False
        if any(not np.array_equal(x[0][k], y[0][k]) for k in x[0]):
            return False
    return True


def test_seeded_runs_match_step_by_step_through_exits_and_arrivals() -> None:
    def build() -> SlotParallelEnv:
        return Disrupted(overrides=LIFECYCLE, encoder="compact", horizon=120)

    first, second = _episode(build(), 11), _episode(build(), 11)
    flags = [f for step in first[1:] for f in step[4].values()]
    assert sum(e for _, e, _ in flags) == 3 and sum(a for _, _, a in flags) >= 2
    assert _same(first, second)
    assert not _same(first, _episode(build(), 12))


def test_possessed_slots_are_flagged() -> None:
    env = SlotParallelEnv(horizon=20)
    env.reset(seed=4)
    world = env.town.world
    slot = int(np.flatnonzero(world.agents.aff < 0)[0])  # an idle citizen can be possessed
    bus = ConsoleBus(admin_tokens=["t"])
    args = {"agent": world.agent_ids[slot]}
    body = {"cmd_id": "p", "token": "t", "command": "possess", "args": args}
    assert bus.execute(world, body).ok
    _, _, _, _, infos = env.step({})
    assert [a for a, i in infos.items() if i["possessed"]] == [f"slot_{slot}"]


def test_infos_keep_one_set_of_numeric_keys_and_the_mask_lives_in_one_place() -> None:
    env = Disrupted(overrides=LIFECYCLE, horizon=30, schedule={2: 0})
    _, infos = env.reset(seed=0)
    keys = {"action_mask", "possessed", "vacant", "exited", "arrived"}
    assert all(set(i) == keys for i in infos.values())
    for _ in range(10):
        _, _, _, _, infos = env.step({})
        assert all(set(i) == keys for i in infos.values())
    masked = SlotParallelEnv(horizon=10, flatten=True, mask_in_obs=True)
    obs, infos = masked.reset(seed=0)
    assert "action_mask" in obs["slot_0"] and "action_mask" not in infos["slot_0"]


def test_stepping_a_finished_episode_or_an_unknown_slot_raises() -> None:
    env = SlotParallelEnv(horizon=3)
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    env.reset(seed=0)
    with pytest.raises(KeyError, match="agent_000"):
        env.step({"agent_000": 0})
    for _ in range(3):
        env.step({})
    assert env.agents == []
    with pytest.raises(RuntimeError, match="horizon"):
        env.step({})
    env.reset()
    assert env.agents == env.possible_agents
    with pytest.raises(TypeError, match="max_newcomers"):
        SlotParallelEnv(max_newcomers=3)
