"""The ``console`` section of a run config."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from townlet.core.config_base import ConfigModel, ConfigPath

__all__ = ["ConsoleConfig"]


class ConsoleConfig(ConfigModel):
    """Operator console: tokens, bind address and audit log.

    Tokens may also come from ``TOWNLET_CONSOLE_ADMIN_TOKEN`` and
    ``TOWNLET_CONSOLE_VIEWER_TOKEN`` (comma-separated).
    """

    host: str = Field("127.0.0.1", description="Bind address of `townlet run --console-port`.")
    allow_remote: bool = Field(
        False,
        description="Allow binding to a non-loopback address (off: loopback only; "
        "on: at least one token is required).",
    )
    admin_tokens: list[str] = Field(default_factory=list, description="Tokens with admin rights.")
    viewer_tokens: list[str] = Field(default_factory=list, description="Read-only tokens.")
    audit_log: ConfigPath = Field(
        Path("console_audit.jsonl"),
        description="Append-only JSONL: one line per admin command, reads tallied per minute.",
    )
    request_timeout: float = Field(
        5.0, gt=0, le=600, description="Seconds a socket request waits for the next tick."
    )
    max_connections: int = Field(
        16, ge=1, le=1024, description="Connections served at once; more are turned away."
    )
    idle_timeout: float = Field(
        60.0, gt=0, le=86_400, description="Seconds a connection may stay silent before closing."
    )
