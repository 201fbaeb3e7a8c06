"""Vectorised towns: batched arrays, auto-reset, determinism, the multiprocess form."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

from tests.env.helpers import force_exit
from townlet.core.env import SubprocVectorTownEnv, VectorTownEnv
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.world.rows import TownRows


def scripted_actions(venv: VectorTownEnv) -> np.ndarray:
    policy = ScriptedPolicy(ScriptedPolicyParams())
    return np.concatenate([policy.act(w) for w in venv.worlds])


def test_batched_shapes_and_spec() -> None:
    venv = VectorTownEnv(3, encoder="full", horizon=20)
    obs, info = venv.reset(seed=1)
    rows = 3 * 8
    assert venv.num_rows == rows
    for comp in venv.spec.components:
        assert obs[comp.name].shape == (rows, *comp.shape)
        assert obs[comp.name].dtype == np.float32
    obs, rew, term, trunc, info = venv.step(np.zeros(rows, np.int64))
    assert rew.shape == term.shape == trunc.shape == (rows,)
    assert info["action_mask"].shape == (rows, 7) and info["alive"].all()
    assert venv.spec.violations(obs) == []


def test_towns_match_their_single_town_runs() -> None:
    venv = VectorTownEnv(2, horizon=50)
    venv.reset(seed=10)
    single = VectorTownEnv(1, horizon=50)
    single.reset(seed=11)  # town 1 of the batch starts from seed 10 + 1
    for _ in range(30):
        acts = scripted_actions(venv)
        obs, rew, _, _, info = venv.step(acts)
        obs1, rew1, _, _, info1 = single.step(acts[8:])
        for k in obs:
            np.testing.assert_array_equal(obs[k][8:], obs1[k])
        np.testing.assert_array_equal(rew[8:], rew1)
        np.testing.assert_array_equal(info["action_mask"][8:], info1["action_mask"])


@pytest.mark.parametrize(
    "overrides",
    [
        (),
        (
            "features.stages.relationships=C",
            "features.stages.social_rewards=C3",
            "rewards.stages=[{name: social_chat}, {name: social_avoidance}, "
            "{name: social_quality}, {name: curiosity}, {name: death_guard}, {name: clip}]",
        ),
    ],
    ids=["default", "social"],
)
def test_one_pipeline_for_all_towns_rewards_each_as_if_alone(overrides: tuple[str, ...]) -> None:
    """Rewards and every stage's terms of a batched town equal its run on its own,
    across auto-resets (stage state restarts with each town's new episode)."""
    venv = VectorTownEnv(3, horizon=15, reward_terms=True, overrides=overrides)
    venv.reset(seed=5)
    alone = VectorTownEnv(1, horizon=15, reward_terms=True, town_offset=2, overrides=overrides)
    alone.reset(seed=5)  # town 2 of the batch: same world seed and reset-seed stream
    resets = 0
    for _ in range(40):
        acts = scripted_actions(venv)
        _, rew, term, trunc, info = venv.step(acts)
        _, rew1, term1, trunc1, info1 = alone.step(acts[16:])
        np.testing.assert_array_equal(rew[16:], rew1)
        np.testing.assert_array_equal(term[16:], term1)
        np.testing.assert_array_equal(trunc[16:], trunc1)
        for label, values in info["reward_terms"].items():
            np.testing.assert_array_equal(values[16:], info1["reward_terms"][label], label)
        resets += len(info["reset_towns"])
    assert resets == 6
    assert venv.reward_stats().count == 3 * alone.reward_stats().count


def test_towns_keep_their_agents_in_one_row_storage() -> None:
    """Batched readers see the storage itself, before and after auto-resets."""
    venv = VectorTownEnv(3, horizon=5)
    venv.reset(seed=2)
    for _ in range(12):
        venv.step(scripted_actions(venv))
        rows = TownRows(venv.worlds)
        assert rows.agents.needs is venv.agent_rows.needs
        for t, w in enumerate(venv.worlds):
            assert np.shares_memory(w.agents.needs, venv.agent_rows.needs)
            np.testing.assert_array_equal(
                w.agents.wallet, venv.agent_rows.wallet[t * 8 : t * 8 + 8]
            )
    assert venv.worlds[0].tick == 2  # reset twice on the way
    mixed = TownRows([venv.worlds[1], venv.worlds[0]])  # out of order: concatenated copies
    assert not np.shares_memory(mixed.agents.needs, venv.agent_rows.needs)
    np.testing.assert_array_equal(mixed.agents.needs[:8], venv.worlds[1].agents.needs)


def test_auto_reset_at_the_horizon_keeps_final_observations() -> None:
    venv = VectorTownEnv(2, horizon=10, reward_terms=True)
    venv.reset(seed=0)
    for _ in range(10):
        obs, rew, _, trunc, info = venv.step(scripted_actions(venv))
    assert info["reset_towns"] == [0, 1] and trunc.all() and info["final_mask"].all()
    assert venv.worlds[0].tick == 0
    final = info["final_obs"]["scalars"]
    progress = venv.spec["scalars"].feature_names().index("scalars.episode.progress")
    assert (final[:, progress] == 1.0).all() and (obs["scalars"][:, progress] == 0.0).all()
    assert set(info["reward_terms"]) >= {"homeostasis", "clip"}
    np.testing.assert_allclose(sum(info["reward_terms"].values()), rew, atol=1e-6)
    obs, rew, _, trunc, info = venv.step(scripted_actions(venv))
    assert not trunc.any() and info["reset_towns"] == []
    assert venv.reward_stats().count == 11 * 16


def test_exits_show_as_terminated_rows() -> None:
    venv = VectorTownEnv(2, horizon=100)
    venv.reset(seed=3)
    force_exit(venv.worlds[1], 2)
    _, rew, term, _, info = venv.step(scripted_actions(venv))
    assert term[8 + 2] and term.sum() == 1 and rew[8 + 2] < -0.5
    assert not info["alive"][8 + 2] and info["acted"][8 + 2]
    _, _, term, _, info = venv.step(scripted_actions(venv))
    assert not term.any() and not info["acted"][8 + 2]


def test_same_seed_same_numbers() -> None:
    def run() -> list[bytes]:
        venv = VectorTownEnv(2, encoder="compact", horizon=15)
        venv.reset(seed=4)
        rng = np.random.default_rng(0)
        out = []
        for _ in range(40):
            obs, rew, *_ = venv.step(rng.integers(0, 7, venv.num_rows))
            out.append(obs["scalars"].tobytes() + rew.tobytes())
        return out

    assert run() == run()


def test_subprocess_towns_equal_in_process_towns() -> None:
    local = VectorTownEnv(4, encoder="compact", horizon=25)
    with SubprocVectorTownEnv(4, encoder="compact", horizon=25, num_workers=2) as remote:
        local.reset(seed=7)
        remote.reset(seed=7)
        rng = np.random.default_rng(1)
        for _ in range(60):
            acts = rng.integers(0, 7, local.num_rows)
            lo, lr, _, ltr, li = local.step(acts)
            ro, rr, _, rtr, ri = remote.step(acts)
            for k in lo:
                np.testing.assert_array_equal(lo[k], ro[k])
            np.testing.assert_array_equal(lr, rr)
            np.testing.assert_array_equal(ltr, rtr)
            assert li["reset_towns"] == ri["reset_towns"]
        assert remote.reward_stats().count == local.reward_stats().count


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="num_towns"):
        VectorTownEnv(0)
    with pytest.raises(ValueError, match="num_workers"):
        SubprocVectorTownEnv(2, num_workers=3)
    with pytest.raises(RuntimeError, match="reset"):
        VectorTownEnv(1).step(np.zeros(8, np.int64))


