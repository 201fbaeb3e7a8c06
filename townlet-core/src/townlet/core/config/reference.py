"""The config reference table, generated from the models so docs cannot drift."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from townlet.core.config.models import TownletConfig

__all__ = ["reference_markdown"]


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    text = str(annotation).replace("typing.", "").replace("pathlib.", "")
    return text.replace("townlet.core.config_base.", "").replace("townlet.core.world.settings.", "")


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        return repr(field.default)
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, list):
            value = [v.model_dump() if isinstance(v, BaseModel) else v for v in value]
        return repr(value)
    return "required"


def _rows(model: type[BaseModel], prefix: str) -> Iterator[str]:
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _rows(annotation, f"{path}.")
            continue
        desc = (field.description or "").replace("|", "\\|")
        default = _default(field).replace("|", "\\|")
        yield f"| `{path}` | `{_type_name(annotation)}` | `{default}` | {desc} |"


def reference_markdown() -> str:
    """Markdown table of every config key: type, default, description."""
    head = "| key | type | default | meaning |\n|---|---|---|---|\n"
    return head + "\n".join(_rows(TownletConfig, "")) + "\n"
