"""The third-party example in docs/examples: it installs, trains from the CLI and beats random."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from townlet.core.registry import Registry

ONE_CITIZEN = ("--set", "world.agents=1")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, example_plugins: Path) -> Path:
    """A my_algo run on a one-citizen town, trained through ``townlet train``."""
    from tests.conftest import run_cli

    out = tmp_path_factory.mktemp("my_algo") / "run"
    result = run_cli(
        *("train", "--strategy", "my_algo", *ONE_CITIZEN, "--output", str(out)),
        *("--epochs", "10", "--rollout-ticks", "300", "--seed", "1"),
        extra_path=example_plugins,
    )
    assert result.returncode == 0, result.stderr
    assert "epoch 10/10" in result.stderr and "policy         my_linear" in result.stdout
    return out


def test_example_is_listed_with_its_policy(cli: Any, example_plugins: Path) -> None:
    listed = cli("plugins", "list", "--json", extra_path=example_plugins)
    assert listed.returncode == 0, listed.stderr
    ports = json.loads(listed.stdout)["ports"]
    names = {port: {p["name"] for p in plugins} for port, plugins in ports.items()}
    assert "my_algo" in names["training_strategies"] and "my_linear" in names["policies"]


def test_run_dir_holds_the_policy_and_its_sidecar(trained: Path) -> None:
    result = json.loads((trained / "result.json").read_text())
    assert result["strategy"] == "my_algo" and result["epochs"] == 10
    assert result["checkpoints"] == [str(trained / "linear_policy.npz")]
    sidecar = json.loads((trained / "linear_policy.json").read_text())
    assert sidecar["iteration"] == 10 and sidecar["encoder"] == "hybrid"
    assert sidecar["features"][0] == "need.hunger" and len(sidecar["options"]) == 7


def test_learned_policy_beats_random(cli: Any, example_plugins: Path, trained: Path) -> None:
    def evaluate(*args: str) -> dict[str, Any]:
        result = cli(
            *("evaluate", *ONE_CITIZEN, "--episodes", "8", "--seed", "100", "--json", *args),
            extra_path=example_plugins,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    weights = f"policy.params.weights={trained / 'linear_policy.npz'}"
    learned = evaluate("--policy", "my_linear", "--set", weights)
    random = evaluate("--policy", "random")
    assert learned["seeds"] == random["seeds"]  # paired: the same worlds
    assert learned["return_ci95"][0] > random["return_ci95"][1], (learned, random)


def test_policy_refuses_weights_of_another_spec(with_examples: Path, trained: Path) -> None:
    from townlet_example_strategy.linear import LinearPolicyFile

    saved = LinearPolicyFile.load(trained / "linear_policy.npz")
    moved = trained.parent / "other" / "linear_policy.npz"
    moved.parent.mkdir(exist_ok=True)
    LinearPolicyFile(**{**saved.__dict__, "spec_hash": "0" * 16}).save(moved)
    with pytest.raises(Exception, match="trained on encoder spec 0000000000000000"):
        Registry().build("policies", "my_linear", {"weights": moved})


def test_the_plugin_guide_shows_the_tested_code() -> None:
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "plugins.md").read_text()
    section = doc.split("## Example: a training strategy that learns")[1].split("\n## ")[0]
    package = root / "docs" / "examples" / "townlet-example-strategy"
    sources = [p.read_text() for p in (package / "src").rglob("*.py")]
    sources.append((package / "pyproject.toml").read_text())
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    blocks += [b.split("```", 1)[0] for b in section.split("```toml\n")[1:]]
    assert len(blocks) >= 6
    for block in blocks:
        assert any(block.strip() in src for src in sources), block
