"""Loading run configs from YAML, with ``extends:``, overrides and plugin checks.

A config source is a file path, ``builtin:NAME`` (a config shipped inside
townlet-core, e.g. ``builtin:default``) or ``scenario:NAME`` (a scenario
plugin's config). A file may name a base with ``extends:`` (same forms; paths
relative to the file); mappings merge key by key, anything else replaces.

Every error names the file and line (or the command-line override), the key
path and the offending value.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from townlet.core._validation import format_validation_error, key_path
from townlet.core._yaml import load_yaml_value, read_config_document
from townlet.core.config.models import TownletConfig
from townlet.core.config_base import _PathMarker
from townlet.core.errors import ConfigError, PluginError
from townlet.core.registry import Registry

__all__ = [
    "DEFAULT_SOURCE",
    "LoadedConfig",
    "Override",
    "check_plugins",
    "load_config",
    "parse_override",
    "resolve_source",
]

DEFAULT_SOURCE = "builtin:default"

Loc = tuple[int | str, ...]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value was set: a file line or a command-line override."""

    label: str
    base_dir: Path


@dataclass(frozen=True, slots=True)
class Override:
    """A command-line override of one key path (``--set key.path=value`` or a shortcut).

    ``text`` is the option as the user typed it; errors quote it.
    """

    loc: Loc
    value: Any
    text: str


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config plus where each of its values came from."""

    config: TownletConfig
    files: tuple[Path, ...]
    """Config files read, base first."""
    origins: Mapping[Loc, Origin] = field(repr=False)

    def locate(self, loc: Sequence[int | str]) -> str:
        """``file:line`` (or the override) that set ``loc`` or its nearest parent."""
        return _locate(self.origins, tuple(loc))


def parse_override(text: str) -> Override:
    """Parse ``a.b.c=value``; ``value`` is YAML (``3``, ``true``, ``[a, b]``).

    A numeric part indexes a list (``rewards.stages.0.name``).
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. --set seed=3")
    parts = key.strip().split(".")
    if any(not part for part in parts):
        raise ConfigError(f"--set {text!r}: empty key in {key.strip()!r} (two dots in a row?)")
    for part in parts:
        if part.startswith("-") and part[1:].isdigit():
            raise ConfigError(f"--set {text!r}: list index {part}: indexes count from 0")
    loc: Loc = tuple(int(p) if p.isdigit() else p for p in parts)
    value = load_yaml_value(raw, f"--set {key.strip()}") if raw.strip() else ""
    return Override(loc, value, f"--set {text}")


def resolve_source(source: str | Path, registry: Registry | None = None) -> Path:
    """Turn a config source (path, ``builtin:NAME``, ``scenario:NAME``) into a file path."""
    text = str(source)
    if text.startswith("builtin:"):
        name = text.removeprefix("builtin:")
        resource = importlib.resources.files("townlet.core") / "data" / "configs" / f"{name}.yaml"
        if not resource.is_file():
            raise ConfigError(f"{text!r}: townlet-core ships no config called {name!r}")
        return Path(str(resource))
    if text.startswith("scenario:"):
        name = text.removeprefix("scenario:")
        scenario = (registry or Registry()).build("scenarios", name)
        return Path(scenario.config_path())
    return Path(text)


