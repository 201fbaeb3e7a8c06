"""The ``tensorboard`` sink: training curves and metrics as TensorBoard scalars.

Written with tensorboardX, which needs no torch. World payloads are skipped.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from townlet.core.ports import PluginParams, TelemetryEvent
from townlet.core.telemetry import TransportHealth

__all__ = ["TensorboardParams", "TensorboardSink", "scalar_tag"]

_GROUPS = {
    "loss_policy": "losses/policy_loss",
    "loss_value": "losses/value_loss",
    "loss_entropy": "losses/entropy",
    "loss_total": "losses/total_loss",
    "approx_kl": "losses/approx_kl",
    "clip_fraction": "losses/clipfrac",
    "explained_variance": "losses/explained_variance",
    "grad_norm": "losses/grad_norm",
    "lr": "charts/learning_rate",
    "steps_per_sec": "charts/SPS",
    "episodic_return": "charts/episodic_return",
    "adv_mean": "charts/adv_mean",
    "adv_std": "charts/adv_std",
    "anneal_ratio": "anneal/ratio",
}


def scalar_tag(field: str) -> str:
    """TensorBoard tag of a training-record field (CleanRL-style groups)."""
    if field in _GROUPS:
        return _GROUPS[field]
    if field.startswith("queue_conflict") or field == "rollout_ticks":
        return f"rollout/{field}"
    return f"training/{field}"


class TensorboardParams(PluginParams):
    """Parameters of the ``tensorboard`` sink."""

    logdir: str = Field(min_length=1, description="Directory for the event files.")
    flush_secs: int = Field(
        10, ge=1, le=3600, description="Seconds between flushes to disk (1..3600)."
    )
    metrics: bool = Field(
        True, description="Also write metric payloads, as '<scope>/<name>' at their tick."
    )


class TensorboardSink:
    """Writes each training epoch's numbers (and metric payloads) as scalars.

    Training fields are tagged like CleanRL (``losses/value_loss``,
    ``charts/SPS``, ...) at step ``epoch``; ``health`` payloads add
    ``telemetry/dropped_messages``.
    """

    Params: ClassVar[type[BaseModel]] = TensorboardParams
    plugin_api_version: ClassVar[str] = "2.0"

    def __init__(self, params: TensorboardParams) -> None:
        self.params = params
        self._writer: Any = None
        self.scalars_written = 0

    def start(self) -> None:
        """Open the event file."""
        from tensorboardX import SummaryWriter

        self._writer = SummaryWriter(logdir=self.params.logdir, flush_secs=self.params.flush_secs)

    def _scalar(self, tag: str, value: Any, step: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if math.isfinite(value):
            self._writer.add_scalar(tag, float(value), global_step=step)
            self.scalars_written += 1

    def emit(self, event: TelemetryEvent) -> None:
        """Write the scalars in one event (world payloads are skipped)."""
        payload = event.payload
        if event.kind == "training_epoch":
            record = payload.get("record", {})
            step = int(record.get("epoch", event.tick))
            for name, value in record.items():
                if name not in ("epoch", "telemetry_version"):
                    self._scalar(scalar_tag(name), value, step)
        elif event.kind == "metric" and self.params.metrics:
            scope = payload.get("scope", "metric")
            for name, value in payload.get("metrics", {}).items():
                self._scalar(f"{scope}/{name}", value, event.tick)
        elif event.kind == "health":
            self._scalar("telemetry/dropped_messages", payload.get("dropped_messages"), event.tick)

    def flush(self) -> None:
        """Write pending scalars to disk."""
        if self._writer is not None:
            self._writer.flush()

    def stop(self) -> None:
        """Flush and close the event file. Idempotent."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def health(self) -> TransportHealth:
        """Open or not, where, how many scalars."""
        return TransportHealth(
            connected=self._writer is not None,
            detail={"logdir": self.params.logdir, "scalars": self.scalars_written},
        )
