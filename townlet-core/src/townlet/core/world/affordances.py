"""Affordance manifests: what an agent can do with an object.

A manifest is YAML with a top-level ``affordances`` list. Each entry::

    - id: shower
      object_type: shower
      duration: 30                    # ticks, > 0
      preconds: "water_on and agent.money >= 0.2"
      effects: {hygiene: 0.45, energy: -0.03, money: -0.2}
      buy: meal                       # optional: pay the shop price, take stock
      social: chat                    # optional: chat (talk to someone near) or meal

Effects on needs (``hunger``, ``hygiene``, ``energy``) are applied in equal
parts on every tick of the duration, so an interrupted affordance keeps what
it already gave. Effects on ``money`` and items (``raw_food``, ``meal``,
``clean_clothes``) and purchases apply at completion only, so an interrupted
affordance costs nothing. A need effect is *relief*: ``hunger: 0.4`` raises
the hunger value (1 = satisfied).

Preconditions use :mod:`townlet.core.world.expr` over the names in
:data:`PRECONDITION_NAMES`. An affordance whose preconditions read
``power_on`` or ``water_on`` needs that utility for its whole duration and
fails (releasing its user) when it goes out.

Errors name the file, the line of the entry and the offending value; the
manifest is never half-loaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from townlet.core._validation import format_validation_error
from townlet.core._yaml import compose_config, construct_document
from townlet.core.columns import ITEMS
from townlet.core.errors import ConfigError
from townlet.core.world.expr import Expr, ExprError, compile_expr
from townlet.core.world.filecache import ParsedFiles
from townlet.core.world.townmap import OBJECT_TYPES

__all__ = [
    "ITEMS",
    "NEEDS",
    "PRECONDITION_NAMES",
    "AffordanceSet",
    "load_affordances",
]

NEEDS: Final = ("hunger", "hygiene", "energy")
PRECONDITION_NAMES: Final = frozenset(
    {f"agent.{n}" for n in (*NEEDS, *ITEMS, "money", "employed", "on_shift", "is_home")}
    | {f"price.{i}" for i in ITEMS}
    | {"power_on", "water_on", "hour", "day", "stock", "rainy", "cold", "sunny"}
)
"""Names a precondition may read. ``agent.is_home``: the object is in the
agent's home; ``stock``: units of the ``buy`` item left at this shop."""

EffectKey = Literal["hunger", "hygiene", "energy", "money", "raw_food", "meal", "clean_clothes"]


class _AffordanceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    object_type: Literal[OBJECT_TYPES]  # type: ignore[valid-type]
    duration: int = Field(gt=0, le=10_000)
    preconds: str = "true"
    effects: dict[EffectKey, float] = Field(default_factory=dict)
    buy: Literal["raw_food", "meal", "clean_clothes"] | None = None
    buy_qty: int = Field(1, ge=1, le=10)
    social: Literal["chat", "meal"] | None = None


@dataclass(frozen=True)
class AffordanceSet:
    """A validated manifest, compiled into arrays indexed by affordance."""

    path: Path
    checksum: str
    """sha256 of the manifest bytes."""
    ids: tuple[str, ...]
    object_type: tuple[str, ...]
    duration: npt.NDArray[np.int32]
    need_per_tick: npt.NDArray[np.float32]
    """``[A, 3]`` need relief per tick of duration (hunger, hygiene, energy)."""
    money: npt.NDArray[np.int64]
    """``[A]`` money change at completion, in mills (1/1000 money unit)."""
    items: npt.NDArray[np.int16]
    """``[A, 3]`` item change at completion (raw_food, meal, clean_clothes)."""
    buy_item: npt.NDArray[np.int8]
    """``[A]`` index of the item bought from the shop, or -1."""
    buy_qty: npt.NDArray[np.int16]
    preconds: tuple[Expr, ...]
    needs_power: npt.NDArray[np.bool_]
    needs_water: npt.NDArray[np.bool_]
    social: tuple[str | None, ...]
    """``chat``: completing it starts a chat with someone nearby; ``meal``: eating
    at the same time and place as someone else is a shared meal."""

    def index(self, affordance_id: str) -> int:
        """Index of an affordance by id."""
        return self.ids.index(affordance_id)


def load_affordances(path: Path) -> AffordanceSet:
    """Parse, validate and compile a manifest; raise :class:`ConfigError` on any problem."""
    return _PARSED.load(path)


def _parse(path: Path, raw: bytes) -> AffordanceSet:
    node = compose_config(raw.decode("utf-8"), path)
    doc = construct_document(node, path)
    if not isinstance(doc, dict) or not isinstance(doc.get("affordances"), list):
        raise ConfigError(f"{path}: a manifest is a mapping with an 'affordances' list")
    entries = doc["affordances"]
    assert isinstance(node, yaml.MappingNode)
    list_node = next(v for k, v in node.value if k.value == "affordances")
    lines = [item.start_mark.line + 1 for item in list_node.value]

    specs: list[_AffordanceSpec] = []
    exprs: list[Expr] = []
    for entry, line in zip(entries, lines, strict=True):
        where = f"{path}:{line}"
        label = entry.get("id", "?") if isinstance(entry, dict) else "?"
        try:
            spec = _AffordanceSpec.model_validate(entry)
        except ValidationError as exc:
            raise ConfigError(
                f"{where}: affordance {label!r}: "
                f"{format_validation_error(exc, model=_AffordanceSpec)}"
            ) from exc
        if spec.id in (s.id for s in specs):
            raise ConfigError(f"{where}: affordance id {spec.id!r} is declared twice")
        try:
            exprs.append(compile_expr(spec.preconds, PRECONDITION_NAMES))
        except ExprError as exc:
            raise ConfigError(
                f"{where}: affordance {spec.id!r}: preconds {_excerpt(spec.preconds)}: {exc}"
            ) from exc
        specs.append(spec)

    n = len(specs)
    need = np.zeros((n, len(NEEDS)), dtype=np.float32)
    items = np.zeros((n, len(ITEMS)), dtype=np.int16)
    money = np.zeros(n, dtype=np.int64)
    for i, s in enumerate(specs):
        for key, value in s.effects.items():
            if key in NEEDS:
                need[i, NEEDS.index(key)] = value / s.duration
            elif key == "money":
                money[i] = round(value * 1000)
            else:
                items[i, ITEMS.index(key)] = round(value)
    aset = AffordanceSet(
        path=path,
        checksum=hashlib.sha256(raw).hexdigest(),
        ids=tuple(s.id for s in specs),
        object_type=tuple(s.object_type for s in specs),
        duration=np.array([s.duration for s in specs], dtype=np.int32),
        need_per_tick=need,
        money=money,
        items=items,
        buy_item=np.array([ITEMS.index(s.buy) if s.buy else -1 for s in specs], dtype=np.int8),
        buy_qty=np.array([s.buy_qty for s in specs], dtype=np.int16),
        preconds=tuple(exprs),
        needs_power=np.array(["power_on" in e.names for e in exprs], dtype=bool),
        needs_water=np.array(["water_on" in e.names for e in exprs], dtype=bool),
        social=tuple(s.social for s in specs),
    )
    for value in vars(aset).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False  # shared by every world built from this file
    return aset


_PARSED: ParsedFiles[AffordanceSet] = ParsedFiles(_parse, "affordance manifest")


def _excerpt(text: str, limit: int = 80) -> str:
    """``text`` quoted, shortened for error messages (preconditions may be huge)."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"
