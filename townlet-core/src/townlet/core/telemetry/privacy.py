"""Privacy mode: salted hashes in place of agent ids and names.

With ``telemetry.privacy: true`` the hub passes every payload through an
:class:`Anonymizer` before any sink sees it. Agent ids become
``agent-<12 hex>`` and names ``anon-<8 hex>``, both keyed BLAKE2b hashes with
a salt drawn once per run: stable within the run (an agent keeps its hash,
diffs stay small), unlinkable across runs.

What is replaced, in world snapshots:

- the keys of ``agents`` and ``relationships``; ``name``; ``last_event`` text;
- ``objects.*.occupant`` and ``objects.*.queue`` items; ``relationships.*.other``;
- in ``events``: ``agent``, ``other``, any string equal to a known id or name,
  and known ids and names inside any other string;
- in ``narration`` (also in ``narration`` payloads): ``agents`` items and
  known ids and names inside ``text``.

Metric names have known ids and names replaced too. Ids and names become
known when an agent appears in a world snapshot.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Anonymizer"]


class Anonymizer:
    """Replaces agent ids and names with salted hashes (see the module docstring)."""

    def __init__(self, salt: bytes | str | None = None) -> None:
        if salt is None:
            salt = secrets.token_bytes(16)
        self._key = (salt.encode("utf-8") if isinstance(salt, str) else salt)[:64]
        self._ids: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    # -- tokens ------------------------------------------------------------

    def agent_id(self, raw: str) -> str:
        """The hash standing for agent id ``raw`` in this run."""
        hashed = self._ids.get(raw)
        if hashed is None:
            hashed = self._ids[raw] = "agent-" + self._digest(b"id", raw, 6)
            self._pattern = None
        return hashed

    def name(self, raw: str) -> str:
        """The hash standing for agent name ``raw`` in this run."""
        hashed = self._names.get(raw)
        if hashed is None:
            hashed = self._names[raw] = "anon-" + self._digest(b"name", raw, 4)
            self._pattern = None
        return hashed

    def text(self, text: str) -> str:
        """``text`` with every known id and name (as whole words) replaced."""
        pattern = self._pattern
        if pattern is None:
            words = sorted({*self._ids, *self._names}, key=len, reverse=True)
            if not words:
                return text
            alternation = "|".join(re.escape(w) for w in words if w)
            pattern = self._pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")
        return pattern.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        word = match.group(0)
        return self._ids.get(word) or self._names[word]

    def _digest(self, domain: bytes, raw: str, size: int) -> str:
        h = hashlib.blake2b(raw.encode("utf-8"), digest_size=size, key=self._key, person=domain)
        return h.hexdigest()

    def _value(self, value: Any) -> Any:
        """A scalar from an event: exact ids/names hashed, free text scrubbed."""
        if not isinstance(value, str):
            return value
        if value in self._ids:
            return self._ids[value]
        if value in self._names:
            return self._names[value]
        return self.text(value)

    def _opt_id(self, raw: str | None) -> str | None:
        return None if raw is None else self.agent_id(raw)

    # -- payload bodies ------------------------------------------------------

    def world(self, snapshot: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a world snapshot with ids and names hashed."""
        out = dict(snapshot)
        agents = snapshot.get("agents", {})
        for agent_id, agent in agents.items():  # learn every id and name first
            self.agent_id(agent_id)
            if isinstance(agent.get("name"), str):
                self.name(agent["name"])
        out["agents"] = {self._ids[k]: self._agent(a) for k, a in agents.items()}
        if "objects" in snapshot:
            out["objects"] = {k: self._object(o) for k, o in snapshot["objects"].items()}
        if "relationships" in snapshot:
            out["relationships"] = {
                self.agent_id(k): [self._tie(t) for t in ties]
                for k, ties in snapshot["relationships"].items()
            }
        if "events" in snapshot:
            out["events"] = self.events(snapshot["events"])
        if "narration" in snapshot:
            out["narration"] = self.narration(snapshot["narration"])
        if "kpis" in snapshot:
            out["kpis"] = self.metrics(snapshot["kpis"])
        return out

    def _agent(self, agent: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(agent)
        if isinstance(out.get("name"), str):
            out["name"] = self._names[out["name"]]
        if isinstance(out.get("last_event"), str):
            out["last_event"] = self.text(out["last_event"])
        return out

    def _object(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(obj)
        if "occupant" in out:
            out["occupant"] = self._opt_id(out["occupant"])
        if "queue" in out:
            out["queue"] = [self.agent_id(a) for a in out["queue"]]
        return out

    def _tie(self, tie: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(tie)
        if "other" in out:
            out["other"] = self.agent_id(out["other"])
        return out

    def events(self, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """World events with ids and names hashed."""
        out = []
        for event in events:
            scrubbed = {k: self._value(v) for k, v in event.items()}
            for key in ("agent", "other"):
                if isinstance(event.get(key), str):
                    scrubbed[key] = self.agent_id(event[key])
            out.append(scrubbed)
        return out

    def narration(self, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Narration items with ids and names hashed, also inside their text."""
        out = []
        for item in items:
            scrubbed = dict(item)
            if isinstance(item.get("text"), str):
                scrubbed["text"] = self.text(item["text"])
            if "agents" in item:
                scrubbed["agents"] = [self.agent_id(a) for a in item["agents"]]
            out.append(scrubbed)
        return out

    def metrics(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """Metrics with ids and names inside their names hashed."""
        return {self.text(k): v for k, v in metrics.items()}
