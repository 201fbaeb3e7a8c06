"""Behaviour cloning: the PPO network taught to choose as captured (scripted) citizens did.

Reads captured trajectories (``--replay-manifest``), keeps their decision
points (:mod:`townlet.strategies._demos`), holds out a seeded share of the
*episodes* whole, and trains the same :class:`ActorCritic` as ``ppo``:
cross-entropy on the recorded option under the masked logits, plus value
distillation — a squared error against the discounted return that followed
each decision (``vf_coef``), so a cloned policy starts PPO with a critic
that already knows the town. Each epoch: value targets → shuffled
minibatch updates → held-out accuracy (overall, on real choices, per
option, confusion matrix, and the accuracy of merely repeating each agent's
previous decision, which overall accuracy must be read against) → log.
Checkpoints are PPO checkpoints: one initialises ``ppo``
(``training.params.init_from``) and drives the ``learned`` policy.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt
import torch
from pydantic import BaseModel, Field

from townlet.core.errors import TownletError
from townlet.core.ports import PLUGIN_API_VERSION, PluginParams, TrainingContext
from townlet.core.training.dto import EpochRecord, TrainingResult
from townlet.strategies._demos import Demonstrations
from townlet.strategies.checkpoint import (
    CHECKPOINT_DIR,
    FINAL,
    Checkpoint,
    check_compatible,
    encoder_params,
    load_checkpoint,
    save_checkpoint,
)
from townlet.strategies.network import ActorCritic, log_probs
from townlet.strategies.network import entropy as policy_entropy

__all__ = ["BCParams", "BCResult", "BCStrategy"]

METRICS_LOG: Final = "metrics.jsonl"
"""Per-epoch metrics (losses and held-out accuracy), one JSON line each, in the run directory."""
DEFAULT_EPOCHS: Final = 10
"""Epochs when neither ``training.epochs`` nor ``training.total_steps`` is set."""
_EVAL_BATCH: Final = 4096

Array = npt.NDArray[Any]


class BCParams(PluginParams):
    """Hyperparameters of ``bc`` (``training.params``)."""

    learning_rate: float = Field(1e-3, gt=0, le=1, description="Adam learning rate (0..1].")
    anneal_lr: bool = Field(True, description="Anneal the learning rate linearly to 0.")
    batch_size: int = Field(256, ge=1, le=65536, description="Decisions per minibatch (1..65536).")
    change_weight: float = Field(
        1.0,
        ge=1,
        le=1000,
        description="Cross-entropy weight of real choices (the option differs from the agent's "
        "previous decision) relative to carrying on (1..1000); above 1 counters their rarity.",
    )
    vf_coef: float = Field(
        0.5, ge=0, le=10, description="Weight of the value-distillation loss (0..10; 0: none)."
    )
    gamma: float = Field(
        0.99,
        gt=0,
        le=1,
        description="Discount per tick of the distilled returns (0..1]; use ppo's to fine-tune.",
    )
    reward_scale: float = Field(
        1.0, gt=0, le=1000, description="Rewards are multiplied by this for the returns (0..1000]."
    )
    holdout: float = Field(
        0.2,
        gt=0,
        lt=1,
        description="Share of the episodes held out for accuracy (0..1); at least one episode.",
    )
    max_grad_norm: float = Field(0.5, gt=0, description="Global gradient-norm clip (> 0).")
    hidden: int = Field(
        128,
        ge=8,
        le=4096,
        description="Width of the shared layer (8..4096); must equal ppo's to fine-tune.",
    )
    threads: int = Field(
        1,
        ge=0,
        le=256,
        description="torch CPU threads (0: torch's default); 1 is fastest on small CPUs.",
    )
    checkpoint_every: int = Field(
        0, ge=0, description="Write checkpoints/epoch_N.pt every this many epochs (0: only final)."
    )


class BCResult(TrainingResult):
    """A ``bc`` run's result: :class:`TrainingResult` plus the held-out evaluation."""

    accuracy: float = Field(ge=0, le=1, description="Held-out share of decisions cloned exactly.")
    changed_accuracy: float | None = Field(
        description="Held-out accuracy on real choices (the option differs from the agent's "
        "previous decision); null when there were none."
    )
    repeat_accuracy: float = Field(
        ge=0,
        le=1,
        description="Held-out accuracy of repeating the agent's previous decision: the trivial "
        "baseline accuracy must beat (the share of decisions that carry on).",
    )
    per_option_accuracy: dict[str, float | None] = Field(
        description="Held-out accuracy (recall) per recorded option; null when never recorded."
    )
    holdout_counts: dict[str, int] = Field(description="Held-out decisions per recorded option.")
    confusion: tuple[tuple[int, ...], ...] = Field(
        description="Held-out confusion matrix: row = recorded option, column = predicted "
        "option, in the order of option_names."
    )
    option_names: tuple[str, ...] = Field(description="Option names; the matrix's order.")
    train_decisions: int = Field(ge=0, description="Decisions trained on.")
    holdout_decisions: int = Field(ge=0, description="Held-out decisions evaluated.")
    holdout_changed: int = Field(ge=0, description="Held-out decisions that are real choices.")
    holdout_episodes: int = Field(ge=0, description="Episodes held out whole.")


