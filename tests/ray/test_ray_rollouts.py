"""PPO with rollouts on Ray actors: a tiny run, repeatability, a killed worker, an env error."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.ray.helpers import PLANNED, TICKS, ray_config, records, train
from townlet.core.errors import TownletError
from townlet.strategies.checkpoint import load_checkpoint
from townlet.strategies.ray import rollouts
from townlet.strategies.ray.errors import RolloutWorkerError
from townlet.strategies.ray.rollouts import RayCollector, RayRollouts
from townlet.strategies.ray.worker import RolloutWorker, Weights, WorkerBatch

TIMING = {"steps_per_sec", "epoch_seconds"}


def test_two_workers_train_on_the_planned_batch_and_repeat_exactly(
    ray_runtime: Any, tmp_path: Path
) -> None:
    result = train(ray_config(), tmp_path / "a", lstm=True)
    assert result.epochs == 2 and result.transitions == 2 * PLANNED and result.mode == "rollout"
    logged = records(tmp_path / "a")
    assert [r.epoch for r in logged] == [1, 2]
    assert all(r.transitions == PLANNED and r.rollout_ticks == TICKS for r in logged)
    assert all(r.worker_restarts == 0 and r.updates > 0 for r in logged)
    assert {"losses/policy_loss", "losses/approx_kl", "charts/SPS"} <= set(result.final_metrics)
    assert load_checkpoint(tmp_path / "a").epoch == 2
    again = records(train(ray_config(), tmp_path / "b", lstm=True).run_dir)
    assert [r.model_dump(exclude=TIMING) for r in again] == [
        r.model_dump(exclude=TIMING) for r in logged
    ]
    assert (
        load_checkpoint(tmp_path / "b").policy_hash == load_checkpoint(tmp_path / "a").policy_hash
    )


def _marked_worker(marks: Path, block_at: int) -> type[RolloutWorker]:
    """The rollout worker of the kill tests (a local class: Ray ships it by value).

    Worker 0 writes its pid to ``marks/pid`` before every collect; the first process
    to reach its ``block_at``-th collect creates ``marks/stuck`` and hangs there until
    it is killed, so the kill lands mid-epoch however busy the machine is.
    """

    class MarkedWorker(RolloutWorker):
        calls = 0

        def collect(self, weights: Weights, ticks: int) -> WorkerBatch:
            self.calls += 1
            if self.index == 0:
                (marks / "pid").write_text(str(os.getpid()))
                if self.calls == block_at and not (marks / "stuck").exists():
                    (marks / "stuck").touch()
                    time.sleep(120)  # killed long before; a hang fails the test, not CI
            return super().collect(weights, ticks)

    return MarkedWorker


def _wait_for(event: Callable[[], bool], what: str) -> None:
    """Wait for ``event``; only a hang (not a slow machine) fails."""
    assert wait_for(event, timeout=120, interval=0.02), f"gave up waiting for {what}"


def _gone(pid: int) -> bool:
    """The process has exited (or is a zombie waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except FileNotFoundError:
        return True


def _record_pools(monkeypatch: pytest.MonkeyPatch) -> list[RayRollouts]:
    """The worker pools the next training starts."""
    pools: list[RayRollouts] = []
    real_start = RayRollouts.start

    def start(self: RayRollouts, *args: Any) -> RayCollector:
        pools.append(self)
        return real_start(self, *args)

    monkeypatch.setattr(RayRollouts, "start", start)
    return pools


def test_a_worker_killed_mid_epoch_is_replaced_and_its_share_collected_again(
    ray_runtime: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ray, marks = ray_runtime, tmp_path
    monkeypatch.setattr(rollouts, "RolloutWorker", _marked_worker(marks, block_at=2))
    pools = _record_pools(monkeypatch)
    killed: list[Any] = []
    collects: list[int] = []
    real_wait, real_collect = ray.wait, RayCollector.collect

    def collect(self: RayCollector, ticks: int) -> Any:
        collects.append(ticks)
        return real_collect(self, ticks)

    def wait(refs: Any, **kwargs: Any) -> Any:
        if len(collects) == 2 and not killed:  # epoch 2's shares have been asked for
            _wait_for((marks / "stuck").exists, "worker 0 to hang in epoch 2's collect")
            killed.append(pools[0].actors[0])
            ray.kill(killed[0], no_restart=False)  # the process dies; Ray restarts the actor
        return real_wait(refs, **kwargs)

    monkeypatch.setattr(RayCollector, "collect", collect)
    monkeypatch.setattr(rollouts.ray, "wait", wait)
    train(ray_config("training.epochs=3"), tmp_path / "run")
    logged = records(tmp_path / "run")
    assert killed
    # epoch 2 is worker 1's share plus the replacement's whole share: no more, no less
    assert [r.transitions for r in logged] == [PLANNED] * 3
    assert [r.worker_restarts for r in logged] == [0, 1, 0]
    warned = [r.getMessage() for r in caplog.records if r.name == rollouts.__name__]
    assert warned == [
        "rollout worker 0 (towns 0..0) died; replacing it (restart 1) and collecting its "
        "share of the epoch again"
    ]


def test_a_worker_lost_between_epochs_is_found_and_replaced_in_the_next(
    ray_runtime: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray, marks = ray_runtime, tmp_path
    monkeypatch.setattr(rollouts, "RolloutWorker", _marked_worker(marks, block_at=0))
    pools = _record_pools(monkeypatch)
    real_collect = RayCollector.collect
    pids: list[int] = []

    def collect(self: RayCollector, ticks: int) -> Any:
        if (marks / "pid").exists() and not pids:  # epoch 1 is done: worker 0 dies now
            pids.append(int((marks / "pid").read_text()))
            ray.kill(pools[0].actors[0], no_restart=False)
            _wait_for(lambda: _gone(pids[0]), f"worker 0 (pid {pids[0]}) to exit")
        return real_collect(self, ticks)

    monkeypatch.setattr(RayCollector, "collect", collect)
    train(ray_config(), tmp_path / "run")
    logged = records(tmp_path / "run")
    assert [r.transitions for r in logged] == [PLANNED] * 2
    assert [r.worker_restarts for r in logged] == [0, 1]
    assert int((marks / "pid").read_text()) != pids[0]  # epoch 2 came from a new process


def test_an_env_error_in_a_worker_names_the_worker_and_keeps_its_traceback(
    ray_runtime: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class BurstWorker(RolloutWorker):
        def collect(self, weights: Weights, ticks: int) -> WorkerBatch:
            if self.index == 1:

                def burst_water_main(actions: Any = None) -> Any:
                    raise ValueError("the water main burst")

                self.env.step = burst_water_main  # type: ignore[method-assign]
            return super().collect(weights, ticks)

    monkeypatch.setattr(rollouts, "RolloutWorker", BurstWorker)
    with pytest.raises(RolloutWorkerError) as info:
        train(ray_config(), tmp_path / "run")
    message = str(info.value)
    assert message.startswith("rollout worker 1 (towns 1..1) raised ValueError: the water main")
    assert "Traceback" in message and "burst_water_main" in message


def test_more_workers_than_the_local_runtime_has_cpus_are_refused_up_front(
    ray_runtime: Any, tmp_path: Path
) -> None:
    # the third worker would wait for a CPU forever: refused before any actor starts
    with pytest.raises(TownletError, match=r"3 workers x 1\.0 CPUs need 3 CPUs, the Ray cluster"):
        train(ray_config("training.ray.num_workers=3"), tmp_path / "run")
