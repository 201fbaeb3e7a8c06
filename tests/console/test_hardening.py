"""Console hardening: per-token idempotency, contained handler failures, audit failures."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.helpers import make_world, run_scripted
from townlet.core.console.bus import ConsoleBus
from townlet.core.console.commands import COMMANDS

ADMIN, VIEWER = "admin-token", "viewer-token"


@pytest.fixture
def world():
    w = make_world()
    run_scripted(w, 5)
    return w


def _req(cmd_id: str, token: str, command: str, **args: object) -> dict[str, object]:
    return {"cmd_id": cmd_id, "token": token, "command": command, "args": args}


def test_cached_result_is_never_served_to_another_token(world, tmp_path: Path) -> None:
    bus = ConsoleBus(admin_tokens=[ADMIN], viewer_tokens=[VIEWER], audit_log=tmp_path / "a.jsonl")
    admin = bus.execute(world, _req("same", ADMIN, "teleport", agent="agent_001", x=3, y=3))
    viewer = bus.execute(world, _req("same", VIEWER, "status"))
    assert viewer.ok and viewer.data != admin.data
    assert bus.execute(world, _req("same", VIEWER, "status")) == viewer


def test_failing_handler_answers_internal_error(world, monkeypatch) -> None:
    def boom(_world: object, _args: object) -> object:
        raise RuntimeError("kaput")

    failing = dataclasses.replace(COMMANDS["set_exit_cap"], handler=boom)
    monkeypatch.setitem(COMMANDS, "set_exit_cap", failing)
    bus = ConsoleBus(admin_tokens=[ADMIN])
    result = bus.execute(world, _req("c1", ADMIN, "set_exit_cap", value=3))
    assert (result.ok, result.code) == (False, "internal_error")
    assert "kaput" in result.message
    run_scripted(world, 1)


def test_failed_audit_write_is_counted_not_raised(world, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    bus = ConsoleBus(admin_tokens=[ADMIN], audit_log=blocker / "audit.jsonl")
    assert bus.execute(world, _req("c1", ADMIN, "set_exit_cap", value=3)).ok
    assert bus.execute(world, _req("c2", ADMIN, "set_exit_cap", value=4)).ok
    assert bus.audit_failures == 2
