"""PPO for Townlet: one shared policy for every citizen, learning at decision points.

The body of :meth:`PPOStrategy.run` reads top to bottom like CleanRL's
``ppo.py`` (https://github.com/vwxyzjn/cleanrl/blob/master/cleanrl/ppo.py):
collect a rollout → compute advantages → update epochs → log. What differs
is the data: a citizen's option stays committed for up to
``world.commit_window`` ticks, so a transition is one *decision* — the
rewards until the agent's next decision are summed with per-tick
discounting and the next state is discounted by ``γ^τ``, ``τ`` ticks later
(a semi-MDP; docs/training.md). Modes: ``rollout`` (fresh rollouts each
epoch), ``replay`` (captured samples, per-tick transitions) and ``mixed``
(both in every batch).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

import numpy as np
import torch
from pydantic import BaseModel, Field
from torch import nn, optim

from townlet.core.config.models import TrainingConfig
from townlet.core.env.vector import VectorTownEnv
from townlet.core.errors import TownletError
from townlet.core.ports import PLUGIN_API_VERSION, PluginParams, TrainingContext
from townlet.core.training.backends import load_ray_backend
from townlet.core.training.dto import EpochRecord, TrainingResult
from townlet.strategies._buffer import gae
from townlet.strategies._replay import ReplayTransitions
from townlet.strategies._rollout import DecisionCollector
from townlet.strategies.checkpoint import (
    CHECKPOINT_DIR,
    FINAL,
    CheckpointError,
    check_compatible,
    encoder_params,
    load_checkpoint,
    save_checkpoint,
)
from townlet.strategies.network import ActorCritic, log_probs
from townlet.strategies.network import entropy as policy_entropy

if TYPE_CHECKING:
    from townlet.strategies.ray.rollouts import RayCollector, RayRollouts

__all__ = ["METRICS_LOG", "PPOParams", "PPOStrategy"]

METRICS_LOG: Final = "metrics.jsonl"
"""Per-epoch metrics under CleanRL/SB3 names (episodic return included), one JSON line each,
in the run directory: what ``benchmarks/plot_learning.py`` plots."""
DEFAULT_EPOCHS: Final = 100
"""Epochs when neither ``training.epochs`` nor ``training.total_steps`` is set."""


class PPOParams(PluginParams):
    """Hyperparameters of ``ppo`` (``training.params``). Names follow CleanRL's ``ppo.py``."""

    learning_rate: float = Field(1e-3, gt=0, le=1, description="Adam learning rate (0..1].")
    anneal_lr: bool = Field(
        True, description="Anneal the learning rate linearly to 0 over the run."
    )
    gamma: float = Field(
        0.99,
        gt=0,
        le=1,
        description="Discount per simulation tick (0..1]; a decision τ ticks later is discounted "
        "by gamma**τ.",
    )
    gae_lambda: float = Field(
        0.95, ge=0, le=1, description="GAE λ per decision (0..1): bias/variance of advantages."
    )
    reward_scale: float = Field(
        1.0, gt=0, le=1000, description="Rewards are multiplied by this for learning (0..1000]."
    )
    num_minibatches: int = Field(
        4, ge=1, le=1024, description="Minibatches per update epoch (1..1024)."
    )
    update_epochs: int = Field(4, ge=1, le=100, description="Passes over each batch, K (1..100).")
    norm_adv: bool = Field(True, description="Normalise advantages per minibatch.")
    clip_coef: float = Field(0.2, gt=0, le=1, description="Surrogate clipping ε (0..1].")
    clip_vloss: bool = Field(True, description="Clip the value loss like the surrogate.")
    ent_coef: float = Field(0.01, ge=0, le=1, description="Entropy bonus coefficient (0..1).")
    vf_coef: float = Field(0.5, ge=0, le=10, description="Value loss coefficient (0..10).")
    max_grad_norm: float = Field(0.5, gt=0, description="Global gradient-norm clip (> 0).")
    target_kl: float | None = Field(
        None, gt=0, description="Stop an update early once approx KL exceeds this (null: never)."
    )
    hidden: int = Field(
        128, ge=8, le=4096, description="Width of the shared layer and LSTM (8..4096)."
    )
    lstm: bool = Field(
        False,
        description="Add an LSTM cell stepped at each decision, reset on ctx_reset_flag and at "
        "episode start (trained from the stored state of each decision).",
    )
    replay_fraction: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="mixed mode: share of each batch drawn from the replay data (0..1).",
    )
    threads: int = Field(
        1,
        ge=0,
        le=256,
        description="torch CPU threads (0: torch's default); 1 is fastest on small CPUs.",
    )
    checkpoint_every: int = Field(
        10, ge=0, description="Write checkpoints/epoch_N.pt every this many epochs (0: only final)."
    )
    init_from: Path | None = Field(
        None,
        description="Start from this checkpoint's weights (a .pt file or a run directory); the "
        "optimiser starts fresh. A curriculum carries its policy across stages this way.",
    )


