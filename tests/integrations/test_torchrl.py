"""TorchRL over the town: ``PettingZooWrapper`` on the fixed-slot view, and the batched
``TownTorchRLEnv`` on vectorised towns (the docs/env.md recipes).

Exits are forced through the console bus; ``features.lifecycle=true`` brings
the newcomers. The mask may sit in the observation (``mask_in_obs=True``) or
in infos: TorchRL finds it in either, and infos hold only numbers.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pettingzoo")
pytest.importorskip("torchrl")

from typing import Any

import torch
from torchrl.envs.libs.pettingzoo import PettingZooWrapper
from torchrl.envs.utils import check_env_specs

from tests.env.disrupted import DisruptedSlots
from tests.env.helpers import LIFECYCLE, ConsoleExits
from townlet.core.env import VectorTownEnv
from townlet.core.env.torchrl_env import TownTorchRLEnv

STEPS = 250
"""Town steps: 2,000 agent-steps over eight slots, two horizons and a half."""


@pytest.mark.filterwarnings("ignore:PettingZoo in TorchRL is tested using version")
@pytest.mark.parametrize("mask_in_obs", [False, True])
def test_pettingzoo_wrapper_rolls_out_through_exits_and_arrivals(mask_in_obs: bool) -> None:
    town = DisruptedSlots(overrides=LIFECYCLE, flatten=True, mask_in_obs=mask_in_obs, horizon=100)
    # done_on_any=False: one slot's citizen leaving ends that slot's episode, not the town's
    env = PettingZooWrapper(town, done_on_any=False, categorical_actions=True, seed=0)
    assert env.group_map == {"slot": town.possible_agents}
    rollout = env.rollout(STEPS, break_when_any_done=False)  # random actions within the mask
    slot = rollout["slot"]
    after = rollout["next", "slot"]
    assert slot["action"].shape == (STEPS, 8)
    taken = slot["action_mask"].gather(-1, slot["action"].unsqueeze(-1))
    assert bool(taken.all())
    assert int(after["terminated"].sum()) == 8  # kills at ticks 10, 40, 75 of each episode
    assert int(after["info", "arrived"].sum()) >= 2
    vacant = after["info", "vacant"].bool()
    assert bool((after["reward"].squeeze(-1)[vacant & ~after["terminated"].squeeze(-1)] == 0).all())
    assert int(rollout["next", "done"].sum()) == 2  # the horizon, twice
    flat = slot["observation"] if not mask_in_obs else slot["observation", "observation"]
    assert flat.shape == (STEPS, 8, town.spec.size) and flat.dtype == torch.float32


class DisruptedTowns(TownTorchRLEnv):
    """``TownTorchRLEnv`` whose console removes citizens on schedule in every town."""

    def __init__(self, venv: VectorTownEnv) -> None:
        super().__init__(venv)
        self.exits = ConsoleExits({10: 1, 40: 5})

    def _step(self, tensordict: Any) -> Any:
        for world in self.venv.worlds:
            self.exits(world)
        return super()._step(tensordict)


def test_batched_env_over_vectorised_towns() -> None:
    env = DisruptedTowns(VectorTownEnv(2, overrides=LIFECYCLE, horizon=100))
    check_env_specs(env, seed=0)
    env.set_seed(3)
    rollout = env.rollout(125, break_when_any_done=False)  # 2,000 agent-steps
    assert rollout.batch_size == (16, 125)
    taken = rollout["action_mask"].gather(-1, rollout["action"].unsqueeze(-1))
    assert bool(taken.all())
    after = rollout["next"]
    assert int(after["terminated"].sum()) == 6  # ticks 10 and 40, then 10 again, in each town
    assert int(after["arrived"].sum()) >= 4
    assert bool((after["reward"][after["vacant"] & ~after["exited"]] == 0).all())
    ends = after["truncated"].squeeze(-1)
    assert int(ends.sum()) == 16  # every row once, at tick 100
    # at the horizon "next" holds the episode's last observation; the root of the
    # following step the new episode's first
    last, first = after["observation"][:, 99], rollout["observation"][:, 100]
    assert bool(ends[:, 99].all()) and not torch.equal(last, first)
    again = DisruptedTowns(VectorTownEnv(2, overrides=LIFECYCLE, horizon=100))
    again.set_seed(3)
    torch.manual_seed(0)
    a = again.rollout(30, break_when_any_done=False)
    env.set_seed(3)
    torch.manual_seed(0)
    b = env.rollout(30, break_when_any_done=False)
    assert torch.equal(a["next", "observation"], b["next", "observation"])


def test_an_empty_slot_at_the_horizon_ends_its_episode_too() -> None:
    venv = VectorTownEnv(1, encoder="compact", horizon=20, overrides=LIFECYCLE)
    env = TownTorchRLEnv(venv)
    env.set_seed(1)
    td = env.reset()
    exits = ConsoleExits({16: 2})  # newcomers come 5+ ticks later: slot 2 is empty at 20
    for _ in range(20):
        exits(venv.worlds[0])
        td["action"] = torch.zeros(8, dtype=torch.int64)
        td = env.step(td)
        nxt = td["next"]
        td = nxt.exclude("reward", "done", "terminated", "truncated")
    assert bool(nxt["truncated"].all()) and not bool(nxt["terminated"].any())
    assert not bool(nxt["observation"][2].any()) and bool(nxt["observation"][3].any())
