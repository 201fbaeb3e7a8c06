"""Readable errors: pydantic validation errors as lines, and nearest-name hints."""

from __future__ import annotations

import difflib
import types
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

__all__ = ["format_validation_error", "key_path", "nearest", "read_yaml_model"]


_M = TypeVar("_M", bound=BaseModel)


def read_yaml_model(path: Path, model: type[_M], what: str, error: type[Exception]) -> _M:
    """Read YAML file ``path`` as ``model``; ``error`` names the file and every bad key
    (``what``: the kind of file, e.g. "baseline")."""
    # Imported here: the config package imports this module.
    from townlet.core._yaml import read_config_document
    from townlet.core.errors import ConfigError

    try:  # the config loader's defences: FIFOs, devices, deep nesting, alias bombs
        _, data = read_config_document(path, what)
    except ConfigError as exc:
        raise error(str(exc)) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        detail = format_validation_error(exc, model=model)
        raise error(f"Invalid {what} {path}:\n{detail}") from exc


def nearest(name: str, names: Collection[str]) -> str | None:
    """The entry of ``names`` closest to a misspelt ``name``, or None if none is close."""
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return close[0] if close else None


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
    model: type[BaseModel] | None = None,
    prefix: Sequence[int | str] = (),
    locate: Callable[[Sequence[int | str]], str] | None = None,
) -> str:
    """One line per problem: ``[where: ]key.path: message (got VALUE)``.

    ``model`` is the model that was validated: an unknown key then gets the
    nearest valid one (``Did you mean 'world.agents'?``) or the list of valid
    keys. ``prefix`` is prepended to every location (the place of a nested
    model in a larger document); ``locate`` turns a full location into a
    position string such as ``config.yaml:12``.
    """
    lines = []
    for item in error.errors(include_url=False):
        loc = (*prefix, *item["loc"])
        where = f"{locate(loc)}: " if locate else ""
        shown = item["type"] == "missing" or "(got " in item["msg"]  # a validator said it
        got = "" if shown else f" (got {item['input']!r})"
        hint = ""
        if item["type"] == "extra_forbidden" and model is not None:
            hint = _unknown_key_hint(model, tuple(prefix), item["loc"])
        lines.append(f"{where}{key_path(loc)}: {item['msg']}{got}{hint}")
    return "\n".join(lines)


def _unknown_key_hint(
    model: type[BaseModel], prefix: tuple[int | str, ...], loc: tuple[int | str, ...]
) -> str:
    """`` Did you mean 'a.b'?`` or the keys valid where the unknown ``loc[-1]`` is."""
    *parent, key = loc
    keys = _keys_at(model, parent)
    if keys is None or not isinstance(key, str):
        return ""
    guess = nearest(key, keys)
    if guess is not None:
        return f". Did you mean {key_path((*prefix, *parent, guess))!r}?"
    place = f"of {key_path((*prefix, *parent))}" if prefix or parent else "at the top level"
    if not keys:
        return f". There are no keys {place}."
    return f". Valid keys {place}: {', '.join(keys)}."


def _keys_at(model: type[BaseModel], loc: Sequence[int | str]) -> list[str] | None:
    """The keys of the model found at ``loc`` inside ``model``, or None if not a model."""
    here: Any = model
    for part in loc:
        here = _child(_unwrap(here), part)
        if here is None:
            return None
    here = _unwrap(here)
    if not (isinstance(here, type) and issubclass(here, BaseModel)):
        return None
    return [f.alias or name for name, f in here.model_fields.items()]


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` as ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _child(annotation: Any, part: int | str) -> Any:
    """The type at ``part`` (a field, a list index or a mapping key) inside ``annotation``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        by_key = {f.alias or name: f for name, f in annotation.model_fields.items()}
        field = by_key.get(str(part))
        return field.annotation if field is not None else None
    origin = get_origin(annotation)
    args = get_args(annotation)
    if isinstance(origin, type) and issubclass(origin, Mapping) and len(args) == 2:
        return args[1]
    if isinstance(origin, type) and issubclass(origin, Sequence) and args and isinstance(part, int):
        return args[0]
    return None
