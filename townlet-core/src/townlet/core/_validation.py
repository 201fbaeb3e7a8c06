"""Formatting pydantic validation errors as one readable paragraph."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import ValidationError

__all__ = ["format_validation_error", "key_path"]


def key_path(loc: Sequence[int | str]) -> str:
    """Render a pydantic error location as ``a.b[2].c``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def format_validation_error(
    error: ValidationError,
    *,
    prefix: Sequence[int | str] = (),
    locate: Callable[[Sequence[int | str]], str] | None = None,
) -> str:
    """One line per problem: ``[where: ]key.path: message (got VALUE)``.

    ``prefix`` is prepended to every location (the place of a nested model in a
    larger document); ``locate`` turns a full location into a position string
    such as ``config.yaml:12``.
    """
    lines = []
    for item in error.errors(include_url=False):
        loc = (*prefix, *item["loc"])
        where = f"{locate(loc)}: " if locate else ""
        got = "" if item["type"] == "missing" else f" (got {item['input']!r})"
        lines.append(f"{where}{key_path(loc)}: {item['msg']}{got}")
    return "\n".join(lines)