def _forward(
    net: ActorCritic, obs: Mapping[str, Array], mask: Array | None, device: torch.device
) -> tuple[Array, Array]:
    """``(most probable legal option, value)`` of every row, in batches, without gradients
    (``mask`` None: every option legal, for values only)."""
    n = len(next(iter(obs.values())))
    pred = np.zeros(n, np.int64)
    value = np.zeros(n, np.float32)
    with torch.no_grad():
        for lo in range(0, n, _EVAL_BATCH):
            hi = min(lo + _EVAL_BATCH, n)
            o = {
                k: torch.from_numpy(np.ascontiguousarray(v[lo:hi])).to(device)
                for k, v in obs.items()
            }
            m = (
                torch.ones(hi - lo, net.actor.out_features, dtype=torch.bool, device=device)
                if mask is None
                else torch.from_numpy(mask[lo:hi]).to(device)
            )
            logits, v, _ = net(o, m)
            pred[lo:hi] = logits.argmax(-1).cpu().numpy()
            value[lo:hi] = v.cpu().numpy()
    return pred, value


def _evaluate(
    net: ActorCritic, held: Demonstrations, options: tuple[str, ...], device: torch.device
) -> dict[str, Any]:
    """Accuracy (overall, on real choices, per option), confusion matrix and value fit."""
    pred, value = _forward(net, held.obs, held.mask, device)
    ret = held.returns(lambda obs: _forward(net, obs, None, device)[1])
    k = len(options)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (held.action, pred), 1)
    hits = pred == held.action
    counts = confusion.sum(axis=1)
    var_y = float(np.var(ret)) if ret.size else 0.0
    return {
        "accuracy": float(hits.mean()) if hits.size else 0.0,
        "changed_accuracy": float(hits[held.changed].mean()) if held.changed.any() else None,
        "repeat_accuracy": float(1.0 - held.changed.mean()) if hits.size else 0.0,
        "per_option": {
            o: float(confusion[i, i] / counts[i]) if counts[i] else None
            for i, o in enumerate(options)
        },
        "counts": {o: int(counts[i]) for i, o in enumerate(options)},
        "confusion": confusion,
        "explained_variance": 0.0 if var_y == 0 else float(1 - np.var(ret - value) / var_y),
    }


