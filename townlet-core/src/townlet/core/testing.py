"""``check_env``: a stricter conformance check for PettingZoo parallel envs.

PettingZoo's ``parallel_seed_test`` compares only the first step and its
``parallel_api_test`` never checks that observations lie in their spaces.
:func:`check_env` runs a seeded episode of up to ``steps`` steps with seeded,
mask-respecting random actions, checking every step:

- the keys of every returned dict are the agents that acted plus newcomers;
- every observation is inside ``observation_space(agent)``; every reward is a
  finite float; every live agent's ``action_mask`` allows at least one action;
- terminated or truncated agents leave ``agents`` and never come back;
  ``agents`` stays within ``possible_agents``; with ``fixed_agents=True``
  (a fixed-slot env such as ``SlotParallelEnv``) ``agents`` is instead
  ``possible_agents`` at every step until the episode is truncated, a
  terminated agent staying on;

then runs the same seed again and requires the two runs to agree bit for bit
at every step (agents, observations, rewards, flags, masks), and another env
seed (with the same action stream) to give a different episode.
``disrupt(env, step)`` is called before each step of every run (tests use it
to force exits and arrivals deterministically).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CheckReport", "EnvCheckError", "check_env"]


class EnvCheckError(AssertionError):
    """The env broke the contract; the message says where and how."""


@dataclass
class CheckReport:
    """What :func:`check_env` saw in its first run."""

    steps: int = 0
    agent_steps: int = 0
    exits: int = 0
    arrivals: int = 0
    truncated: bool = False
    digests: list[str] = field(default_factory=list, repr=False)


def _feed(h: Any, value: Any) -> None:
    if isinstance(value, Mapping):
        for key in sorted(value):
            h.update(str(key).encode())
            _feed(h, value[key])
    elif isinstance(value, np.ndarray):
        h.update(str((value.dtype, value.shape)).encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, list | tuple):
        for item in value:
            _feed(h, item)
    else:
        h.update(repr(value).encode())


def _digest(*values: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for value in values:
        _feed(h, value)
    return h.hexdigest()


def _fail(step: int, message: str) -> EnvCheckError:
    return EnvCheckError(f"step {step}: {message}")


def _mask_of(obs: Any, info: Mapping[str, Any]) -> np.ndarray | None:
    if isinstance(obs, Mapping) and "action_mask" in obs:
        return np.asarray(obs["action_mask"])
    if "action_mask" in info:
        return np.asarray(info["action_mask"])
    return None


def _check_outputs(
    env: Any,
    step: int,
    expected: set[str],
    obs: Mapping[str, Any],
    infos: Mapping[str, Any],
    rest: tuple[Mapping[str, Any], ...] = (),
) -> None:
    for name, d in (
        ("observations", obs),
        ("infos", infos),
        *zip(("rewards", "terminations", "truncations"), rest, strict=False),
    ):
        if set(d) != expected:
            extra, missing = sorted(set(d) - expected), sorted(expected - set(d))
            raise _fail(step, f"{name} keys wrong: extra {extra}, missing {missing}")
    for agent, o in obs.items():
        space = env.observation_space(agent)
        if not space.contains(o):
            raise _fail(step, f"observation of {agent} is not in its space: {_why(space, o)}")
        mask = _mask_of(o, infos[agent])
        done = bool(rest and (rest[1][agent] or rest[2][agent]))
        if mask is not None and not done and not np.asarray(mask).any():
            raise _fail(step, f"{agent} is live but every action is masked")
    if rest:
        for agent, r in rest[0].items():
            if not isinstance(r, float | int | np.floating) or not math.isfinite(float(r)):
                raise _fail(step, f"reward of {agent} is not a finite number: {r!r}")


def _why(space: Any, obs: Any) -> str:
    parts = getattr(space, "spaces", None)
    if isinstance(parts, Mapping) and isinstance(obs, Mapping):
        bad = [k for k, s in parts.items() if k not in obs or not s.contains(obs[k])]
        details = []
        for k in bad[:3]:
            value = np.asarray(obs.get(k))
            sub = parts[k]
            low, high = getattr(sub, "low", None), getattr(sub, "high", None)
            if low is not None and value.shape == np.shape(low):
                out = np.flatnonzero(((value < low) | (value > high)).ravel())
                details.append(f"{k} (dtype {value.dtype}, {out.size} values out of bounds)")
            else:
                details.append(f"{k} (dtype {value.dtype}, shape {value.shape})")
        return ", ".join(details) or "unknown keys"
    value = np.asarray(obs)
    return f"dtype {value.dtype}, shape {value.shape}"


def _run(
    env: Any,
    seed: int,
    steps: int,
    disrupt: Callable[[Any, int], None] | None,
    action_seed: int,
    fixed_agents: bool,
) -> CheckReport:
    report = CheckReport()
    rng = np.random.default_rng(action_seed)
    obs, infos = env.reset(seed=seed)
    live = list(env.agents)
    _check_outputs(env, 0, set(live), obs, infos)
    report.digests.append(_digest(live, obs, infos))
    finished: set[str] = set()
    for step in range(1, steps + 1):
        if not env.agents:
            break
        if disrupt is not None:
            disrupt(env, step)
        actions = {}
        for agent in env.agents:
            mask = _mask_of(obs.get(agent), infos.get(agent, {}))
            choices = (
                np.flatnonzero(mask) if mask is not None else np.arange(env.action_space(agent).n)
            )
            actions[agent] = int(choices[rng.integers(choices.size)]) if choices.size else 0
        before = set(env.agents)
        obs, rewards, terms, truncs, infos = env.step(actions)
        after = set(env.agents)
        newcomers = after - before
        expected = before | newcomers
        _check_outputs(env, step, expected, obs, infos, (rewards, terms, truncs))
        if fixed_agents:
            ended = any(truncs.values())
            if list(env.agents) != ([] if ended else list(env.possible_agents)):
                raise _fail(step, f"agents changed in a fixed-agent env: {env.agents}")
        else:
            _check_finished(step, expected, after, finished, terms, truncs)
        unknown = after - set(env.possible_agents)
        if unknown:
            raise _fail(step, f"agents outside possible_agents: {sorted(unknown)}")
        report.steps = step
        report.agent_steps += len(before)
        report.exits += sum(bool(terms[a] or infos[a].get("exited")) for a in before)
        report.arrivals += len(newcomers) + sum(bool(infos[a].get("arrived")) for a in before)
        report.truncated = report.truncated or any(truncs.values())
        report.digests.append(_digest(sorted(after), obs, rewards, terms, truncs, infos))
    return report


def _check_finished(
    step: int,
    expected: set[str],
    after: set[str],
    finished: set[str],
    terms: Mapping[str, Any],
    truncs: Mapping[str, Any],
) -> None:
    """Finished agents leave ``agents`` for good; nobody leaves without finishing."""
    revived = after & finished
    if revived:
        raise _fail(step, f"finished agents came back: {sorted(revived)}")
    for agent in expected:
        if terms[agent] or truncs[agent]:
            if agent in after:
                raise _fail(step, f"{agent} is terminated or truncated but still in agents")
            finished.add(agent)
        elif agent not in after:
            raise _fail(step, f"{agent} left agents without being terminated or truncated")


def check_env(
    env: Any,
    *,
    steps: int = 300,
    seed: int = 0,
    disrupt: Callable[[Any, int], None] | None = None,
    fixed_agents: bool = False,
) -> CheckReport:
    """Check ``env`` (a PettingZoo ``ParallelEnv``); raise :class:`EnvCheckError` on failure.

    Returns the :class:`CheckReport` of the first run (steps, exits, arrivals;
    an agent's exit or arrival counts also when ``infos`` report it as
    ``exited``/``arrived``, as a fixed-slot env does).
    """
    first = _run(env, seed, steps, disrupt, seed, fixed_agents)
    second = _run(env, seed, steps, disrupt, seed, fixed_agents)
    for step, (a, b) in enumerate(zip(first.digests, second.digests, strict=False)):
        if a != b:
            raise EnvCheckError(
                f"step {step}: the same seed ({seed}) gave a different result on the second run; "
                "the env is not deterministic under reset(seed=...)"
            )
    if len(first.digests) != len(second.digests):
        raise EnvCheckError(
            f"the same seed ran {first.steps} steps the first time, {second.steps} the second"
        )
    other = _run(env, seed + 1, min(steps, 50), disrupt, seed, fixed_agents)
    if other.digests == first.digests[: len(other.digests)]:
        raise EnvCheckError(f"seeds {seed} and {seed + 1} gave identical episodes")
    return first
