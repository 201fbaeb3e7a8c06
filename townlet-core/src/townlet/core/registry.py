"""The plugin registry: entry-point discovery, lazy loading and building.

One entry-point group per port (see :data:`PORTS`). Listing reads entry-point
metadata only, so listing never imports an implementation (listing ``ppo``
does not import torch). Resolving a name imports that one implementation,
checks it against its port and the plugin API version, validates its params
against its ``Params`` model and builds it as ``cls(params)``.

Names come only from entry points, never from dotted import paths in config:
a YAML file must not be able to import arbitrary code.

A bare name that two distributions register in one port selects the
first-party plugin (the one :data:`~townlet.core.catalogue.FIRST_PARTY` names)
with a warning naming both; the other is reached by its qualified name
``dist:name``. Between two third-party plugins a bare name is refused as
ambiguous. Every command resolves names this way.

Environment switches:

``TOWNLET_DISABLE_PLUGINS``
    Comma-separated deny-list of ``name`` or ``dist:name``; matching plugins
    are listed as disabled and refuse to resolve.
``TOWNLET_TRACE_PLUGINS``
    When set to a non-empty value other than ``0``, every discovery, import
    and build is logged to stderr.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from townlet.core import ports
from townlet.core._validation import format_validation_error, nearest
from townlet.core.catalogue import FIRST_PARTY
from townlet.core.errors import (
    PluginError,
    PluginImportError,
    PluginParamsError,
    PluginVersionError,
    UnknownPluginError,
)

__all__ = [
    "HOOKS_GROUP",
    "PORTS",
    "PluginInfo",
    "Port",
    "Registry",
    "port",
]

HOOKS_GROUP = "townlet"
"""Entry-point group for pluggy event-hook implementations."""

log = logging.getLogger("townlet.plugins")
_WARNED: set[tuple[str, str, frozenset[str | None]]] = set()
"""Shadowed names already warned about in this process (port, name, distributions)."""


@dataclass(frozen=True, slots=True)
class Port:
    """One pluggable slot of the framework."""

    key: str
    """Short key, also the suffix of the entry-point group."""
    singular: str
    """Human name of one implementation, e.g. ``training strategy``."""
    protocol: type
    """The :mod:`townlet.core.ports` protocol implementations must satisfy."""

    @property
    def group(self) -> str:
        """Entry-point group name, e.g. ``townlet.training_strategies``."""
        return f"townlet.{self.key}"

    @property
    def title(self) -> str:
        """Human name of the port, e.g. ``training strategies``."""
        return self.key.replace("_", " ")


PORTS: tuple[Port, ...] = (
    Port("observation_encoders", "observation encoder", ports.ObservationEncoder),
    Port("reward_stages", "reward stage", ports.RewardStage),
    Port("training_strategies", "training strategy", ports.TrainingStrategy),
    Port("telemetry_sinks", "telemetry sink", ports.TelemetrySink),
    Port("policies", "policy", ports.Policy),
    Port("scenarios", "scenario", ports.Scenario),
)
_PORTS_BY_KEY = {p.key: p for p in PORTS}


def port(key: str) -> Port:
    """Return the port called ``key`` (e.g. ``"policies"``)."""
    try:
        return _PORTS_BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown port {key!r}; ports: {', '.join(_PORTS_BY_KEY)}") from None


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """Metadata of one registered plugin, read without importing it."""

    port: Port
    name: str
    target: str
    """The entry point's ``module:attribute`` value."""
    dist: str | None
    version: str | None
    requires_torch: bool
    """Whether the providing distribution depends on torch (from its metadata)."""
    disabled: bool = False

    @property
    def qualified_name(self) -> str:
        """``dist:name``, the form that picks one of two same-named plugins."""
        return f"{self.dist}:{self.name}" if self.dist else self.name

    @property
    def provider(self) -> str:
        """``dist version`` or ``unknown distribution``."""
        return f"{self.dist} {self.version}" if self.dist else "unknown distribution"


