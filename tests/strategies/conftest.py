"""The PPO tests need torch (townlet-strategies); without it (`nox -s core`) they are skipped."""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("torch") else ["test_*.py"]
