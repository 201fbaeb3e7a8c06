"""The PettingZoo ParallelEnv: conformance, seeding, exits, arrivals, horizon."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.test import parallel_api_test, parallel_seed_test

from tests.env.helpers import config, force_exit, force_spawn
from townlet.core.console.bus import ConsoleBus
from townlet.core.env import TownletParallelEnv, parallel_env
from townlet.core.errors import ConfigError, UnknownPluginError

VARIANTS = ("full", "hybrid", "compact")


@pytest.mark.parametrize("encoder", VARIANTS)
def test_pettingzoo_api_and_seed_tests(encoder: str) -> None:
    parallel_api_test(TownletParallelEnv(encoder=encoder, horizon=120), num_cycles=150)
    parallel_seed_test(lambda: TownletParallelEnv(encoder=encoder, horizon=60))


@pytest.mark.parametrize(("flatten", "mask_in_obs"), [(True, False), (True, True), (False, True)])
def test_pettingzoo_api_for_other_layouts(flatten: bool, mask_in_obs: bool) -> None:
    env = TownletParallelEnv(
        encoder="compact", horizon=60, flatten=flatten, mask_in_obs=mask_in_obs
    )
    parallel_api_test(env, num_cycles=80)
    obs, _ = env.reset(seed=0)
    first = obs[env.agents[0]]
    if flatten:
        flat = first["observation"] if mask_in_obs else first
        assert flat.shape == (env.spec.size,)
    if mask_in_obs:
        assert first["action_mask"].dtype == np.int8


def test_reset_seed_reproduces_and_unseeded_resets_follow() -> None:
    env = TownletParallelEnv(horizon=30)

    def episode(seed: int | None) -> list[float]:
        env.reset(seed=seed)
        out = []
        while env.agents:
            _, rew, _, _, _ = env.step(dict.fromkeys(env.agents, 1))
            out.append(sum(rew.values()))
        return out

    a = episode(5)
    b1, b2 = episode(None), episode(None)
    assert episode(5) == a
    episode(5)
    assert (episode(None), episode(None)) == (b1, b2)
    assert b1 != a


def test_observations_masks_and_infos() -> None:
    env = TownletParallelEnv(encoder="full", horizon=10)
    obs, infos = env.reset(seed=2)
    assert env.agents == [f"agent_{i:03d}" for i in range(8)]
    space = env.observation_space(env.agents[0])
    for agent in env.agents:
        assert space.contains(obs[agent])
        mask = infos[agent]["action_mask"]
        assert mask.dtype == np.int8 and mask.shape == (7,) and mask[0] == 1
        np.testing.assert_array_equal(env.action_mask(agent), mask)
    assert env.state().shape == (8 * env.spec.size,)


def test_exits_terminate_only_the_leaver_and_newcomers_join() -> None:
    env = TownletParallelEnv(horizon=200, max_newcomers=2)
    env.reset(seed=1)
    world = env.town.world
    leaver = world.agent_ids[3]
    force_exit(world, 3, "collapse")
    obs, rew, term, _, _ = env.step(dict.fromkeys(env.agents, 0))
    assert term[leaver] and not any(v for a, v in term.items() if a != leaver)
    assert rew[leaver] == pytest.approx(-1.0)
    assert not obs[leaver]["scalars"].any()
    assert leaver not in env.agents and len(env.agents) == 7
    arrived = None
    for _ in range(40):
        before = set(env.agents)
        if not world.agents.alive[3] and _ == 30:
            force_spawn(world, 3)
        obs, rew, term, _, _ = env.step(dict.fromkeys(env.agents, 0))
        new = set(env.agents) - before
        if new:
            (arrived,) = new
            assert rew[arrived] == 0.0 and not term[arrived] and arrived in obs
            assert (
                obs[arrived]["scalars"][
                    env.spec["scalars"].features.index(
                        next(f for f in env.spec["scalars"].features if f.name == "ctx_reset_flag")
                    )
                ]
                == 1.0
            )
            break
    assert arrived is not None and arrived != leaver
    assert arrived in env.possible_agents


def test_truncation_at_the_horizon() -> None:
    env = TownletParallelEnv(horizon=5)
    env.reset(seed=0)
    for step in range(5):
        _, _, term, trunc, _ = env.step(dict.fromkeys(env.agents, 0))
        assert all(trunc.values()) == (step == 4)
        assert not any(term.values())
    assert env.agents == []


def test_constructor_forms(tmp_path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text("extends: builtin:default\nconfig_id: small\nworld: {agents: 4}\n")
    assert len(TownletParallelEnv(path).possible_agents) == 4
    assert len(TownletParallelEnv(str(path)).possible_agents) == 4
    assert len(TownletParallelEnv(overrides={"world.agents": 3}).possible_agents) == 3
    assert len(TownletParallelEnv(overrides=["world.agents=5"]).possible_agents) == 5
    env = TownletParallelEnv(
        config("world.agents=2"), overrides={"features.lifecycle": True}, horizon=2000
    )
    assert env.config.features.lifecycle and len(env.possible_agents) == 2 + 2 * 2
    assert parallel_env(encoder="compact").spec.encoder == "compact"
    with pytest.raises(ConfigError):
        TownletParallelEnv(overrides=["world.agents=0"])
    with pytest.raises(UnknownPluginError, match="Unknown scenario 'no_such_town'"):
        TownletParallelEnv(scenario="no_such_town")
    with pytest.raises(ValueError, match="either"):
        TownletParallelEnv(path, scenario="x")
    with pytest.raises(ValueError, match="render_mode"):
        TownletParallelEnv(render_mode="human")


def test_render_returns_an_rgb_picture() -> None:
    env = TownletParallelEnv(render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image is not None and image.dtype == np.uint8 and image.shape == (384, 384, 3)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 8
    assert TownletParallelEnv().render() is None


def test_possessed_agents_are_flagged_in_infos(tmp_path) -> None:
    env = TownletParallelEnv(horizon=50)
    _, infos = env.reset(seed=4)
    assert not any(info["possessed"] for info in infos.values())
    bus = ConsoleBus(admin_tokens=["t"], viewer_tokens=[], audit_log=tmp_path / "audit.jsonl")
    world = env.town.world
    awake = next(a for a in env.agents if world.agents.aff[int(a[-3:])] < 0)
    body = {"cmd_id": "1", "token": "t", "command": "possess", "args": {"agent": awake}}
    assert bus.execute(world, body).ok
    _, _, _, _, infos = env.step(dict.fromkeys(env.agents, 0))
    assert [a for a, info in infos.items() if info["possessed"]] == [awake]


def test_agent_slot_map_follows_exits_and_arrivals() -> None:
    env = TownletParallelEnv(horizon=100, max_newcomers=2)
    assert env.slot_agents == [] and dict(env.agent_slots) == {}
    env.reset(seed=1)
    world = env.town.world
    assert dict(env.agent_slots) == {f"agent_{i:03d}": i for i in range(8)}
    assert env.slot_agents == [f"agent_{i:03d}" for i in range(8)]
    force_exit(world, 2)
    env.step({})
    assert "agent_002" not in env.agent_slots and env.slot_agents[2] is None
    force_spawn(world, 2)
    env.step({})
    newcomer = env.slot_agents[2]
    assert newcomer in env.agents and env.agent_slots[newcomer] == 2
    with pytest.raises(TypeError):
        env.agent_slots["x"] = 1  # type: ignore[index]


def test_stepping_after_the_horizon_raises_until_reset() -> None:
    env = TownletParallelEnv(horizon=2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    env.reset(seed=0)
    env.step({})
    env.step({})
    tick = env.town.world.tick
    with pytest.raises(RuntimeError, match="horizon"):
        env.step(dict.fromkeys(env.possible_agents, 0))
    assert env.town.world.tick == tick  # the town did not move on
    env.reset()
    assert len(env.agents) == 8
    env.step({})


def test_unseeded_first_resets_differ_between_copies_and_seeded_ones_do_not() -> None:
    def first_obs(seed: int | None) -> tuple[int, np.ndarray]:
        env = TownletParallelEnv(encoder="compact", horizon=10, flatten=True)
        obs, _ = env.reset(seed=seed)
        return env.town.seed, np.stack(list(obs.values()))

    (s1, o1), (s2, o2) = first_obs(None), first_obs(None)
    assert s1 != s2 and not np.array_equal(o1, o2)
    (s3, o3), (s4, o4) = first_obs(3), first_obs(3)
    assert s3 == s4 == 3 and np.array_equal(o3, o4)


def test_with_the_mask_in_the_observation_infos_do_not_repeat_it() -> None:
    env = TownletParallelEnv(horizon=5, mask_in_obs=True)
    obs, infos = env.reset(seed=0)
    assert all("action_mask" in obs[a] and set(infos[a]) == {"possessed"} for a in env.agents)
    obs, _, _, _, infos = env.step({})
    assert all("action_mask" in obs[a] and set(infos[a]) == {"possessed"} for a in env.agents)
