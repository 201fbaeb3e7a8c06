"""``townlet plugins list|show``."""

from __future__ import annotations

import inspect
import json
from typing import Any

import click
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from townlet.core._validation import nearest
from townlet.core.errors import PluginError, UnknownPluginError
from townlet.core.ports import PLUGIN_API_VERSION
from townlet.core.registry import HOOKS_GROUP, PORTS, PluginInfo, Registry

__all__ = ["plugins"]


@click.group()
def plugins() -> None:
    """Inspect installed plugins."""


def _info_dict(info: PluginInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "target": info.target,
        "dist": info.dist,
        "version": info.version,
        "requires_torch": info.requires_torch,
        "disabled": info.disabled,
    }


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_plugins(as_json: bool) -> None:
    """List every port and the implementations installed for it (imports none)."""
    registry = Registry()
    hooks = [
        {
            "name": ep.name,
            "target": ep.value,
            "dist": ep.dist.name if ep.dist else None,
            "version": ep.dist.version if ep.dist else None,
        }
        for ep in registry.hook_entry_points
    ]
    if as_json:
        doc = {
            "plugin_api_version": PLUGIN_API_VERSION,
            "ports": {p.key: [_info_dict(i) for i in registry.infos(p.key)] for p in PORTS},
            "hooks": hooks,
        }
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"plugin API {PLUGIN_API_VERSION}")
    for p in PORTS:
        click.echo(f"\n{p.title} ({p.group})")
        infos = registry.infos(p.key)
        if not infos:
            click.echo("  (none installed)")
        width = max((len(i.name) for i in infos), default=0)
        for i in infos:
            flags = [
                f for f, on in (("needs torch", i.requires_torch), ("DISABLED", i.disabled)) if on
            ]
            suffix = f"  [{', '.join(flags)}]" if flags else ""
            click.echo(f"  {i.name:<{width}}  {i.provider}{suffix}")
    click.echo(f"\nevent hooks ({HOOKS_GROUP})")
    if not hooks:
        click.echo("  (none installed)")
    for h in hooks:
        click.echo(f"  {h['name']}  {h['dist']} {h['version']}")


@plugins.command("show")
@click.argument("name")
@click.option(
    "--port", "port_key", type=click.Choice([p.key for p in PORTS]), help="Only look in this port."
)
def show_plugin(name: str, port_key: str | None) -> None:
    """Show a plugin's description and parameters (imports it)."""
    registry = Registry()
    found = registry.find_all(name)
    matches = [i for i in found if port_key in (None, i.port.key)]
    if not matches:
        raise UnknownPluginError(_unknown(registry, name, port_key, found))
    for n, info in enumerate(matches):
        if n:
            click.echo()
        cls = registry.load(info.port.key, info.qualified_name)
        click.echo(f"{info.name} — {info.port.singular} from {info.provider}")
        if ":" not in name and sum(m.port == info.port for m in matches) > 1:
            chosen = _selected_by_bare_name(registry, info.port.key, info.name)
            if chosen is not None:
                selects = "selects this one" if chosen == info else "selects the other"
                click.echo(f"  the bare name {info.name!r} {selects}; "
                           f"write {info.qualified_name!r} for this one")  # fmt: skip
        click.echo(f"  entry point: {info.target}")
        click.echo(f"  needs torch: {'yes' if info.requires_torch else 'no'}")
        doc = inspect.getdoc(cls)
        if doc:
            click.echo("\n" + doc)
        click.echo("\nParameters:")
        click.echo(_params_table(cls.Params))


def _unknown(registry: Registry, name: str, port_key: str | None, found: list[Any]) -> str:
    """No plugin ``name`` (in ``port_key``): the nearest name there, or where it is."""
    ports = [p for p in PORTS if port_key in (None, p.key)]
    where = f"No {ports[0].singular}" if port_key else "No installed plugin"
    every = sorted({i.name for p in ports for i in registry.infos(p.key)})
    if found:  # installed, in another port
        elsewhere = ", ".join(sorted({i.port.singular for i in found}))
        return (
            f"{where} is called {name!r}; {name!r} is a {elsewhere}: "
            f"townlet plugins show {name}. Installed here: {', '.join(every) or 'none'}."
        )
    guess = nearest(name, every)
    hint = f" Did you mean {guess!r}?" if guess is not None else ""
    return f"{where} is called {name!r}.{hint} Installed: {', '.join(every) or 'none'}."


def _selected_by_bare_name(registry: Registry, port_key: str, name: str) -> Any:
    """The plugin a bare ``name`` resolves to in a port, or None when it is ambiguous."""
    try:
        return registry.find(port_key, name)
    except PluginError:
        return None


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _params_table(model: type[BaseModel]) -> str:
    rows = []
    for fname, field in model.model_fields.items():
        if field.default is not PydanticUndefined:
            default = repr(field.default)
        elif field.default_factory is not None:
            default = repr(field.default_factory())  # type: ignore[call-arg]
        else:
            default = "required"
        rows.append((fname, _type_name(field.annotation), default, field.description or ""))
    if not rows:
        return "  (none)"
    widths = [max(len(r[c]) for r in rows) for c in range(3)]
    return "\n".join(
        f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows
    )
