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

__all__ = ["ParsedFiles"]

T = TypeVar("T")


class ParsedFiles(Generic[T]):
    """The last ``maxsize`` parse results, keyed by path and content digest."""

    def __init__(self, maxsize: int = 16) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[str, bytes], T] = OrderedDict()

    def get(self, path: Path, raw: bytes, parse: Callable[[], T]) -> T:
        """The result of ``parse()`` for ``raw`` (the bytes of ``path``), parsed once."""
        key = (str(path), hashlib.blake2b(raw, digest_size=16).digest())
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
            return hit
        value = parse()  # errors propagate and nothing is stored
        self._items[key] = value
        if len(self._items) > self.maxsize:
            self._items.popitem(last=False)
        return value