def load_config(
    source: str | Path | None = None,
    *,
    overrides: Sequence[Override] = (),
    registry: Registry | None = None,
) -> LoadedConfig:
    """Read, merge, override and validate a config (plugins are not checked here)."""
    path = resolve_source(source or DEFAULT_SOURCE, registry)
    data, origins, files = _read_with_bases(path, registry, chain=())
    cwd = Path.cwd()
    for ov in overrides:
        _set_in(data, ov.loc, ov.value, ov.text)
        for loc in list(origins):
            if loc[: len(ov.loc)] == ov.loc:
                del origins[loc]
        origin = Origin(ov.text, cwd)
        for i in range(1, len(ov.loc)):  # keys the override created are its own
            origins.setdefault(ov.loc[:i], origin)
        origins[ov.loc] = origin
        for sub in _walk_locs(ov.value, ov.loc):
            origins[sub] = origin
    _resolve_paths(data, origins, TownletConfig, ())
    try:
        config = TownletConfig.model_validate(data)
    except ValidationError as exc:
        in_files: list[str] = []

        def locate(loc: Sequence[int | str]) -> str:
            # A check on a whole section that an override changed part of names the override.
            here = tuple(loc)
            for ov in reversed(overrides):
                if ov.loc[: len(here)] == here:
                    return ov.text
            where = _locate(origins, here, default=str(path))
            if not where.startswith("--"):
                in_files.append(where)
            return where

        detail = format_validation_error(exc, model=TownletConfig, locate=locate)
        head = f"Invalid config {path}" if in_files else "Invalid command-line override"
        raise ConfigError(f"{head}:\n{detail}") from exc
    return LoadedConfig(config, tuple(files), origins)


def check_plugins(loaded: LoadedConfig, registry: Registry | None = None) -> list[str]:
    """Resolve every plugin the config selects and validate its params.

    Returns one message per problem (empty when all is well); each names the
    file line and key path of the selection, and each bad param its own line
    and full key path (``training.params.iterations``).
    """
    registry = registry or Registry()
    cfg = loaded.config
    selections: list[tuple[str, Loc, str, Mapping[str, Any]]] = []
    if cfg.observations.encoder:
        selections.append(
            (
                "observation_encoders",
                ("observations", "encoder"),
                cfg.observations.encoder,
                cfg.observations.params,
            )
        )
    if cfg.training.strategy:
        selections.append(
            (
                "training_strategies",
                ("training", "strategy"),
                cfg.training.strategy,
                cfg.training.params,
            )
        )
    if cfg.policy.name:
        selections.append(("policies", ("policy", "name"), cfg.policy.name, cfg.policy.params))
    for i, stage in enumerate(cfg.rewards.stages):
        selections.append(
            ("reward_stages", ("rewards", "stages", i, "name"), stage.name, stage.params)
        )
    for i, sink in enumerate(cfg.telemetry.sinks):
        selections.append(
            ("telemetry_sinks", ("telemetry", "sinks", i, "name"), sink.name, sink.params)
        )
    problems = []
    for port_key, loc, name, params in selections:
        selected = f"{loaded.locate(loc)}: {key_path(loc)} = {name!r}: "
        try:
            model = registry.params_model(port_key, name)
            info = registry.find(port_key, name)
        except PluginError as exc:
            problems.append(f"{selected}{exc}")
            continue
        try:
            model.model_validate(dict(params))
        except ValidationError as exc:
            detail = format_validation_error(
                exc, model=model, prefix=(*loc[:-1], "params"), locate=loaded.locate
            )
            what = f"{info.port.singular} {info.name!r} ({info.provider})"
            problems.append(f"{selected}Invalid params for {what}:\n{detail}")
    return problems


# -- reading ---------------------------------------------------------------


def _read_with_bases(
    path: Path, registry: Registry | None, chain: tuple[Path, ...]
) -> tuple[dict[str, Any], dict[Loc, Origin], list[Path]]:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ConfigError(f"{path}: 'extends' forms a cycle: {cycle}")
    data, origins = _read_file(path)
    base_ref = data.pop("extends", None)
    origins.pop(("extends",), None)
    if base_ref is None:
        return data, origins, [path]
    if not isinstance(base_ref, str):
        raise ConfigError(
            f"{path}: extends: expected a path or builtin:/scenario: name (got {base_ref!r})"
        )
    base_path = resolve_source(base_ref, registry)
    if not base_path.is_absolute():
        base_path = path.parent / base_path
    base, base_origins, files = _read_with_bases(base_path, registry, (*chain, path))
    _merge(base, base_origins, data, origins)
    return base, base_origins, [*files, path]


