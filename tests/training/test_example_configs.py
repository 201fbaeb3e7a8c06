"""The example training configs the READMEs and docs name: files of the source tree
(not installed with the wheel), which load where they are and as a copy anywhere."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from townlet.core.config.loader import load_config

ROOT = Path(__file__).resolve().parents[2]
NAMED_IN = ("README.md", "docs/training.md", "townlet-strategies/README.md")
_PATH = re.compile(r"(?:townlet-strategies/)?configs/[\w-]+\.yaml")


def _named() -> list[Path]:
    found = set()
    for doc in NAMED_IN:
        for match in _PATH.findall((ROOT / doc).read_text(encoding="utf-8")):
            found.add(ROOT / "townlet-strategies" / match.removeprefix("townlet-strategies/"))
    return sorted(found)


def test_the_docs_name_the_one_citizen_config() -> None:
    assert ROOT / "townlet-strategies/configs/one_citizen.yaml" in _named()


@pytest.mark.parametrize("path", _named(), ids=lambda p: p.name)
def test_a_named_config_loads_in_the_checkout_and_as_a_copy(path: Path, tmp_path: Path) -> None:
    assert path.is_file(), f"{path} is named in {NAMED_IN} but does not exist"
    here = load_config(path).config
    copy = shutil.copy(path, tmp_path / path.name)  # as the docs suggest outside a checkout
    assert load_config(copy).config == here