def test_possessed_rows_are_flagged() -> None:
    venv = VectorTownEnv(2, horizon=50)
    _, info = venv.reset(seed=0)
    assert not info["possessed"].any()
    world = venv.worlds[1]
    world.agents.possessed[3] = True  # what the console's possess command sets
    _, _, _, _, info = venv.step(np.zeros(venv.num_rows, np.int64))
    assert info["possessed"].nonzero()[0].tolist() == [venv.slots + 3]


def test_scripted_actions_for_all_towns_at_once_equal_town_by_town() -> None:
    venv = VectorTownEnv(4, horizon=300, overrides=["features.stages.relationships=C"])
    venv.reset(seed=8)
    batched = ScriptedPolicy(ScriptedPolicyParams())
    one_by_one = ScriptedPolicy(ScriptedPolicyParams())  # same stream: default_rng(0)
    chats, mixed_weather = 0, False
    for _ in range(400):  # weathers differ between towns; an auto-reset on the way
        mixed_weather |= len({w.weather for w in venv.worlds}) > 1
        acts = batched.act_many(TownRows(venv.worlds))
        np.testing.assert_array_equal(
            acts, np.concatenate([one_by_one.act(w) for w in venv.worlds])
        )
        chats += int((acts == 6).sum())
        venv.step(acts)
    assert chats > 0 and mixed_weather


