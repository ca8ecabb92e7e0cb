"""Render the configuration reference (markdown tables) from the schema itself.

``docs/config-reference.md`` embeds this output between markers, and a test
checks it is current, so the reference can never drift from the code.
"""

from __future__ import annotations

import types
import typing
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .schema import LifecycleFile

BEGIN = "<!-- BEGIN GENERATED REFERENCE (bedrock-lifecycle schema --markdown) -->"
END = "<!-- END GENERATED REFERENCE -->"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        base = _type_name(args[0])
        for meta in args[1:]:
            pattern = getattr(meta, "pattern", None)
            if pattern:
                return f"{base} matching `{pattern}`"
        return base
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names)
    if origin is typing.Literal:
        return " or ".join(f"`{a}`" for a in args)
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " or ".join(f"`{m.value}`" for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is PydanticUndefined or value is None:
        return "not set"
    if isinstance(value, BaseModel):
        set_fields = value.model_dump(mode="json", exclude_defaults=True)
        return f"`{set_fields}`" if set_fields else "all defaults"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if value in ({}, ()):
        return "empty"
    return f"`{value}`"


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """``root`` and every model reachable from it, in first-seen order."""
    seen: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in seen:
                seen.append(annotation)
                for field in annotation.model_fields.values():
                    visit(field.annotation)
            return
        for arg in typing.get_args(annotation):
            visit(arg)

    visit(root)
    return seen


def render_reference(root: type[BaseModel] = LifecycleFile) -> str:
    """Markdown: one section per model, one table row per key."""
    parts = []
    for model in _models(root):
        doc = (model.__doc__ or "").strip().splitlines()[0]
        rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for name, field in model.model_fields.items():
            meaning = (field.description or "").replace("|", "\\|")
            kind = _type_name(field.annotation).replace("|", "\\|")
            rows.append(f"| `{name}` | {kind} | {_default(field)} | {meaning} |")
        parts.append(f"### {model.__name__}\n\n{doc}\n\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"
