"""The console command bus: authentication, idempotency, audit, in-tick execution.

Requests are mappings ``{"cmd_id", "token", "command", "args"}``. A request
nested deeper than :data:`MAX_DEPTH` levels is refused as ``bad_request``
before anything else looks at it. The token is checked first (constant-time
comparison, never logged): a bad token gets ``unauthorized`` whatever the
command, so callers cannot probe which commands exist. Viewer tokens may run
only viewer commands. A ``cmd_id`` seen before from the same token returns its
first result without running again; results are cached per token, so one
caller never receives another's result.

No request, whatever it holds, may stop the town: a handler that fails
unexpectedly answers ``internal_error``, and :meth:`ConsoleBus.apply_pending`
answers ``internal_error`` for anything else that goes wrong. Admin commands
are appended to the audit log one line each (time, tick, issuer role, command,
args, result); reads and forbidden attempts are tallied (see
:mod:`townlet.core.console.audit`). Failed audit writes and refusals are
counted in :attr:`ConsoleBus.stats` and reported by :meth:`ConsoleBus.health`.

Commands apply at the start of a tick, before the policy acts: the
simulation calls :meth:`ConsoleBus.apply_pending` and socket threads wait on
:meth:`ConsoleBus.request` until then.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from townlet.core._validation import format_validation_error
from townlet.core.console.audit import AuditLog
from townlet.core.console.commands import COMMANDS, ConsoleContext, Refused
from townlet.core.console.config import ConsoleConfig

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = [
    "MAX_DEPTH",
    "ConsoleBus",
    "ConsoleStats",
    "Presentation",
    "Result",
    "health_lines",
    "too_deep",
]

_REMEMBERED = 10_000
MAX_DEPTH: Final = 32
"""Deepest nesting of lists and objects a request may have."""


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


@dataclass
class ConsoleStats:
    """What a console has answered and refused (the transport adds its own counts)."""

    requests: int = 0
    """Requests the bus answered (a line the server cannot parse is only a bad request)."""
    refused: int = 0
    """Requests answered with an error code."""
    bad_requests: int = 0
    """Malformed requests (not JSON, not an object, too long, too deep, bad fields)."""
    unauthorized: int = 0
    internal_errors: int = 0
    connections: int = 0
    """Connections the server accepted."""
    connections_refused: int = 0
    """Connections turned away because ``console.max_connections`` were open."""
    idle_closed: int = 0
    """Connections closed after ``console.idle_timeout`` seconds without a request."""
    audit_failures: int = 0
    """Audit lines that could not be written (the town ran on)."""

    def as_dict(self) -> dict[str, int]:
        """JSON-able form."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists/dicts in ``value`` nest deeper than ``limit`` (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


@dataclass(frozen=True)
class Presentation:
    """How one caller sees the town, applied on the tick thread around each of its requests.

    The observer page under ``telemetry.privacy`` knows agents only by their
    hashed ids: ``inbound`` turns those back into ids before the bus looks at
    the request, ``outbound`` hashes ids and names in the answer.
    """

    inbound: Callable[[dict[str, Any]], dict[str, Any]]
    outbound: Callable[[Result], Result]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cmd_id: str = Field(min_length=1, max_length=128)
    token: str = Field(max_length=512)
    command: str = Field(max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)


