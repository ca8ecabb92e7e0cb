"""Every blob member of botocore's Converse input that a caller may send reaches Bedrock
base64-encoded exactly once (blobs.py).

The blob paths are enumerated here from the installed botocore model, on their own
(not from the router's plan), so a blob member that a newer botocore adds is tested
the day that botocore is installed. Each request goes through real botocore HTTP to
the stand-in, whose recorded body is what Bedrock would receive.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.session
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.bedrock_standin import converse_reply
from tests.support.lambda_assets import load_asset_module
from tests.support.router import chat_config, harness_for

BLOBS = load_asset_module("router", "blobs")
REQUEST = load_asset_module("router", "request")
INPUT = (
    botocore.session.get_session()
    .get_service_model("bedrock-runtime")
    .operation_model("Converse")
    .input_shape
)
# The request fields a caller may send (the router refuses any other).
CALLER_FIELDS = REQUEST.CHAT_FIELDS
# Named by the review that found them double-encoded: the enumeration must find them.
KNOWN = {
    "messages[].content[].image.source.bytes",
    "messages[].content[].document.source.bytes",
    "messages[].content[].video.source.bytes",
    "messages[].content[].audio.source.bytes",
    "messages[].content[].toolResult.content[].image.source.bytes",
    "messages[].content[].toolResult.content[].document.source.bytes",
    "messages[].content[].toolResult.content[].video.source.bytes",
    "messages[].content[].guardContent.image.source.bytes",
    "messages[].content[].reasoningContent.redactedContent",
    "system[].guardContent.image.source.bytes",
}


@dataclass(frozen=True)
class Step:
    """One step from a shape to its child: a member name, a list item or a map value."""

    kind: str  # "member", "item" or "value"
    name: str
    shape: Any  # the shape stepped from


def routes(
    shape: Any, trail: tuple[Step, ...] = (), seen: frozenset[str] = frozenset()
) -> Iterator[tuple[Step, ...]]:
    """Every route from ``shape`` to a blob member (a recursive shape is entered once)."""
    if shape.type_name == "blob":
        yield trail
        return
    if getattr(shape, "is_document_type", False) or shape.name in seen:
        return
    seen = seen | {shape.name}
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            yield from routes(member, (*trail, Step("member", name, shape)), seen)
    elif shape.type_name == "list":
        yield from routes(shape.member, (*trail, Step("item", "", shape)), seen)
    elif shape.type_name == "map":
        yield from routes(shape.value, (*trail, Step("value", "", shape)), seen)


def pattern(route: tuple[Step, ...]) -> str:
    out = ""
    for step in route:
        if step.kind == "member":
            out += f".{step.name}" if out else step.name
        else:
            out += "[]" if step.kind == "item" else "{}"
    return out


def field_path(route: tuple[Step, ...]) -> str:
    """The path the router names: index 0 in every list, key ``k`` in every map."""
    out = ""
    for step in route:
        if step.kind == "member":
            out += f".{step.name}" if out else step.name
        else:
            out += "[0]" if step.kind == "item" else ".k"
    return out


ALL_ROUTES = sorted(routes(INPUT), key=pattern)
CALLER_ROUTES = [r for r in ALL_ROUTES if r[0].name in CALLER_FIELDS]
IDS = [pattern(r) for r in CALLER_ROUTES]


def minimal(shape: Any, depth: int = 0) -> Any:
    """The smallest value botocore's validation accepts for ``shape``."""
    kind = shape.type_name
    if getattr(shape, "is_document_type", False):
        return {}
    if kind == "structure":
        if shape.metadata.get("union"):
            name = next(iter(shape.members))
            return {name: minimal(shape.members[name], depth + 1)}
        return {n: minimal(shape.members[n], depth + 1) for n in shape.required_members}
    if kind == "list":
        return [minimal(shape.member, depth + 1)] if shape.metadata.get("min", 0) else []
    if kind == "map":
        return {}
    if kind == "string":
        return shape.enum[0] if shape.enum else "x" * max(shape.metadata.get("min", 1), 1)
    if kind in ("integer", "long"):
        return max(shape.metadata.get("min", 1), 1)
    if kind in ("float", "double"):
        return 0.5
    if kind == "boolean":
        return False
    if kind == "blob":
        return base64.b64encode(b"x").decode()
    raise AssertionError(f"no minimal value for {shape.name} ({kind})")


