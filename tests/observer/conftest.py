"""Observer fixtures (defined in tests/observer/helpers.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("townlet.telemetry")

from tests.observer.helpers import browser, observe, screenshot  # noqa: F401
