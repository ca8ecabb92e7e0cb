"""The blob members of Bedrock's Converse input, from botocore's own model, and their decoding.

A blob is bytes in botocore's model and base64 text in JSON. A JSON caller can
only send the text, and botocore base64-encodes whatever it is given for a blob,
so text passed on as it came would reach Bedrock encoded twice. Which members
are blobs (``image.source.bytes``, ``audio.source.bytes``, the sources inside
``toolResult`` and ``guardContent``, ``reasoningContent.redactedContent``, ...)
is read once, at import, from the installed botocore model: the one botocore
serializes the request with, so a blob member added to a newer botocore is
decoded the day that botocore is deployed.

InvokeModel needs no plan: its one blob, ``body``, is written by the router
(the Titan body), never given by the caller.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.session

SERVICE = "bedrock-runtime"
# A guard for a recursive shape in some future model; the request ceiling
# (limits.MAX_DEPTH) refuses anything this deep long before.
MAX_PLAN_DEPTH = 256


class InvalidBlob(ValueError):
    """A blob member given as text that is not base64; ``field`` is its path."""

    def __init__(self, field_path: str) -> None:
        super().__init__(f"{field_path}: must be base64 text")
        self.field = field_path


@dataclass(eq=False)
class Plan:
    """Where the blobs are below one shape: ``kind`` is blob, structure, list or map.

    A structure keeps only its members that lead to a blob; a list or map has one
    ``item`` plan. A recursive shape is one plan that refers to itself.
    """

    kind: str
    members: dict[str, Plan] = field(default_factory=dict)
    item: Plan | None = None


def plan_for(shape: Any) -> Plan | None:
    """The plan of ``shape``: None if no blob is below it."""
    leads = _shapes_leading_to_blobs(shape)
    built: dict[str, Plan] = {}

    def build(s: Any) -> Plan | None:
        if s.name not in leads:
            return None
        if s.type_name == "blob":
            return Plan("blob")
        if s.name in built:
            return built[s.name]
        plan = built[s.name] = Plan(s.type_name)
        if s.type_name == "structure":
            for name, member in s.members.items():
                child = build(member)
                if child is not None:
                    plan.members[name] = child
        else:
            plan.item = build(s.member if s.type_name == "list" else s.value)
        return plan

    return build(shape)


def _children(shape: Any) -> list[Any]:
    if getattr(shape, "is_document_type", False):
        return []  # any JSON: never a blob
    if shape.type_name == "structure":
        return list(shape.members.values())
    if shape.type_name == "list":
        return [shape.member]
    if shape.type_name == "map":
        return [shape.value]
    return []


def _shapes_leading_to_blobs(root: Any) -> set[str]:
    """Names of the shapes below ``root`` (itself included) that are or hold a blob."""
    shapes: dict[str, Any] = {}
    parents: dict[str, set[str]] = {}
    stack = [root]
    while stack:
        shape = stack.pop()
        if shape.name in shapes:
            continue
        shapes[shape.name] = shape
        for child in _children(shape):
            parents.setdefault(child.name, set()).add(shape.name)
            stack.append(child)
    leads = {name for name, s in shapes.items() if s.type_name == "blob"}
    todo = list(leads)
    while todo:
        for parent in parents.get(todo.pop(), ()):
            if parent not in leads:
                leads.add(parent)
                todo.append(parent)
    return leads


def blob_paths(plan: Plan | None, path: str = "") -> list[str]:
    """Every blob path of ``plan`` (``[]`` for a list item, ``{}`` for a map value); a
    recursive plan is followed once."""
    out: list[str] = []
    stack: list[tuple[Plan, str, frozenset[int]]] = (
        [] if plan is None else [(plan, path, frozenset())]
    )
    while stack:
        node, where, seen = stack.pop()
        if node.kind == "blob":
            out.append(where)
            continue
        if id(node) in seen:
            continue
        seen = seen | {id(node)}
        if node.kind == "structure":
            for name, child in node.members.items():
                stack.append((child, f"{where}.{name}" if where else name, seen))
        elif node.item is not None:
            stack.append((node.item, where + ("[]" if node.kind == "list" else "{}"), seen))
    return sorted(out)


def decoded(value: Any, plan: Plan | None, path: str = "", depth: int = 0) -> Any:
    """``value`` with the base64 text of each blob member decoded to bytes.

    What is not where the plan expects it (a list where an object belongs, a blob
    that is already bytes or is no string) is left as it is, for the request's
    checks and botocore's validation to refuse. ``value`` is never changed: what
    holds a decoded blob is copied, everything else is shared.

    :raises InvalidBlob: a blob member is text that is not base64.
    """
    if plan is None:
        return value
    if depth > MAX_PLAN_DEPTH:
        return value
    kind = plan.kind
    if kind == "blob":
        if not isinstance(value, str):
            return value
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidBlob(path) from None
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        return _decoded_structure(value, plan.members, path, depth)
    item = plan.item
    if kind == "list":
        if not isinstance(value, list):
            return value
        out_list: list[Any] | None = None
        for i, element in enumerate(value):
            new = decoded(element, item, f"{path}[{i}]", depth + 1)
            if new is not element:
                if out_list is None:
                    out_list = list(value)
                out_list[i] = new
        return value if out_list is None else out_list
    if not isinstance(value, dict):  # a map
        return value
    out_map: dict[Any, Any] | None = None
    for key, element in value.items():
        new = decoded(element, item, f"{path}.{key}" if path else str(key), depth + 1)
        if new is not element:
            if out_map is None:
                out_map = dict(value)
            out_map[key] = new
    return value if out_map is None else out_map


def _decoded_structure(
    value: dict[str, Any], members: Mapping[str, Plan], path: str, depth: int
) -> dict[str, Any]:
    out: dict[str, Any] | None = None
    # The value's own keys: a union block has one, a plan may have several.
    for name, element in value.items():
        child = members.get(name)
        if child is None:
            continue
        new = decoded(element, child, f"{path}.{name}" if path else name, depth + 1)
        if new is not element:
            if out is None:
                out = dict(value)
            out[name] = new
    return value if out is None else out


# Cold start: the model is loaded once (about 30 ms here) and walked once (0.2 ms).
# config.new_bedrock_client makes the function's client on this same session, whose
# loader has the model already: it is read from disk once, not twice.
BOTOCORE_SESSION = botocore.session.get_session()
SERVICE_MODEL = BOTOCORE_SESSION.get_service_model(SERVICE)
CONVERSE_BLOBS = plan_for(SERVICE_MODEL.operation_model("Converse").input_shape)
