"""The fixed-slot view of a town: agents ``slot_0 … slot_{S-1}``, always present.

RL libraries that turn a multi-agent env into a vector of single-agent envs
(SuperSuit's ``pettingzoo_env_to_vec_env_v1`` for Stable-Baselines3, TorchRL's
``PettingZooWrapper``, RLlib's runners) expect a fixed set of agents that
never changes within an episode. A town's citizens come and go, so
:class:`SlotParallelEnv` names its agents by slot (the town's agent rows):

- a slot's citizen leaving ends that slot's episode: ``terminations[slot]``
  is True on that step (with ``exit_terminates=False``: only
  ``infos[slot]["exited"]``, see below) and its observation is all zeros;
- while the slot is empty (``infos[slot]["vacant"]``) it shows zeros, only
  ``wait`` is allowed and its reward is 0: padding to leave out of training;
- a newcomer taking the slot starts the slot's next episode
  (``infos[slot]["arrived"]``; the observation's ``ctx_reset_flag`` is 1);
- every slot is truncated at the horizon, and ``possible_agents`` never
  changes.

``infos[slot]`` always holds the same keys (``action_mask`` unless
``mask_in_obs``, ``possessed``, ``vacant``, ``exited``, ``arrived``), all
numbers or arrays, so libraries that turn infos into tensors can.
:attr:`SlotParallelEnv.slot_agents` says which citizen holds each slot.

PettingZoo's ``ParallelEnv`` contract says an agent that terminates leaves
``agents`` for the rest of the episode; a slot that terminates stays (it is
the shape vectorising libraries need). ``exit_terminates=False`` gives the
strict contract instead: a departure is reported only in infos (the
leaving step carries the terminal reward), the slot's ``terminations`` stay
False, and the slot goes on, as SuperSuit's ``black_death`` wrapper would
make it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from townlet.core.env._town import ConfigSource, StepResult, step_towns
from townlet.core.env.parallel import AgentID, Obs, StepOutput, TownletParallelEnv
from townlet.core.world.options import OPTIONS, Option

__all__ = ["SlotParallelEnv"]


class SlotParallelEnv(TownletParallelEnv):
    """One town as a PettingZoo parallel env with one agent per slot (see the module
    docstring). Takes :class:`TownletParallelEnv`'s arguments except ``max_newcomers``."""

    metadata: ClassVar[dict[str, Any]] = {**TownletParallelEnv.metadata, "name": "townlet_slots_v0"}

    def __init__(
        self, config: ConfigSource = None, *, exit_terminates: bool = True, **kwargs: Any
    ) -> None:
        if "max_newcomers" in kwargs:
            raise TypeError("SlotParallelEnv has a fixed set of agents: drop max_newcomers")
        super().__init__(config, max_newcomers=0, **kwargs)
        self.exit_terminates = exit_terminates
        self.possible_agents = [f"slot_{i}" for i in range(self.town.n_slots)]
        self._index = {name: i for i, name in enumerate(self.possible_agents)}
        self._wait_only = np.zeros(len(OPTIONS), dtype=np.int8)
        self._wait_only[Option.WAIT] = 1

    # -- episode -------------------------------------------------------------

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[AgentID, Obs], dict[AgentID, dict[str, Any]]]:
        """Start an episode in a fresh world (seeding as :class:`TownletParallelEnv`)."""
        world = self._reset_world(seed)
        self.agents = list(self.possible_agents)
        vacant = ~world.agents.alive
        rows, masks = self._slot_rows(self.town.encode(), world.action_masks(), vacant)
        no = [False] * len(rows)
        obs = dict(zip(self.agents, rows, strict=True))
        return obs, self._infos(masks, no, vacant.tolist(), no, no)

    def step(self, actions: Mapping[AgentID, Any]) -> StepOutput:
        """Apply one option per slot (missing ones wait; empty slots always wait) and
        advance one tick. Raises ``RuntimeError`` once the episode has reached its horizon,
        ``KeyError`` for a name that is not a slot."""
        self._check_steppable()
        world = self.town.world
        assert world is not None
        opts = self._options
        opts.fill(Option.WAIT)
        index = self._index
        for agent, action in actions.items():
            try:
                opts[index[agent]] = int(action)
            except KeyError:
                last = self.possible_agents[-1]
                raise KeyError(f"{agent!r} is not a slot of this env (slot_0 … {last})") from None
        opts[~world.agents.alive] = Option.WAIT
        return self._slot_outputs(step_towns([self.town], opts, self.pipeline))

    def _slot_outputs(self, result: StepResult) -> StepOutput:
        world = self.town.world
        assert world is not None
        vacant = ~world.agents.alive
        rows, masks = self._slot_rows(
            self.town.encode(rows=result.rows), world.action_masks(result.rows), vacant
        )
        exited = result.terminated
        # a slot earns rewards while a citizen acts in it (the leaver's last step, with its
        # terminal penalty, included); empty slots and a newcomer's first step earn nothing
        earned = exited | (result.acted & ~result.spawned)
        rewards = np.where(earned, result.rewards, 0.0).tolist()
        trunc = result.truncated[0]
        term = exited if self.exit_terminates else np.zeros_like(exited)
        agents = self.possible_agents
        obs = dict(zip(agents, rows, strict=True))
        rew = dict(zip(agents, rewards, strict=True))
        terminations = dict(zip(agents, term.tolist(), strict=True))
        truncations = dict(zip(agents, (trunc & ~term).tolist(), strict=True))
        infos = self._infos(
            masks,
            result.possessed.tolist(),
            vacant.tolist(),
            exited.tolist(),
            result.spawned.tolist(),
        )
        if self.info_rewards:
            for i, agent in enumerate(agents):
                infos[agent]["rewards"] = {
                    label: float(v[i]) for label, v in self.pipeline.breakdown.items()
                }
        if trunc:
            self.agents = []
            self._finished = True
        return obs, rew, terminations, truncations, infos

    def _slot_rows(
        self,
        arrays: Mapping[str, npt.NDArray[np.float32]],
        masks: npt.NDArray[np.bool_],
        vacant: npt.NDArray[np.bool_],
    ) -> tuple[list[Obs], list[npt.NDArray[np.int8]]]:
        """Every slot's observation and mask; empty slots show zeros and allow only wait."""
        int_masks = masks.astype(np.int8)
        if vacant.any():
            for values in arrays.values():
                values[vacant] = 0.0  # fresh arrays from the encoder: safe to write
            int_masks[vacant] = self._wait_only
        return self._row_views(arrays, int_masks)

    def _infos(
        self,
        masks: list[npt.NDArray[np.int8]],
        possessed: list[bool],
        vacant: list[bool],
        exited: list[bool],
        arrived: list[bool],
    ) -> dict[AgentID, dict[str, Any]]:
        parts = zip(self.possible_agents, masks, possessed, vacant, exited, arrived, strict=True)
        if self.mask_in_obs:
            return {
                agent: {"possessed": p, "vacant": v, "exited": e, "arrived": a}
                for agent, _, p, v, e, a in parts
            }
        return {
            agent: {"action_mask": m, "possessed": p, "vacant": v, "exited": e, "arrived": a}
            for agent, m, p, v, e, a in parts
        }

    # -- extras ---------------------------------------------------------------

    @property
    def agent_slots(self) -> Mapping[AgentID, int]:
        """The slot of every citizen in town now, by town id (``agent_003`` → 3)."""
        return {aid: i for i, aid in enumerate(self.slot_agents) if aid is not None}

    def action_mask(self, agent: AgentID) -> npt.NDArray[np.int8]:
        """The option mask of a slot for the next step (only ``wait`` while it is empty)."""
        world = self.town.world
        if world is None:
            raise RuntimeError("reset() the env first")
        slot = self._index[agent]
        if not world.agents.alive[slot]:
            return self._wait_only.copy()
        mask: npt.NDArray[np.int8] = world.action_masks()[slot].astype(np.int8)
        return mask