_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@cache
def _dist_requires_torch(dist_name: str) -> bool:
    try:
        requirements = md.distribution(dist_name).requires or []
    except md.PackageNotFoundError:
        return False
    for req in requirements:
        match = _REQ_NAME.match(req)
        if match and match.group(1).lower() == "torch" and "extra ==" not in req:
            return True
    return False


def _townlet_entry_points() -> Iterable[md.EntryPoint]:
    seen: set[str] = set()
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name in seen:  # shadowed copy of a distribution further down sys.path
            continue
        seen.add(name)
        yield from (
            ep
            for ep in dist.entry_points
            if ep.group == HOOKS_GROUP or ep.group.startswith(f"{HOOKS_GROUP}.")
        )


def _trace_enabled(environ: Mapping[str, str]) -> bool:
    return environ.get("TOWNLET_TRACE_PLUGINS", "") not in ("", "0")


def _deny_list(environ: Mapping[str, str]) -> frozenset[str]:
    raw = environ.get("TOWNLET_DISABLE_PLUGINS", "")
    return frozenset(item.strip() for item in raw.split(",") if item.strip())


class Registry:
    """Discovers plugins through entry points and builds them on request.

    ``entry_points`` replaces discovery (tests pass their own); ``environ``
    replaces ``os.environ`` for the switches described in the module docstring.
    """

    def __init__(
        self,
        entry_points: Iterable[md.EntryPoint] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._trace_on = _trace_enabled(self._environ)
        self._deny = _deny_list(self._environ)
        eps = list(_townlet_entry_points() if entry_points is None else entry_points)
        self._infos: dict[str, list[PluginInfo]] = {p.key: [] for p in PORTS}
        self._eps: dict[tuple[str, str, str | None], md.EntryPoint] = {}
        self.hook_entry_points: list[md.EntryPoint] = []
        seen: set[tuple[str, str, str, str | None]] = set()
        for ep in eps:
            dist = ep.dist.name if ep.dist is not None else None
            key = (ep.group, ep.name, ep.value, dist)
            if key in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(key)
            if ep.group == HOOKS_GROUP:
                self.hook_entry_points.append(ep)
                continue
            if not ep.group.startswith("townlet.") or ep.group[8:] not in _PORTS_BY_KEY:
                continue
            p = _PORTS_BY_KEY[ep.group[8:]]
            version = ep.dist.version if ep.dist is not None else None
            info = PluginInfo(
                port=p,
                name=ep.name,
                target=ep.value,
                dist=dist,
                version=version,
                requires_torch=_dist_requires_torch(dist) if dist else False,
                disabled=ep.name in self._deny or f"{dist}:{ep.name}" in self._deny,
            )
            self._infos[p.key].append(info)
            self._eps[(p.key, ep.name, dist)] = ep
            self._trace(f"found {p.singular} {info.name!r} -> {info.target} ({info.provider})")
        for infos in self._infos.values():
            infos.sort(key=lambda i: (i.name, i.dist or ""))

    # -- listing ---------------------------------------------------------

    def infos(self, port_key: str) -> list[PluginInfo]:
        """Every plugin registered in one port, sorted by name (no imports)."""
        return list(self._infos[port(port_key).key])

    def find_all(self, name: str) -> list[PluginInfo]:
        """Plugins called ``name`` (or ``dist:name``) in any port."""
        dist, _, bare = name.rpartition(":")
        return [
            info
            for infos in self._infos.values()
            for info in infos
            if info.name == bare and (not dist or info.dist == dist)
        ]

    # -- resolving -------------------------------------------------------

    def find(self, port_key: str, name: str) -> PluginInfo:
        """Return the one enabled plugin that ``name`` selects in a port.

        ``name`` may be ``dist:name`` to choose between two distributions that
        register the same name. Raises :class:`UnknownPluginError` or
        :class:`PluginError` (ambiguous, disabled) with a full explanation.
        """
        p = port(port_key)
        dist, _, bare = name.rpartition(":")
        matches = [i for i in self._infos[p.key] if i.name == bare and (not dist or i.dist == dist)]
        if not matches:
            raise UnknownPluginError(self._unknown_message(p, name))
        if len(matches) > 1 and not dist:
            matches = self._prefer_first_party(p, bare, matches)
        if len(matches) > 1:
            choices = ", ".join(f"'{m.qualified_name}' ({m.provider})" for m in matches)
            raise PluginError(
                f"The {p.singular} name {bare!r} is registered by more than one distribution: "
                f"{choices}. Choose one by writing its qualified name, e.g. "
                f"'{matches[0].qualified_name}'."
            )
        info = matches[0]
        if info.disabled:
            raise PluginError(
                f"The {p.singular} {bare!r} ({info.provider}) is disabled by "
                f"TOWNLET_DISABLE_PLUGINS={self._environ.get('TOWNLET_DISABLE_PLUGINS', '')!r}."
            )
        return info

    def load(self, port_key: str, name: str) -> type[Any]:
        """Import the plugin class ``name`` selects and check it against its port."""
        info = self.find(port_key, name)
        ep = self._eps[(info.port.key, info.name, info.dist)]
        self._trace(f"importing {info.port.singular} {info.name!r} from {info.target}")
        try:
            obj = ep.load()
        except Exception as exc:  # any failure inside foreign code is the plugin's
            raise PluginImportError(
                f"The {info.port.singular} {info.name!r} from {info.provider} failed to import "
                f"({info.target}): {type(exc).__name__}: {exc}. Reinstall or fix that package, "
                f"or disable it with TOWNLET_DISABLE_PLUGINS={info.name}."
            ) from exc
        _check_plugin_class(info, obj)
        return obj  # type: ignore[no-any-return]

    def params_model(self, port_key: str, name: str) -> type[BaseModel]:
        """The ``Params`` model of a plugin (imports it)."""
        return self.load(port_key, name).Params  # type: ignore[no-any-return]

    def validate_params(
        self, port_key: str, name: str, params: Mapping[str, Any] | None = None
    ) -> BaseModel:
        """Validate ``params`` against the plugin's model; return the model instance."""
        cls = self.load(port_key, name)
        info = self.find(port_key, name)
        try:
            return cls.Params.model_validate(dict(params or {}))  # type: ignore[no-any-return]
        except ValidationError as exc:
            detail = format_validation_error(exc, model=cls.Params, prefix=("params",))
            what = f"{info.port.singular} {info.name!r} ({info.provider})"
            raise PluginParamsError(f"Invalid params for {what}:\n{detail}") from exc

    def build(self, port_key: str, name: str, params: Mapping[str, Any] | None = None) -> Any:
        """Resolve, check, validate params and construct the plugin ``name``."""
        cls = self.load(port_key, name)
        validated = self.validate_params(port_key, name, params)
        self._trace(f"building {port(port_key).singular} {name!r} with {validated!r}")
        return cls(validated)

    def _prefer_first_party(
        self, p: Port, bare: str, matches: list[PluginInfo]
    ) -> list[PluginInfo]:
        """The first-party plugin among same-named ones (with a warning), else all of them."""
        owner = FIRST_PARTY.get(p.key, {}).get(bare)
        chosen = [m for m in matches if m.dist == owner]
        if len(chosen) != 1:
            return matches
        others = ", ".join(f"'{m.qualified_name}'" for m in matches if m is not chosen[0])
        key = (p.key, bare, frozenset(m.dist for m in matches))
        if key not in _WARNED:
            _WARNED.add(key)
            log.warning(
                "Warning: the %s name %r is registered by %s and by %s; using %s's "
                "(write %s for the other)",
                p.singular,
                bare,
                chosen[0].provider,
                ", ".join(m.provider for m in matches if m is not chosen[0]),
                owner,
                others,
            )
        return chosen

    def dist_hint(self, dist: str, what: str, *, plural: bool = False) -> str:
        """How to get ``what`` (a plugin name, or a kind of plugin when ``plural``) that
        ``dist`` provides: ``pip install`` when ``dist`` is missing, else why it is not
        available."""
        is_, belongs = ("are", "belong") if plural else ("is", "belongs")
        try:
            have = md.version(dist)
        except md.PackageNotFoundError:
            return f"{what} {is_} provided by {dist}: pip install {dist}."
        deny = self._environ.get("TOWNLET_DISABLE_PLUGINS", "")
        if deny:
            return (
                f"{what} {belongs} to {dist}, which is installed ({have}); "
                f"TOWNLET_DISABLE_PLUGINS={deny!r} may disable it."
            )
        return f"{what} {belongs} to {dist}, which is installed ({have}) but does not ship it."

    # -- messages --------------------------------------------------------

    def _unknown_message(self, p: Port, name: str) -> str:
        installed = {i.name: i for i in self._infos[p.key] if not i.disabled}
        catalogue = FIRST_PARTY.get(p.key, {})
        bare = name.rpartition(":")[2]
        parts = [f"Unknown {p.singular} {name!r}."]
        if bare in catalogue and bare not in installed:
            parts.append(self.dist_hint(catalogue[bare], repr(bare)))
        else:
            guess = nearest(bare, [*installed, *catalogue])
            if guess is not None:
                hint = f"Did you mean {guess!r}?"
                if guess not in installed:
                    hint += " " + self.dist_hint(catalogue[guess], repr(guess))
                parts.append(hint)
        if installed:
            listing = ", ".join(f"{n} ({i.provider})" for n, i in sorted(installed.items()))
            parts.append(f"Installed {p.title}: {listing}.")
        else:
            parts.append(f"No {p.title} are installed.")
        return " ".join(parts)

    def _trace(self, message: str) -> None:
        if self._trace_on:
            print(f"townlet plugins: {message}", file=sys.stderr)


def _check_plugin_class(info: PluginInfo, obj: object) -> None:
    where = f"{info.port.singular} {info.name!r} ({info.provider}, {info.target})"
    if not isinstance(obj, type):
        raise PluginError(f"The {where} is not a class; entry points must name a plugin class.")
    params = getattr(obj, "Params", None)
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise PluginError(f"The {where} has no 'Params' pydantic model.")
    if params.model_config.get("extra") != "forbid":
        raise PluginError(
            f"The {where} has a 'Params' model that allows unknown keys; "
            "set model_config = ConfigDict(extra='forbid', frozen=True)."
        )
    theirs = getattr(obj, "plugin_api_version", None)
    if not isinstance(theirs, str):
        raise PluginVersionError(f"The {where} does not declare 'plugin_api_version'.")
    if theirs.split(".")[0] != ports.PLUGIN_API_VERSION.split(".")[0]:
        raise PluginVersionError(
            f"The {where} was built for plugin API {theirs}, but this townlet-core speaks "
            f"plugin API {ports.PLUGIN_API_VERSION}. Install a version of {info.dist or 'it'} "
            "built for this townlet-core."
        )
    missing = [m for m in _protocol_members(info.port.protocol) if not hasattr(obj, m)]
    if missing:
        raise PluginError(
            f"The {where} does not implement the {info.port.protocol.__name__} port: "
            f"missing {', '.join(missing)}."
        )


@cache
def _protocol_members(protocol: type) -> tuple[str, ...]:
    names: set[str] = set()
    for klass in protocol.__mro__:
        if klass in (object,) or not getattr(klass, "_is_protocol", False):
            continue
        names.update(n for n in vars(klass) if not n.startswith("_"))
        names.update(n for n in getattr(klass, "__annotations__", {}) if not n.startswith("_"))
    return tuple(sorted(names))
