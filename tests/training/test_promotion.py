"""Promotion: candidate vs release windows on real evaluations, history in a real file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from townlet.core.cli import townlet
from townlet.core.config import load_config, parse_override
from townlet.core.config.models import TownletConfig
from townlet.core.errors import TownletError
from townlet.core.training.dto import EvaluationReport
from townlet.core.training.promotion import (
    PolicyRef,
    PromotionParams,
    PromotionService,
)

FAST = PromotionParams(episodes=4, ticks=300)
"""Four 300-tick episodes per policy: scripted beats random in every such window."""


@pytest.fixture(scope="module")
def config() -> TownletConfig:
    return load_config().config


def service(config: TownletConfig, history: Path, **kw: Any) -> PromotionService:
    return PromotionService(config, history, params=kw.pop("params", FAST), **kw)


def events(history: Path) -> list[str]:
    return [json.loads(line)["event"] for line in history.read_text().splitlines()]


def test_a_random_candidate_is_never_promoted(config: TownletConfig, tmp_path: Path) -> None:
    history = tmp_path / "promotion" / "history.jsonl"
    promo = service(config, history)
    decisions = [promo.evaluate("random", release="scripted")]
    decisions += [promo.evaluate("random") for _ in range(2)]
    assert [d.window for d in decisions] == [1, 2, 3]
    assert not any(d.passed or d.promote for d in decisions)
    assert {d.pass_streak for d in decisions} == {0} and {d.state for d in decisions} == {
        "candidate"
    }
    assert all(d.candidate_return < d.release_return for d in decisions)
    assert decisions[0].reason.startswith("failed: return -")
    state = promo.status()
    assert state.release == "scripted" and state.earlier == []
    assert events(history) == ["pin", "window", "window", "window"]
    seeds = [json.loads(x).get("seeds") for x in history.read_text().splitlines()][1:]
    assert seeds == [[1000, 1001, 1002, 1003], [1004, 1005, 1006, 1007], [1008, 1009, 1010, 1011]]


def test_a_better_candidate_is_promoted_on_the_second_passing_window_and_rolled_back(
    config: TownletConfig, tmp_path: Path
) -> None:
    history = tmp_path / "history.jsonl"
    first = service(config, history).evaluate("scripted", release="random")
    assert first.passed and first.pass_streak == 1 and not first.promote
    assert "1 of 2 passing windows in a row" in first.reason
    promo = service(config, history)  # a new process reads the state back from the file
    assert promo.status().release == "random"
    second = promo.evaluate("scripted")
    assert second.window == 2 and second.passed and second.promote
    assert second.state == "promoted" and second.reason.endswith("promoted")
    state = promo.status()
    assert state.release == "scripted" and state.earlier == ["random"]
    assert state.last_decision == second
    assert events(history) == ["pin", "window", "window", "promoted"]

    back = promo.rollback()
    assert back.release == "random" and back.earlier == []
    assert events(history)[-1] == "rollback"
    assert service(config, history).status().release == "random"
    with pytest.raises(TownletError, match="nothing to roll back to"):
        promo.rollback()


class ScriptedReports:
    """An evaluator returning prepared (candidate, release) returns and KPIs per window."""

    def __init__(self, windows: list[tuple[float, float, dict[str, float]]]) -> None:
        self.windows: Iterator[tuple[float, float, dict[str, float]]] = iter(windows)
        self.pending: list[EvaluationReport] = []

    def __call__(self, config: TownletConfig, name: str, params: Any, **run: Any) -> Any:
        if not self.pending:
            cand, rel, kpis = next(self.windows)
            base = {"self_sufficiency": 0.9, "lateness": 0.1}
            self.pending = [
                self._report(name, rel, base, run),  # the release is evaluated first
                self._report("candidate", cand, base | kpis, run),
            ]
        return self.pending.pop(0)

    @staticmethod
    def _report(name: str, mean: float, kpis: dict[str, float], run: Any) -> EvaluationReport:
        n, seed = run["episodes"], run["seed"]
        returns = tuple(mean + d for d in (-0.1, 0.1, -0.05, 0.05)[:n])
        return EvaluationReport(
            policy=name,
            config_id="default",
            seeds=tuple(range(seed, seed + n)),
            episodes=n,
            ticks=10,
            agents=8 * n,
            mean_return=sum(returns) / n,
            return_ci95=(min(returns), max(returns)),
            episode_returns=returns,
            kpis=kpis,
        )


def test_a_failed_window_resets_the_streak(config: TownletConfig, tmp_path: Path) -> None:
    better, worse = (-10.0, -20.0, {}), (-25.0, -20.0, {})
    fake = ScriptedReports([better, worse, better, better])
    promo = service(config, tmp_path / "h.jsonl", evaluator=fake)
    streaks = [promo.evaluate("random", release="scripted").pass_streak]
    streaks += [promo.evaluate("random").pass_streak for _ in range(3)]
    assert streaks == [1, 0, 1, 2]
    assert promo.status().release == "random"


def test_a_kpi_drop_fails_a_window_with_a_higher_return(
    config: TownletConfig, tmp_path: Path
) -> None:
    fake = ScriptedReports([(-10.0, -20.0, {"lateness": 0.15})])  # 50% later than 0.1
    decision = service(config, tmp_path / "h.jsonl", evaluator=fake).evaluate(
        "random", release="scripted"
    )
    assert not decision.passed
    assert decision.reason == "failed: worst KPI lateness 50% worse (limit 30%)"
    assert decision.kpi_deltas == {"self_sufficiency": 0.0, "lateness": -0.5}


def test_refusals_name_the_problem(config: TownletConfig, tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    promo = service(config, history)
    with pytest.raises(TownletError, match=r"no release is pinned .* --release"):
        promo.evaluate("random")
    promo.pin("scripted")
    with pytest.raises(TownletError, match="already the pinned release"):
        promo.evaluate("scripted")
    with pytest.raises(TownletError, match="does not exist"):
        promo.evaluate(str(tmp_path / "missing.pt"))
    history.write_text(history.read_text() + '{"event": "pin", "time": "now"}\n')
    with pytest.raises(TownletError, match=r"h\.jsonl:2: not a promotion history entry: release"):
        promo.status()
    history.write_text('{"event": "rollback", "time": "t", "release": "random"}\n')
    with pytest.raises(TownletError, match="entry 1 rolls back to 'random'"):
        promo.status()
    with pytest.raises(TownletError, match="needs a config"):
        PromotionService(None, tmp_path / "x.jsonl").evaluate("random", release="scripted")
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        PromotionParams(episodes=1)  # one paired gain has no confidence interval


def test_a_path_is_a_learned_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    ref = PolicyRef.parse(str(run))
    assert ref.name == "learned" and ref.params == {"checkpoint": str(run.resolve())}
    assert PolicyRef.parse("scripted") == PolicyRef("scripted", "scripted")


def test_a_bare_word_is_a_policy_name_even_beside_a_folder_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "scripted").mkdir()
    monkeypatch.chdir(tmp_path)
    assert PolicyRef.parse("scripted") == PolicyRef("scripted", "scripted")
    folder = PolicyRef.parse("./scripted")
    assert folder.name == "learned" and folder.params == {"checkpoint": str(tmp_path / "scripted")}


def test_the_promote_command(tmp_path: Path) -> None:
    history = str(tmp_path / "h.jsonl")
    fast = ("--episodes", "4", "--ticks", "300", "--history", history)

    def cli(*args: str) -> Any:
        result = CliRunner().invoke(townlet, ["promote", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    out = cli("evaluate", "scripted", "--release", "random", *fast)
    assert out.startswith("window 1: scripted vs random: PASS\n  passed: return +")
    decision = json.loads(cli("evaluate", "scripted", *fast, "--json"))
    assert decision["state"] == "promoted" and decision["pass_streak"] == 2
    status = cli("status", "--history", history)
    assert "pinned release: scripted" in status and "earlier releases: random" in status
    assert "window 2 scripted vs random: PROMOTED (2)" in status
    assert "last decision (scripted, window 2):\n  passed: return +" in status
    doc = json.loads(cli("status", "--history", history, "--json"))
    assert doc["release"] == "scripted" and len(doc["entries"]) == 4
    assert cli("rollback", "--history", history) == "rolled back: scripted -> random\n"
    refused = CliRunner().invoke(townlet, ["promote", "rollback", "--history", history])
    assert refused.exit_code == 2 and "nothing to roll back to" in refused.stderr


def test_training_services_bind_the_run_config(config: TownletConfig, tmp_path: Path) -> None:
    from townlet.core.registry import Registry
    from townlet.core.training.services import TrainingServices

    services = TrainingServices(config, Registry(), spec=None)  # type: ignore[arg-type]
    promo = services.promotion(tmp_path / "h.jsonl", FAST)
    assert promo.config is config and promo.params == FAST
    assert promo.history == tmp_path / "h.jsonl"


def test_a_window_of_another_setup_starts_the_streak_again(
    config: TownletConfig, tmp_path: Path
) -> None:
    other = load_config(overrides=[parse_override("world.agents=6")]).config
    history = tmp_path / "h.jsonl"
    better = (-10.0, -20.0, {})
    fake = ScriptedReports([better] * 3)  # same config_id, another town
    first = service(config, history, evaluator=fake).evaluate("random", release="scripted")
    assert (first.window, first.pass_streak, first.promote) == (1, 1, False)
    # a pass on another town is not the second pass in a row: window 1 there, same seeds
    moved = service(other, history, evaluator=fake).evaluate("random")
    assert (moved.window, moved.pass_streak, moved.promote) == (1, 1, False)
    second = service(other, history, evaluator=fake).evaluate("random")
    assert (second.window, second.pass_streak, second.promote) == (2, 2, True)
    # so does a window with other episodes, ticks or first seed
    fake = ScriptedReports([better] * 2)
    history.unlink()
    service(config, history, evaluator=fake).evaluate("random", release="scripted")
    longer = PromotionParams(episodes=4, ticks=600)
    assert service(config, history, params=longer, evaluator=fake).evaluate("random").window == 1
    seeds = [json.loads(x).get("seeds") for x in history.read_text().splitlines()]
    assert seeds[1] == seeds[2] == [1000, 1001, 1002, 1003]


def test_a_line_cut_short_never_happened(config: TownletConfig, tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    promo = service(config, history, evaluator=ScriptedReports([(-10.0, -20.0, {})]))
    promo.pin("scripted")
    whole = history.read_text()
    history.write_text(whole + '{"event": "window", "time": "2026-')  # a writer killed mid-line
    assert promo.status().release == "scripted" and len(promo.status().entries) == 1
    decision = promo.evaluate("random")  # cuts the torn line off before appending
    assert decision.window == 1
    lines = history.read_text().splitlines()
    assert lines[0] == whole.strip() and [json.loads(x)["event"] for x in lines] == [
        "pin",
        "window",
    ]
    # a whole entry without its newline (edited by hand) is kept, and ended
    history.write_text(whole.rstrip("\n"))
    promo.pin("random")
    assert events(history) == ["pin", "pin"] and promo.status().release == "random"
    # a damaged line with its newline was written whole: that is refused, not skipped
    history.write_text(whole + "not json\n" + whole)
    with pytest.raises(TownletError, match=r"h\.jsonl:2: .*repair or delete that line"):
        promo.status()


def test_a_second_writer_is_refused_while_the_history_is_locked(
    config: TownletConfig, tmp_path: Path
) -> None:
    fcntl = pytest.importorskip("fcntl")
    history = tmp_path / "h.jsonl"
    promo = service(config, history, evaluator=ScriptedReports([(-10.0, -20.0, {})]))
    promo.pin("scripted")
    with history.open("a") as other:  # another townlet promote, mid-window
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        for attempt in (lambda: promo.evaluate("random"), promo.rollback, lambda: promo.pin("x")):
            with pytest.raises(TownletError, match="in use by another townlet promote"):
                attempt()
        assert promo.status().release == "scripted"  # reading needs no lock
        fcntl.flock(other.fileno(), fcntl.LOCK_UN)
    assert promo.evaluate("random").window == 1
    assert events(history) == ["pin", "window"]