class ConsoleBus:
    """Queues, authorises and executes console commands.

    ``snapshot_dir``: the only directory the ``snapshot`` command reads and
    writes (None: the command is refused). ``audit_tally_interval``: seconds
    between two tallies of reads in the audit log.
    """

    def __init__(
        self,
        *,
        admin_tokens: Iterable[str] = (),
        viewer_tokens: Iterable[str] = (),
        audit_log: Path | None = None,
        request_timeout: float = 5.0,
        snapshot_dir: Path | None = None,
        audit_tally_interval: float = 60.0,
    ) -> None:
        self._admin = [t.encode() for t in admin_tokens if t]
        self._viewer = [t.encode() for t in viewer_tokens if t]
        self.audit = AuditLog(audit_log, tally_interval=audit_tally_interval)
        self.request_timeout = request_timeout
        self.snapshot_dir = snapshot_dir
        self.stats = ConsoleStats()
        """Counters; :meth:`health` reads them consistently."""
        self._results: OrderedDict[tuple[bytes, str], Result] = OrderedDict()
        self._pending: list[
            tuple[dict[str, Any], threading.Event, list[Result], Presentation | None]
        ] = []
        self._lock = threading.Lock()

    @classmethod
    def from_config(
        cls,
        config: ConsoleConfig,
        environ: Mapping[str, str] | None = None,
        *,
        snapshot_dir: Path | None = None,
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
            snapshot_dir=snapshot_dir,
        )

    @property
    def audit_log(self) -> Path | None:
        """The audit log file (None: not written)."""
        return self.audit.path

    @audit_log.setter
    def audit_log(self, path: Path | None) -> None:
        self.audit.path = path

    @property
    def audit_failures(self) -> int:
        """Audit lines that could not be written."""
        return self.audit.failures

    @property
    def has_tokens(self) -> bool:
        """Whether any admin or viewer token is configured (else every request is refused)."""
        return bool(self._admin or self._viewer)

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``name`` of :attr:`stats` (thread-safe)."""
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + n)

    def health(self) -> dict[str, int]:
        """The counters of :class:`ConsoleStats`, consistent at one moment."""
        with self._lock:
            self.stats.audit_failures = self.audit.failures
            return self.stats.as_dict()

    def health_lines(self) -> list[str]:
        """The counters as summary lines (``townlet run`` prints them)."""
        return health_lines(self.health())

    def flush_audit(self) -> None:
        """Write the pending tally of reads to the audit log (at the end of a run)."""
        self.audit.flush_tally()

    # -- transport side --------------------------------------------------------

    def request(
        self,
        raw: Mapping[str, Any],
        timeout: float | None = None,
        *,
        presentation: Presentation | None = None,
    ) -> Result:
        """Queue ``raw`` for the next tick and wait for its result (thread-safe)."""
        done = threading.Event()
        box: list[Result] = []
        with self._lock:
            self._pending.append((dict(raw), done, box, presentation))
        wait_s = self.request_timeout if timeout is None else timeout
        if not done.wait(wait_s):
            with self._lock:
                queued = any(p[1] is done for p in self._pending)
                if queued:
                    self._pending = [p for p in self._pending if p[1] is not done]
            # Taken by the tick already: it is running, so "timeout" would hide that it ran.
            if not queued and done.wait(wait_s):
                return box[0]
            return Result(_cmd_id(raw), False, "timeout", "the town did not tick in time")
        return box[0]

    # -- simulation side -------------------------------------------------------

    def apply_pending(self, world: World) -> list[Result]:
        """Run every queued request against ``world`` (call once per tick); never raises."""
        with self._lock:
            pending, self._pending = self._pending, []
        results = []
        for raw, done, box, presentation in pending:
            box.append(self._present(world, raw, presentation))
            results.append(box[0])
            done.set()
        self.audit.flush_tally(due_only=True)
        return results

    def _present(
        self, world: World, raw: dict[str, Any], presentation: Presentation | None
    ) -> Result:
        if presentation is None:
            return self.execute(world, raw)
        try:
            return presentation.outbound(self.execute(world, presentation.inbound(raw)))
        except Exception as exc:  # a failing presentation must not stop the town either
            self.count("internal_errors")
            detail = f"the console failed: {type(exc).__name__}: {exc}"
            return Result(_cmd_id(raw), False, "internal_error", detail)

    def execute(self, world: World, raw: Mapping[str, Any]) -> Result:
        """Authorise and run one request now; answers every failure with an error code."""
        try:
            result = self._execute(world, raw)
        except Exception as exc:  # no request may stop the town, a bug here included
            self.count("internal_errors")
            detail = f"the console failed: {type(exc).__name__}: {exc}"
            result = Result(_cmd_id(raw), False, "internal_error", detail)
        self.count("requests")
        if not result.ok:
            self.count("refused")
        return result

    def _execute(self, world: World, raw: Mapping[str, Any]) -> Result:
        if not isinstance(raw, Mapping) or too_deep(raw):
            self.count("bad_requests")
            detail = f"a request is a JSON object nested at most {MAX_DEPTH} levels deep"
            return Result(_cmd_id(raw), False, "bad_request", detail)
        try:
            req = _Request.model_validate(raw)
        except ValidationError as exc:
            self.count("bad_requests")
            detail = format_validation_error(exc, model=_Request)
            return Result(_cmd_id(raw), False, "bad_request", detail)
        role = self._role(req.token)
        if role is None:
            self.count("unauthorized")
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
            self.audit.tally(world.tick, role, req.command, "forbidden")
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
            result = self._run(world, req, args)
        self._remember(key, result)
        if command.role == "viewer":
            self.audit.tally(world.tick, role, req.command, result.code)
        else:
            self._audit(world, role, req, result)
        return result

    def _run(self, world: World, req: _Request, args: BaseModel) -> Result:
        command = COMMANDS[req.command]
        try:
            if command.with_context:
                context = ConsoleContext(snapshot_dir=self.snapshot_dir, health=self.health())
                data = command.handler(world, args, context)
            else:
                data = command.handler(world, args)
            return Result(req.cmd_id, True, "ok", "", data)
        except Refused as exc:
            return Result(req.cmd_id, False, exc.code, str(exc))
        except Exception as exc:  # no command may stop the town
            self.count("internal_errors")
            detail = f"{req.command} failed: {type(exc).__name__}: {exc}"
            return Result(req.cmd_id, False, "internal_error", detail)

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
        self.audit.command(
            {
                "tick": world.tick,
                "issuer": role,
                "cmd_id": req.cmd_id,
                "command": req.command,
                "args": req.args,
                "result": {"ok": result.ok, "code": result.code, "message": result.message},
            }
        )


def health_lines(health: Mapping[str, int]) -> list[str]:
    """Summary lines for :meth:`ConsoleBus.health` counters (only those given)."""
    lines = []
    if "requests" in health:
        lines.append(
            f"requests {health['requests']}   refused {health.get('refused', 0)}"
            f"   bad {health.get('bad_requests', 0)}"
            f"   unauthorized {health.get('unauthorized', 0)}"
            f"   internal errors {health.get('internal_errors', 0)}"
        )
    if "connections" in health:
        lines.append(
            f"connections {health['connections']}"
            f"   turned away {health.get('connections_refused', 0)}"
            f"   closed idle {health.get('idle_closed', 0)}"
        )
    lines.append(f"audit writes failed {health.get('audit_failures', 0)}")
    return lines


def _cmd_id(raw: object) -> str:
    """The request's ``cmd_id`` when it has a plain one, for error answers."""
    cmd_id = raw.get("cmd_id") if isinstance(raw, Mapping) else None
    return cmd_id[:128] if isinstance(cmd_id, str) else ""