def _metrics(record: EpochRecord, extra: dict[str, float]) -> dict[str, float]:
    """CleanRL/SB3-style names of an epoch's statistics."""
    return {
        "losses/policy_loss": record.loss_policy,
        "losses/value_loss": record.loss_value,
        "losses/entropy": record.loss_entropy,
        "losses/loss": record.loss_total,
        "losses/approx_kl": record.approx_kl,
        "losses/clipfrac": record.clip_fraction,
        "losses/explained_variance": record.explained_variance,
        "charts/learning_rate": record.lr,
        "charts/SPS": record.steps_per_sec,
        **extra,
    }


class PPOStrategy:
    """Clipped-surrogate PPO with GAE over decisions, masked options and shared parameters."""

    name: ClassVar[str] = "ppo"
    requires_torch: ClassVar[bool] = True
    backends: ClassVar[tuple[str, ...]] = ("local", "ray")
    Params: ClassVar[type[BaseModel]] = PPOParams
    plugin_api_version: ClassVar[str] = PLUGIN_API_VERSION

    def __init__(self, params: PPOParams) -> None:
        self.params = params
        self.resume: Any = None
        self.init: Any = None
        self.replay: ReplayTransitions | None = None

    def prepare(self, context: TrainingContext) -> None:
        """Load the replay data (replay/mixed) and, with ``--resume``, the run's checkpoint."""
        mode = context.settings.mode
        if mode in ("replay", "mixed"):
            dataset = context.services.replay.load()
            if tuple(dataset.options) != tuple(context.option_names):
                raise TownletError(
                    f"replay options {list(dataset.options)} differ from the run's "
                    f"{list(context.option_names)}"
                )
            self.replay = ReplayTransitions(dataset, self.params.gamma, self.params.reward_scale)
            if self.replay.size == 0:
                raise TownletError("the replay data holds no decisions to learn from")
        if context.resume_from is not None:
            ckpt = load_checkpoint(context.resume_from / CHECKPOINT_DIR / FINAL)
            check_compatible(ckpt, context.spec, context.option_names)
            if ckpt.hyperparameters != self.params.model_dump(mode="json"):
                raise TownletError(
                    f"{ckpt.path} was trained with other hyperparameters; resume with the same "
                    "training.params (see its config.yaml)"
                )
            self.resume = ckpt
        elif self.params.init_from is not None:
            ckpt = load_checkpoint(self.params.init_from)
            check_compatible(ckpt, context.spec, context.option_names)
            self.init = ckpt

    def run(self, context: TrainingContext) -> TrainingResult:
        """Train for the configured budget; see the module docstring."""
        if context.settings.backend == "ray":  # rollouts on Ray actors (docs/scale-out.md)
            ray_backend = load_ray_backend("training.backend: ray")
            with ray_backend.RayRollouts.session(context, self.params) as rollouts:
                return self._run(context, rollouts)
        return self._run(context, None)

    def _run(self, context: TrainingContext, rollouts: RayRollouts | None) -> TrainingResult:
        p, settings = self.params, context.settings
        start_time = time.time()
        if p.threads:
            torch.set_num_threads(p.threads)
        device = torch.device(context.device)
        mode = settings.mode
        torch.manual_seed(context.seed)
        generator = torch.Generator().manual_seed(context.seed)
        rng = np.random.default_rng(context.seed)

        # -- env, network, optimiser (and the resumed state)
        env: VectorTownEnv | None = None
        collector: DecisionCollector | RayCollector | None = None
        n_options = len(context.option_names)
        net = ActorCritic(context.spec, n_options, hidden=p.hidden, lstm=p.lstm).to(device)
        optimizer = optim.Adam(net.parameters(), lr=p.learning_rate, eps=1e-5)
        epoch, agent_steps, ticks = 0, 0, 0
        if self.resume is not None:
            ck = self.resume
            net.load_state_dict(ck.model)
            optimizer.load_state_dict(ck.optimizer)
            epoch, agent_steps, ticks = ck.epoch, ck.agent_steps, ck.ticks
            torch.set_rng_state(ck.rng["torch"])
            generator.set_state(ck.rng["generator"])
            rng.bit_generator.state = json.loads(ck.rng["numpy"])
        elif self.init is not None:
            try:
                net.load_state_dict(self.init.model)
            except RuntimeError as e:  # another network shape (hidden, lstm)
                raise CheckpointError(
                    f"{self.init.path} does not fit this network (hidden={p.hidden}, "
                    f"lstm={p.lstm}): {e}"
                ) from e
        if mode in ("rollout", "mixed") and rollouts is not None:  # the workers hold the envs
            collector = rollouts.start(net, ticks, agent_steps)
        elif mode in ("rollout", "mixed"):
            env = context.make_env(settings.towns)
            env.reset(seed=context.seed)
            env.skip_episodes(resumed_episode(ticks, env.horizon))
            collector = self._collector(env, net, generator, device)
            collector.agent_steps = agent_steps
        towns = rollouts.towns if rollouts is not None else settings.towns
        rows = towns * context.config.world.agents
        per_epoch = rows * settings.rollout_ticks
        epochs = planned_epochs(settings, per_epoch)
        run_dir = context.output_dir
        written: list[Path] = []
        stopped = False
        record: EpochRecord | None = None
        extra: dict[str, float] = {}

        while epoch < epochs:
            epoch += 1
            t0 = time.time()
            # -- learning-rate annealing (CleanRL: frac = 1 - (update - 1) / num_updates)
            lr = p.learning_rate * (1.0 - (epoch - 1) / epochs) if p.anneal_lr else p.learning_rate
            for group in optimizer.param_groups:
                group["lr"] = lr

            # -- 1. collect: decisions of a fresh rollout and/or replay transitions
            parts: list[dict[str, np.ndarray]] = []
            returns_logged: list[float] = []
            if collector is not None:
                steps_before = collector.agent_steps
                buf = collector.collect(settings.rollout_ticks)
                ticks += settings.rollout_ticks
                batch = buf.view()
                # -- 2. advantages: GAE over decisions, discounted by the ticks between them
                batch["adv"], batch["ret"] = gae(batch, buf.groups, p.gae_lambda)
                parts.append(batch)
                returns_logged = collector.episode_returns
                collector.episode_returns = []
                conflicts, intensity = collector.conflicts, collector.conflict_intensity
                collector.conflicts, collector.conflict_intensity = 0, 0.0
                epoch_steps = collector.agent_steps - steps_before
            else:
                epoch_steps, conflicts, intensity = 0, 0, 0.0
            if self.replay is not None:
                rp = self.replay
                logp, value = rp.score(net, device)
                adv, ret = rp.advantages(value, p.gae_lambda)
                want = (
                    per_epoch
                    if mode == "replay"
                    else int(len(parts[0]["action"]) * p.replay_fraction / (1 - p.replay_fraction))
                )
                pick = rng.choice(rp.size, size=min(max(want, 1), rp.size), replace=False)
                part = rp.take(pick)
                part.update(logprob=logp[pick], value=value[pick], adv=adv[pick], ret=ret[pick])
                parts.append(part)
                epoch_steps += len(pick)
            keys = ["mask", "action", "logprob", "value", "adv", "ret"]
            keys += [k for k in parts[0] if k.startswith("obs.")]
            lstm_state = p.lstm and mode == "rollout"
            if lstm_state:
                keys += ["state_h", "state_c"]
            data = {
                k: torch.from_numpy(np.concatenate([q[k] for q in parts])).to(device) for k in keys
            }
            n = len(data["action"])

            # -- 3. update: K epochs of minibatch steps on the clipped surrogate
            mb_size = max(1, n // p.num_minibatches)
            stats: dict[str, list[float]] = {
                k: [] for k in ("pg", "v", "ent", "loss", "kl", "clip", "gn")
            }
            for _ in range(p.update_epochs if n else 0):
                order = rng.permutation(n)
                for start in range(0, n, mb_size):
                    mb = torch.from_numpy(order[start : start + mb_size]).to(device)
                    obs = {k[4:]: data[k][mb] for k in keys if k.startswith("obs.")}
                    state = (data["state_h"][mb], data["state_c"][mb]) if lstm_state else None
                    logits, newvalue, _ = net(obs, data["mask"][mb], state)
                    newlogprob = log_probs(logits).gather(1, data["action"][mb][:, None]).squeeze(1)
                    entropy = policy_entropy(logits)
                    logratio = newlogprob - data["logprob"][mb]
                    ratio = logratio.exp()
                    with torch.no_grad():
                        # http://joschu.net/blog/kl-approx.html
                        approx_kl = ((ratio - 1) - logratio).mean()
                        stats["clip"].append(
                            ((ratio - 1.0).abs() > p.clip_coef).float().mean().item()
                        )
                    mb_adv = data["adv"][mb]
                    if p.norm_adv and len(mb) > 1:
                        mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                    # policy loss: the clipped surrogate
                    pg_loss1 = -mb_adv * ratio
                    pg_loss2 = -mb_adv * torch.clamp(ratio, 1 - p.clip_coef, 1 + p.clip_coef)
                    pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                    # value loss, clipped around the rollout's values
                    mb_ret, mb_val = data["ret"][mb], data["value"][mb]
                    if p.clip_vloss:
                        v_unclipped = (newvalue - mb_ret) ** 2
                        v_clipped = mb_val + torch.clamp(
                            newvalue - mb_val, -p.clip_coef, p.clip_coef
                        )
                        v_loss = 0.5 * torch.max(v_unclipped, (v_clipped - mb_ret) ** 2).mean()
                    else:
                        v_loss = 0.5 * ((newvalue - mb_ret) ** 2).mean()
                    entropy_loss = entropy.mean()
                    loss = pg_loss - p.ent_coef * entropy_loss + v_loss * p.vf_coef
                    optimizer.zero_grad()
                    loss.backward()
                    grad_norm = nn.utils.clip_grad_norm_(net.parameters(), p.max_grad_norm)
                    optimizer.step()
                    done = {"pg": pg_loss, "v": v_loss, "ent": entropy_loss, "loss": loss}
                    done.update(kl=approx_kl, gn=grad_norm)
                    for key, val in done.items():
                        stats[key].append(float(val.item()))
                if p.target_kl is not None and stats["kl"] and stats["kl"][-1] > p.target_kl:
                    break

            # -- 4. log: the 1.2 epoch record, CleanRL/SB3 names to the progress reporter
            agent_steps += epoch_steps
            seconds = time.time() - t0
            values, rets = data["value"].cpu().numpy(), data["ret"].cpu().numpy()
            var_y = float(np.var(rets)) if n else 0.0
            explained = 0.0 if var_y == 0 else float(1 - np.var(rets - values) / var_y)
            adv_np = data["adv"].cpu().numpy()
            mean = {k: float(np.mean(v)) if v else 0.0 for k, v in stats.items()}

            record = EpochRecord(
                epoch=epoch,
                updates=len(stats["loss"]),
                transitions=epoch_steps,
                loss_policy=mean["pg"],
                loss_value=mean["v"],
                loss_entropy=mean["ent"],
                loss_total=mean["loss"],
                clip_fraction=mean["clip"],
                approx_kl=mean["kl"],
                explained_variance=min(1.0, explained),
                adv_mean=float(adv_np.mean()) if n else 0.0,
                adv_std=float(adv_np.std()) if n else 0.0,
                grad_norm=mean["gn"],
                lr=lr,
                steps_per_sec=epoch_steps / max(seconds, 1e-9),
                data_mode=mode,
                epoch_seconds=seconds,
                rollout_ticks=settings.rollout_ticks if collector is not None else 0,
                episodic_return=float(np.mean(returns_logged)) if returns_logged else None,
                queue_conflict_events=conflicts,
                queue_conflict_intensity_sum=intensity,
                # Ray workers replaced while collecting this epoch (0 on the local backend)
                worker_restarts=getattr(collector, "restarts_this_epoch", 0),
            )
            record = self._annotate(record, collector)
            context.log_epoch(record)
            extra = {"charts/decisions": float(n), "charts/agent_steps": float(agent_steps)}
            if record.episodic_return is not None:
                extra["charts/episodic_return"] = record.episodic_return
            metrics = _metrics(record, extra)
            context.progress(epoch, metrics)
            with (run_dir / METRICS_LOG).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"epoch": epoch, **metrics}) + "\n")
            if p.checkpoint_every and epoch % p.checkpoint_every == 0 and epoch < epochs:
                path = run_dir / CHECKPOINT_DIR / f"epoch_{epoch}.pt"
                written.append(
                    self._save(
                        path, context, net, optimizer, epoch, agent_steps, ticks, generator, rng
                    )
                )
            if context.should_stop() and epoch < epochs:
                stopped = True
                break

        final = run_dir / CHECKPOINT_DIR / FINAL
        written.append(
            self._save(final, context, net, optimizer, epoch, agent_steps, ticks, generator, rng)
        )
        return TrainingResult(
            strategy=self.name,
            config_id=context.config.config_id,
            seed=context.seed,
            run_dir=run_dir,
            mode=mode,
            epochs=epoch,
            transitions=agent_steps,
            seconds=time.time() - start_time,
            stopped_early=stopped,
            final_metrics=_metrics(record, extra) if record is not None else {},
            last_epoch=record,
            checkpoints=tuple(written),
            policy="learned",
        )

    def _collector(
        self, env: VectorTownEnv, net: ActorCritic, generator: torch.Generator, device: torch.device
    ) -> DecisionCollector:
        """The rollout collector (the anneal's mixes in scripted decisions)."""
        p = self.params
        return DecisionCollector(env, net, p.gamma, p.reward_scale, generator, device)

    def _annotate(self, record: EpochRecord, collector: object) -> EpochRecord:
        """The epoch's record as logged (the anneal adds its ratio and stage)."""
        return record

    def _save(
        self,
        path: Path,
        context: TrainingContext,
        net: ActorCritic,
        optimizer: optim.Optimizer,
        epoch: int,
        agent_steps: int,
        ticks: int,
        generator: torch.Generator,
        rng: np.random.Generator,
    ) -> Path:
        return save_checkpoint(
            path,
            model=net.state_dict(),
            optimizer=optimizer.state_dict(),
            encoder_params=encoder_params(context),
            spec=context.spec,
            options=context.option_names,
            config_id=context.config.config_id,
            hyperparameters=self.params.model_dump(mode="json"),
            epoch=epoch,
            agent_steps=agent_steps,
            ticks=ticks,
            rng={
                "torch": torch.get_rng_state(),
                "generator": generator.get_state(),
                "numpy": json.dumps(rng.bit_generator.state),
            },
        )


def planned_epochs(settings: TrainingConfig, per_epoch: int) -> int:
    """Epochs of a run: ``training.epochs``, else enough epochs of ``per_epoch``
    agent-steps for ``training.total_steps``, else :data:`DEFAULT_EPOCHS`."""
    if settings.epochs is not None:
        return settings.epochs
    if settings.total_steps is not None:
        return max(1, math.ceil(settings.total_steps / per_epoch))
    return DEFAULT_EPOCHS


def resumed_episode(ticks: int, horizon: int) -> int:
    """The episode a run resumed after ``ticks`` ticks starts at: checkpoints fall on
    episode boundaries, and a run that stopped mid-episode starts the next one."""
    return ticks // horizon + (ticks % horizon > 0)


def _horizon(context: TrainingContext) -> int:
    horizon = getattr(context, "horizon", None)
    return int(horizon) if horizon is not None else 1000
