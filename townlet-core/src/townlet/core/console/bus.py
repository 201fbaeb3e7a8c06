"""The console command bus: authentication, idempotency, audit, in-tick execution.

Requests are mappings ``{"cmd_id", "token", "command", "args"}``. The token is
checked first (constant-time comparison, never logged): a bad token gets
``unauthorized`` whatever the command, so callers cannot probe which commands
exist. Viewer tokens may run only viewer commands. A ``cmd_id`` seen before
from the same token returns its first result without running again; results are
cached per token, so one caller never receives another's result. A handler that
fails unexpectedly answers ``internal_error`` and the town keeps ticking; a failed
audit write is counted in :attr:`ConsoleBus.audit_failures`, never raised. Every accepted command is
appended to the audit log (time, tick, issuer role, command, args, result).

Commands apply at the start of a tick, before the policy acts: the
simulation calls :meth:`ConsoleBus.apply_pending` and socket threads wait on
:meth:`ConsoleBus.request` until then.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from townlet.core._validation import format_validation_error
from townlet.core.console.commands import COMMANDS, Refused
from townlet.core.console.config import ConsoleConfig

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["ConsoleBus", "Result"]

_REMEMBERED = 10_000


@dataclass(frozen=True)
class Result:
    """Outcome of one request; ``code`` is ``ok`` or an error code."""

    cmd_id: str
    ok: bool
    code: str
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cmd_id: str = Field(min_length=1, max_length=128)
    token: str = Field(max_length=512)
    command: str = Field(max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)


class ConsoleBus:
    """Queues, authorises and executes console commands."""

    def __init__(
        self,
        *,
        admin_tokens: Iterable[str] = (),
        viewer_tokens: Iterable[str] = (),
        audit_log: Path | None = None,
        request_timeout: float = 5.0,
    ) -> None:
        self._admin = [t.encode() for t in admin_tokens if t]
        self._viewer = [t.encode() for t in viewer_tokens if t]
        self.audit_log = audit_log
        self.request_timeout = request_timeout
        self._results: OrderedDict[tuple[bytes, str], Result] = OrderedDict()
        self.audit_failures = 0
        self._pending: list[tuple[dict[str, Any], threading.Event, list[Result]]] = []
        self._lock = threading.Lock()

    @classmethod
    def from_config(
        cls, config: ConsoleConfig, environ: Mapping[str, str] | None = None
    ) -> ConsoleBus:
        """Tokens from the config plus ``TOWNLET_CONSOLE_{ADMIN,VIEWER}_TOKEN``."""
        env = os.environ if environ is None else environ

        def from_env(name: str) -> list[str]:
            return [t.strip() for t in env.get(name, "").split(",") if t.strip()]

        return cls(
            admin_tokens=[*config.admin_tokens, *from_env("TOWNLET_CONSOLE_ADMIN_TOKEN")],
            viewer_tokens=[*config.viewer_tokens, *from_env("TOWNLET_CONSOLE_VIEWER_TOKEN")],
            audit_log=config.audit_log,
            request_timeout=config.request_timeout,
        )

    # -- transport side --------------------------------------------------------

    def request(self, raw: Mapping[str, Any], timeout: float | None = None) -> Result:
        """Queue ``raw`` for the next tick and wait for its result (thread-safe)."""
        done = threading.Event()
        box: list[Result] = []
        with self._lock:
            self._pending.append((dict(raw), done, box))
        if not done.wait(self.request_timeout if timeout is None else timeout):
            with self._lock:
                self._pending = [p for p in self._pending if p[1] is not done]
            if box:
                return box[0]
            return Result(
                str(raw.get("cmd_id", "")), False, "timeout", "the town did not tick in time"
            )
        return box[0]

    # -- simulation side -------------------------------------------------------

    def apply_pending(self, world: World) -> list[Result]:
        """Run every queued request against ``world`` (call once per tick)."""
        with self._lock:
            pending, self._pending = self._pending, []
        results = []
        for raw, done, box in pending:
            box.append(self.execute(world, raw))
            results.append(box[0])
            done.set()
        return results

    def execute(self, world: World, raw: Mapping[str, Any]) -> Result:
        """Authorise and run one request now."""
        try:
            req = _Request.model_validate(raw)
        except ValidationError as exc:
            cmd_id = raw.get("cmd_id") if isinstance(raw, Mapping) else None
            detail = format_validation_error(exc, model=_Request)
            return Result(str(cmd_id or ""), False, "bad_request", detail)
        role = self._role(req.token)
        if role is None:
            return Result(req.cmd_id, False, "unauthorized", "unauthorized")
        key = (hashlib.sha256(req.token.encode()).digest(), req.cmd_id)
        if key in self._results:
            return self._results[key]
        command = COMMANDS.get(req.command)
        if command is None:
            return Result(
                req.cmd_id,
                False,
                "unknown_command",
                f"unknown command {req.command!r}; commands: {', '.join(sorted(COMMANDS))}",
            )
        if command.role == "admin" and role != "admin":
            return Result(req.cmd_id, False, "forbidden", f"{req.command} needs an admin token")
        try:
            args = command.args.model_validate(req.args)
        except ValidationError as exc:
            result = Result(
                req.cmd_id,
                False,
                "bad_args",
                format_validation_error(exc, model=command.args, prefix=("args",)),
            )
        else:
            try:
                result = Result(req.cmd_id, True, "ok", "", command.handler(world, args))
            except Refused as exc:
                result = Result(req.cmd_id, False, exc.code, str(exc))
            except Exception as exc:  # no command may stop the town
                detail = f"{req.command} failed: {type(exc).__name__}: {exc}"
                result = Result(req.cmd_id, False, "internal_error", detail)
        self._remember(key, result)
        self._audit(world, role, req, result)
        return result

    def _role(self, token: str) -> str | None:
        given = token.encode()
        admin = any(hmac.compare_digest(given, t) for t in self._admin)
        viewer = any(hmac.compare_digest(given, t) for t in self._viewer)
        return "admin" if admin else ("viewer" if viewer else None)

    def _remember(self, key: tuple[bytes, str], result: Result) -> None:
        self._results[key] = result
        while len(self._results) > _REMEMBERED:
            self._results.popitem(last=False)

    def _audit(self, world: World, role: str, req: _Request, result: Result) -> None:
        if self.audit_log is None:
            return
        entry = {
            "time": round(time.time(), 3),
            "tick": world.tick,
            "issuer": role,
            "cmd_id": req.cmd_id,
            "command": req.command,
            "args": req.args,
            "result": {"ok": result.ok, "code": result.code, "message": result.message},
        }
        try:
            self.audit_log.parent.mkdir(parents=True, exist_ok=True)
            with self.audit_log.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
        except OSError:
            # A full disk or unwritable log must not stop the town; health reports it.
            self.audit_failures += 1
