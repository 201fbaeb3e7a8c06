"""Parsed town and manifest files, shared by content.

Every env reset builds a fresh world from its config; parsing the same YAML
again each time would cost more than hundreds of ticks. A file is re-parsed
only when its path or bytes change, and the result (immutable) is shared.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from townlet.core._yaml import read_config_text

__all__ = ["ParsedFiles"]

T = TypeVar("T")


class ParsedFiles(Generic[T]):
    """The last ``maxsize`` results of ``parse(path, bytes)``, keyed by path and content digest."""

    def __init__(self, parse: Callable[[Path, bytes], T], what: str, maxsize: int = 16) -> None:
        self.parse = parse
        self.what = what
        """What the files are (``town``, ``affordance manifest``), for read errors."""
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[str, bytes], T] = OrderedDict()

    def load(self, path: Path) -> T:
        """Read ``path`` and return its parse result, parsing only new content."""
        # The config files' defences: no FIFO or device read, a size cap, UTF-8 only.
        raw = read_config_text(path, self.what).encode("utf-8")
        key = (str(path), hashlib.blake2b(raw, digest_size=16).digest())
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
            return hit
        value = self.parse(path, raw)  # errors propagate and nothing is stored
        self._items[key] = value
        if len(self._items) > self.maxsize:
            self._items.popitem(last=False)
        return value