def test_a_failing_batch_encoder_fails_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """An encoder error is raised, not hidden by encoding the towns some other way."""
    venv = VectorTownEnv(2, horizon=20)
    enc = type(venv.runtime.encoder)

    def broken(self, rows, out=None):
        raise ValueError("an encoder bug")

    monkeypatch.setattr(enc, "encode", broken)
    venv = VectorTownEnv(2, horizon=20)
    with pytest.raises(ValueError, match="an encoder bug"):
        venv.reset(seed=0)


def test_unseeded_resets_take_fresh_seeds_and_seeded_ones_repeat() -> None:
    def seeds(seed: int | None) -> list[int]:
        venv = VectorTownEnv(2, encoder="compact", horizon=5)
        venv.reset(seed=seed)
        return [w.seed for w in venv.worlds]

    a, b = seeds(None), seeds(None)
    assert a != b and a[1] == a[0] + 1
    assert seeds(4) == seeds(4) == [4, 5]


@pytest.mark.parametrize(
    ("module", "library", "hint"),
    [
        ("sb3", "stable_baselines3", "pip install stable-baselines3"),
        ("torchrl_env", "torchrl", "pip install torchrl"),
    ],
)
def test_library_adapters_without_their_library_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str, library: str, hint: str
) -> None:
    for name in [library, *(m for m in sys.modules if m.startswith(f"{library}."))]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    monkeypatch.delitem(sys.modules, f"townlet.core.env.{module}", raising=False)
    with pytest.raises(ImportError, match=hint):
        importlib.import_module(f"townlet.core.env.{module}")


def test_skipping_episodes_lands_where_stepping_through_them_does() -> None:
    stepped = VectorTownEnv(2, encoder="compact", horizon=5, town_offset=1)
    stepped.reset(seed=4)
    for _ in range(2 * 5):  # two horizons: both towns auto-reset twice
        stepped.step(scripted_actions(stepped))
    skipped = VectorTownEnv(2, encoder="compact", horizon=5, town_offset=1)
    skipped.reset(seed=4)
    obs, info = skipped.skip_episodes(2)
    assert [t.seed for t in skipped.towns] == [t.seed for t in stepped.towns]
    for name, value in stepped.obs.items():
        np.testing.assert_array_equal(obs[name], value)
    np.testing.assert_array_equal(info["action_mask"], stepped.buffers["action_mask"])
    for _ in range(6):  # and both go on alike, the next auto-reset included
        a = scripted_actions(stepped)
        _, r1, *_ = stepped.step(a)
        _, r2, *_ = skipped.step(a)
        np.testing.assert_array_equal(r1, r2)
    with pytest.raises(ValueError, match="episodes must be >= 0"):
        skipped.skip_episodes(-1)
    with pytest.raises(RuntimeError, match="reset"):
        VectorTownEnv(1, horizon=5).skip_episodes(1)