class BCStrategy:
    """Behaviour cloning: the PPO network trained to choose as captured citizens chose,
    scored on held-out episodes; its checkpoints drive ``learned`` and initialise ``ppo``."""

    name: ClassVar[str] = "bc"
    requires_torch: ClassVar[bool] = True
    Params: ClassVar[type[BaseModel]] = BCParams
    plugin_api_version: ClassVar[str] = PLUGIN_API_VERSION

    def __init__(self, params: BCParams) -> None:
        self.params = params
        self.demos: Demonstrations | None = None
        self.resume: Checkpoint | None = None

    def prepare(self, context: TrainingContext) -> None:
        """Load the decisions of the replay data and, with ``--resume``, the run's checkpoint."""
        if context.settings.mode != "replay":
            raise TownletError(
                f"bc learns from captured trajectories only: training.mode is "
                f"{context.settings.mode!r}; pass --mode replay with --replay-manifest DIR"
            )
        dataset = context.services.replay.load(streaming=True)
        if tuple(dataset.options) != tuple(context.option_names):
            raise TownletError(
                f"replay options {list(dataset.options)} differ from the run's "
                f"{list(context.option_names)}"
            )
        self.demos = Demonstrations.load(dataset, self.params.gamma, self.params.reward_scale)
        if context.resume_from is not None:
            ckpt = load_checkpoint(context.resume_from / CHECKPOINT_DIR / FINAL)
            check_compatible(ckpt, context.spec, context.option_names)
            split_seed = ckpt.hyperparameters.get("holdout_seed")
            if split_seed != context.seed:
                raise TownletError(
                    f"{ckpt.path} held out the episodes seed {split_seed} picks; resume with "
                    f"--seed {split_seed} (seed {context.seed} would train on some of them)"
                )
            if ckpt.hyperparameters != self._hyperparameters(context.seed):
                raise TownletError(
                    f"{ckpt.path} was trained with other hyperparameters; resume with the same "
                    "training.params (see its config.yaml)"
                )
            self.resume = ckpt

    def _hyperparameters(self, seed: int) -> dict[str, Any]:
        # ``lstm`` describes the network for the learned policy: cloning trains none;
        # ``holdout_seed`` picked the held-out episodes, which a resumed run must keep
        return {**self.params.model_dump(mode="json"), "lstm": False, "holdout_seed": seed}

    def run(self, context: TrainingContext) -> BCResult:
        """Train for the configured budget; see the module docstring."""
        if self.demos is None:
            raise TownletError("bc: call prepare(context) before run(context)")
        p, settings = self.params, context.settings
        start_time = time.time()
        if p.threads:
            torch.set_num_threads(p.threads)
        device = torch.device(context.device)
        torch.manual_seed(context.seed)
        rng = np.random.default_rng(context.seed)
        options = tuple(context.option_names)

        # -- data: held-out episodes, network, optimiser (and the resumed state)
        train, held = self.demos.split(p.holdout, context.seed)
        net = ActorCritic(context.spec, len(options), hidden=p.hidden).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=p.learning_rate, eps=1e-5)
        epoch, seen = 0, 0
        if self.resume is not None:
            ck = self.resume
            net.load_state_dict(ck.model)
            optimizer.load_state_dict(ck.optimizer)
            epoch, seen = ck.epoch, ck.agent_steps
            torch.set_rng_state(ck.rng["torch"])
            rng.bit_generator.state = json.loads(ck.rng["numpy"])
        if settings.epochs is not None:
            epochs = settings.epochs
        elif settings.total_steps is not None:
            epochs = max(1, math.ceil(settings.total_steps / max(train.size, 1)))
        else:
            epochs = DEFAULT_EPOCHS
        obs_t = {k: torch.from_numpy(v) for k, v in train.obs.items()}
        mask_t, action_t = torch.from_numpy(train.mask), torch.from_numpy(train.action)
        weight_t = torch.from_numpy(
            np.where(train.changed, p.change_weight, 1.0).astype(np.float32)
        )
        written: list[Path] = []
        stopped = False
        record: EpochRecord | None = None
        metrics: dict[str, float] = {}
        report: dict[str, Any] = _evaluate(net, held, options, device)

        while epoch < epochs:
            epoch += 1
            t0 = time.time()
            lr = p.learning_rate * (1.0 - (epoch - 1) / epochs) if p.anneal_lr else p.learning_rate
            for group in optimizer.param_groups:
                group["lr"] = lr

            # -- 1. value targets: returns bootstrapped with the current critic
            net.eval()
            ret_t = torch.from_numpy(train.returns(lambda o: _forward(net, o, None, device)[1]))
            net.train()

            # -- 2. update: one shuffled pass of minibatches
            stats: dict[str, list[float]] = {k: [] for k in ("ce", "v", "ent", "loss", "gn")}
            order = torch.from_numpy(rng.permutation(train.size))
            for start in range(0, train.size, p.batch_size):
                mb = order[start : start + p.batch_size]
                obs = {k: v[mb].to(device) for k, v in obs_t.items()}
                logits, value, _ = net(obs, mask_t[mb].to(device))
                nll = -log_probs(logits).gather(1, action_t[mb].to(device)[:, None]).squeeze(1)
                w = weight_t[mb].to(device)
                ce = (w * nll).sum() / w.sum()
                v_loss = 0.5 * ((value - ret_t[mb].to(device)) ** 2).mean()
                loss = ce + p.vf_coef * v_loss
                optimizer.zero_grad()
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(net.parameters(), p.max_grad_norm)
                optimizer.step()
                with torch.no_grad():
                    ent = policy_entropy(logits).mean()
                for key, val in (("ce", ce), ("v", v_loss), ("ent", ent), ("loss", loss)):
                    stats[key].append(float(val.item()))
                stats["gn"].append(float(grad_norm.item()))
            seen += train.size

            # -- 3. evaluate on the held-out episodes
            net.eval()
            report = _evaluate(net, held, options, device)

            # -- 4. log: the 1.2 epoch record and the metrics
            seconds = time.time() - t0
            mean = {k: float(np.mean(v)) if v else 0.0 for k, v in stats.items()}
            record = EpochRecord(
                epoch=epoch,
                updates=len(stats["loss"]),
                transitions=train.size,
                loss_policy=mean["ce"],
                loss_value=mean["v"],
                loss_entropy=mean["ent"],
                loss_total=mean["loss"],
                clip_fraction=0.0,
                approx_kl=0.0,
                explained_variance=min(1.0, report["explained_variance"]),
                adv_mean=0.0,
                adv_std=0.0,
                grad_norm=mean["gn"],
                lr=lr,
                steps_per_sec=train.size / max(seconds, 1e-9),
                data_mode="replay",
                epoch_seconds=seconds,
                rollout_ticks=0,
            )
            context.log_epoch(record)
            metrics = _metrics(record, report)
            context.progress(epoch, metrics)
            with (context.output_dir / METRICS_LOG).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"epoch": epoch, **metrics}) + "\n")
            if p.checkpoint_every and epoch % p.checkpoint_every == 0 and epoch < epochs:
                path = context.output_dir / CHECKPOINT_DIR / f"epoch_{epoch}.pt"
                written.append(self._save(path, context, net, optimizer, epoch, seen, rng))
            if context.should_stop() and epoch < epochs:
                stopped = True
                break

        final = context.output_dir / CHECKPOINT_DIR / FINAL
        written.append(self._save(final, context, net, optimizer, epoch, seen, rng))
        return BCResult(
            strategy=self.name,
            config_id=context.config.config_id,
            seed=context.seed,
            run_dir=context.output_dir,
            mode="replay",
            epochs=epoch,
            transitions=seen,
            seconds=time.time() - start_time,
            stopped_early=stopped,
            final_metrics=metrics,
            last_epoch=record,
            checkpoints=tuple(written),
            policy="learned",
            accuracy=report["accuracy"],
            changed_accuracy=report["changed_accuracy"],
            repeat_accuracy=report["repeat_accuracy"],
            per_option_accuracy=report["per_option"],
            holdout_counts=report["counts"],
            confusion=tuple(tuple(int(x) for x in row) for row in report["confusion"]),
            option_names=options,
            train_decisions=train.size,
            holdout_decisions=held.size,
            holdout_changed=int(np.count_nonzero(held.changed)),
            holdout_episodes=int(np.unique(held.episode).size),
        )

    def _save(
        self,
        path: Path,
        context: TrainingContext,
        net: ActorCritic,
        optimizer: torch.optim.Optimizer,
        epoch: int,
        seen: int,
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
            hyperparameters=self._hyperparameters(context.seed),
            epoch=epoch,
            agent_steps=seen,
            ticks=0,
            rng={"torch": torch.get_rng_state(), "numpy": json.dumps(rng.bit_generator.state)},
        )


def _metrics(record: EpochRecord, report: Mapping[str, Any]) -> dict[str, float]:
    """Losses under CleanRL names, held-out accuracy under ``eval/``."""
    out = {
        "losses/policy_loss": record.loss_policy,
        "losses/value_loss": record.loss_value,
        "losses/entropy": record.loss_entropy,
        "losses/loss": record.loss_total,
        "charts/learning_rate": record.lr,
        "charts/SPS": record.steps_per_sec,
        "eval/accuracy": report["accuracy"],
        "eval/repeat_accuracy": report["repeat_accuracy"],
        "eval/explained_variance": report["explained_variance"],
    }
    if report["changed_accuracy"] is not None:
        out["eval/changed_accuracy"] = report["changed_accuracy"]
    for option, acc in report["per_option"].items():
        if acc is not None:
            out[f"eval/accuracy/{option}"] = acc
    return out