def _read_file(path: Path) -> tuple[dict[str, Any], dict[Loc, Origin]]:
    node, data = read_config_document(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys (got {type(data).__name__})")
    origins: dict[Loc, Origin] = {}
    _record_origins(node, (), path, origins)
    return data, origins


def _record_origins(node: yaml.Node | None, loc: Loc, path: Path, out: dict[Loc, Origin]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            sub = (*loc, key_node.value)
            out[sub] = Origin(f"{path}:{key_node.start_mark.line + 1}", path.parent)
            _record_origins(value_node, sub, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = (*loc, i)
            out[sub] = Origin(f"{path}:{item.start_mark.line + 1}", path.parent)
            _record_origins(item, sub, path, out)


def _merge(
    base: dict[str, Any],
    base_origins: dict[Loc, Origin],
    over: dict[str, Any],
    over_origins: dict[Loc, Origin],
    loc: Loc = (),
) -> None:
    for key, value in over.items():
        sub = (*loc, key)
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base_origins[sub] = over_origins[sub]
            _merge(base[key], base_origins, value, over_origins, sub)
            continue
        base[key] = value
        for old in [k for k in base_origins if k[: len(sub)] == sub]:
            del base_origins[old]
        for new, origin in over_origins.items():
            if new[: len(sub)] == sub:
                base_origins[new] = origin


def _set_in(data: dict[str, Any], loc: Loc, value: Any, text: str) -> None:
    target: Any = data
    for i, part in enumerate(loc[:-1]):
        nxt = loc[i + 1]
        if isinstance(target, dict):
            here = target.get(part)
            if here is not None and not isinstance(here, dict | list):
                raise ConfigError(
                    f"{text}: {key_path(loc[: i + 1])} is {here!r}, which has no "
                    f"{'item' if isinstance(nxt, int) else 'key'} {nxt!r}"
                )
            if here is None:
                target[part] = [] if isinstance(nxt, int) else {}
            target = target[part]
        elif isinstance(target, list) and isinstance(part, int) and part < len(target):
            target = target[part]
        else:
            raise ConfigError(f"{text}: {key_path(loc[: i + 1])} does not exist")
    last = loc[-1]
    if isinstance(target, dict):
        target[last] = value
    elif isinstance(target, list) and isinstance(last, int) and last <= len(target):
        if last == len(target):
            target.append(value)
        else:
            target[last] = value
    else:
        raise ConfigError(f"{text}: {key_path(loc)} does not exist")


def _walk_locs(value: Any, loc: Loc) -> Iterator[Loc]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*loc, k)
            yield from _walk_locs(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*loc, i)
            yield from _walk_locs(v, (*loc, i))


def _locate(origins: Mapping[Loc, Origin], loc: Loc, default: str = "<config>") -> str:
    while loc:
        if loc in origins:
            return origins[loc].label
        loc = loc[:-1]
    return default


# -- relative paths ---------------------------------------------------------


def _absolute(value: Any, base_dir: Path) -> Any:
    """A relative path string (or each of a list of them) made absolute under ``base_dir``."""
    if isinstance(value, list):
        return [_absolute(item, base_dir) for item in value]
    if isinstance(value, str) and not Path(value).is_absolute():
        return str((base_dir / value).resolve())
    return value


def _resolve_paths(
    data: Any, origins: Mapping[Loc, Origin], model: type[BaseModel], loc: Loc
) -> None:
    """Make every ConfigPath value absolute, relative to the file that set it."""
    if not isinstance(data, dict):
        return
    for name, info in model.model_fields.items():
        if name not in data:
            continue
        sub = (*loc, name)
        if any(isinstance(m, _PathMarker) for m in info.metadata):
            origin = origins.get(sub)
            if origin is not None:
                data[name] = _absolute(data[name], origin.base_dir)
            continue
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _resolve_paths(data[name], origins, annotation, sub)
        elif get_origin(annotation) is list and isinstance(data[name], list):
            (item_type,) = get_args(annotation) or (None,)
            if isinstance(item_type, type) and issubclass(item_type, BaseModel):
                for i, item in enumerate(data[name]):
                    _resolve_paths(item, origins, item_type, (*sub, i))
