"""Tests of the Ray backend on a local Ray runtime (the ``ray`` nox session installs
townlet-strategies[ray,rllib]); without ray only test_backend_choice.py runs."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

HAVE_RAY = all(importlib.util.find_spec(m) is not None for m in ("ray", "torch"))
collect_ignore_glob = [] if HAVE_RAY else ["test_ray_*.py"]


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[Any]:
    """One local Ray runtime of 2 CPUs for the whole session (starting one takes seconds)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
