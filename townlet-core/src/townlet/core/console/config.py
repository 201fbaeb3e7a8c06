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
        False, description="Allow binding to a non-loopback address (off: loopback only)."
    )
    admin_tokens: list[str] = Field(default_factory=list, description="Tokens with admin rights.")
    viewer_tokens: list[str] = Field(default_factory=list, description="Read-only tokens.")
    audit_log: ConfigPath = Field(
        Path("console_audit.jsonl"), description="Append-only JSONL of accepted commands."
    )
    request_timeout: float = Field(
        5.0, gt=0, le=600, description="Seconds a socket request waits for the next tick."
    )