def carrying(route: tuple[Step, ...], payload: Any) -> dict[str, Any]:
    """A valid chat request with ``payload`` at the end of ``route`` (every list one item long)."""

    def build(steps: tuple[Step, ...]) -> Any:
        step, rest = steps[0], steps[1:]
        shape = step.shape
        if step.kind == "item":
            child = build(rest) if rest else payload
            return [child]
        if step.kind == "value":
            return {"k": build(rest) if rest else payload}
        # The request itself: the router sets modelId, the one required member.
        union = shape.metadata.get("union") or shape is INPUT
        value = {} if union else minimal(shape)
        value[step.name] = build(rest) if rest else payload
        return value

    request = build(route)
    request.setdefault("messages", [{"role": "user", "content": [{"text": "hi"}]}])
    for message in request["messages"]:
        message.setdefault("role", "user")
    return request


def on_the_wire(body: Any, route: tuple[Step, ...]) -> Any:
    for step in route:
        body = (
            body[step.name]
            if step.kind == "member"
            else body[0]
            if step.kind == "item"
            else body["k"]
        )
    return body


@pytest.fixture
def harness(bedrock_standin):
    # No system prompt of the version's own: the caller's system blocks keep their index.
    return harness_for(bedrock_standin, chat_config(system=None))


def test_the_model_is_enumerated_and_the_router_plans_every_blob_of_it():
    assert set(IDS) >= KNOWN
    assert BLOBS.blob_paths(BLOBS.CONVERSE_BLOBS) == sorted(pattern(r) for r in ALL_ROUTES)


@pytest.mark.parametrize("route", CALLER_ROUTES, ids=IDS)
def test_base64_at_every_blob_path_reaches_bedrock_encoded_exactly_once(
    bedrock_standin, harness, route
):
    raw = bytes(range(256)) + pattern(route).encode()
    encoded = base64.b64encode(raw).decode()
    event = carrying(route, encoded)
    sent = copy.deepcopy(event)
    bedrock_standin.script(converse_reply())
    answer = harness.invoke(event)
    assert "error" not in answer, answer
    (request,) = bedrock_standin.requests
    assert on_the_wire(request.json, route) == encoded  # once: decoding it gives the bytes
    assert base64.b64decode(on_the_wire(request.json, route)) == raw
    assert event == sent  # the caller's request is not changed
    (audit,) = harness.audit
    assert audit["outcome"] == "success"


@pytest.mark.parametrize("route", CALLER_ROUTES, ids=IDS)
def test_text_that_is_no_base64_at_every_blob_path_is_a_client_error_naming_it(
    bedrock_standin, harness, route
):
    answer = harness.invoke(carrying(route, "not base64!"))
    assert answer["error"]["code"] == "InvalidRequest"
    assert answer["error"]["field"] == field_path(route)
    assert answer["error"]["message"] == "must be base64 text"
    assert bedrock_standin.requests == []


def test_bytes_of_an_in_process_caller_are_sent_as_they_are(bedrock_standin, harness):
    image = {"format": "png", "source": {"bytes": b"\x89PNG"}}
    content = [{"toolResult": {"toolUseId": "t1", "content": [{"image": image}]}}]
    answer = harness.invoke({"messages": [{"role": "user", "content": content}]})
    assert "error" not in answer, answer
    (request,) = bedrock_standin.requests
    wire = request.json["messages"][0]["content"][0]["toolResult"]["content"][0]["image"]
    assert wire["source"]["bytes"] == base64.b64encode(b"\x89PNG").decode()


WIRE = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@WIRE
@given(route=st.sampled_from(CALLER_ROUTES), raw=st.binary(min_size=1, max_size=512))
def test_any_bytes_at_any_blob_path_arrive_encoded_once(bedrock_standin, route, raw):
    bedrock_standin.reset()
    harness = harness_for(bedrock_standin, chat_config(system=None))
    encoded = base64.b64encode(raw).decode()
    answer = harness.invoke(carrying(route, encoded))
    assert "error" not in answer, answer
    (request,) = bedrock_standin.requests
    assert base64.b64decode(on_the_wire(request.json, route)) == raw


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.binary(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "messages",
                    "system",
                    "content",
                    "image",
                    "source",
                    "bytes",
                    "toolResult",
                    "guardContent",
                    "reasoningContent",
                    "redactedContent",
                    "audio",
                    "role",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_decoding_never_fails_but_on_a_blob_and_never_changes_the_callers_value(value):
    before = copy.deepcopy(value)
    try:
        BLOBS.decoded(value, BLOBS.CONVERSE_BLOBS)
    except BLOBS.InvalidBlob as exc:
        assert exc.field.endswith(("bytes", "redactedContent"))
    # In a list, as inside every container, an unchanged NaN (the same float object: a
    # deep copy keeps floats) equals itself; NaN == NaN alone is False.
    assert [value] == [before]
