"""`townlet replay inspect`: the summary, and every refusal (exit 2, a message naming the file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.training.helpers import small_spec, write
from townlet.core.cli import townlet
from townlet.core.training import append_to_manifest


def inspect(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(townlet, ["replay", "inspect", *args])
    return result.exit_code, result.output


@pytest.fixture
def replays(tmp_path: Path) -> Path:
    spec = small_spec()
    for i in range(2):
        write(tmp_path / f"s{i}", spec, n=40, seed=i)
        append_to_manifest(tmp_path, tmp_path / f"s{i}")
    return tmp_path


def test_inspects_a_sample_and_a_manifest(replays: Path) -> None:
    code, out = inspect(str(replays / "s0.npz"))
    assert code == 0, out
    assert "1 sample(s), 40 transitions" in out and "conflict/rivalry features" in out
    code, out = inspect(str(replays))
    assert code == 0, out
    assert "2 sample(s), 80 transitions" in out and "action histogram" in out


def _refused(path: Path, *words: str) -> None:
    code, out = inspect(str(path))
    assert code == 2, out
    assert out.startswith("Error: ") and "Traceback" not in out
    for word in words:
        assert word in out


def test_corrupt_npz_is_refused(replays: Path) -> None:
    npz = replays / "s0.npz"
    data = bytearray(npz.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    npz.write_bytes(bytes(data))
    _refused(npz, "s0.npz", "CRC")
    _refused(replays, "manifest.json", "s0.npz", "sha256")


def test_truncated_sidecar_is_refused(replays: Path) -> None:
    sidecar = replays / "s1.json"
    sidecar.write_text(sidecar.read_text()[:200])
    _refused(replays / "s1.npz", "s1.json", "not valid JSON")


def test_mismatched_spec_hash_is_refused(replays: Path) -> None:
    manifest = replays / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["samples"][1]["spec_hash"] = "0" * 16
    manifest.write_text(json.dumps(doc))
    _refused(replays, "manifest.json", "s1.npz", "spec_hash")


def test_sample_of_another_spec_is_refused(replays: Path) -> None:
    sidecar = replays / "s0.json"
    doc = json.loads(sidecar.read_text())
    doc["spec"]["hash"] = "f" * 16
    sidecar.write_text(json.dumps(doc))
    _refused(replays, "spec")


def test_unknown_schema_version_is_refused(replays: Path) -> None:
    sidecar = replays / "s0.json"
    doc = json.loads(sidecar.read_text())
    doc["schema_version"] = "9.0"
    sidecar.write_text(json.dumps(doc))
    _refused(replays / "s0.npz", "s0.json", "schema_version", "'9.0'")


def test_manifest_naming_a_missing_file_is_refused(replays: Path) -> None:
    (replays / "s1.npz").unlink()
    _refused(replays, "manifest.json", "s1.npz", "missing")


def test_missing_path_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path / "nothing.npz", "nothing.json", "missing")
