"""Hypothesis strategies of malformed CloudFormation custom-resource events, and the checks
every handler's answer to one must pass (used by both custom-resource handlers' tests).

Every event drawn here is invalid by construction: a JSON value that is not an object,
an object of random fields, or a valid event with one field removed or replaced by a
value no CloudFormation request carries (wrong type, a newline, full-width digits, a
3,000-character id), or with bad resource properties.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import strategies as st

# Strings no id or property of ours may be: each one is refused wherever it goes.
HOSTILE = (
    "a\nb",
    "line\r\n",
    "\uff11\uff12",  # full-width digits: Python's \d takes them
    "x" * 3000,
    "é",
    "a b",
    "\u2028",
    "nul\x00",
    "\t",
)
hostile_strings = st.sampled_from(HOSTILE)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
non_strings = json_values.filter(lambda v: not isinstance(v, str))
# A value no id field accepts.
bad_ids = hostile_strings | non_strings | st.just("")
# A value no resource property of ours accepts (ModelUnits takes ints, Tags lists and
# AllowReplacement booleans, so none of those).
bad_property_values = hostile_strings | st.sampled_from([None, 1.5, {"k": [1]}])

ID_FIELDS = ("RequestId", "StackId", "LogicalResourceId", "ResponseURL")
FIELDS = ("RequestType", *ID_FIELDS, "PhysicalResourceId", "ResourceProperties")


def invalid_events(
    valid: dict[str, Any], property_names: tuple[str, ...], physical_id: str
) -> st.SearchStrategy:
    """Malformed variants of ``valid`` (a Create request); ``physical_id`` is the one the
    handler answers, carried by the Update and Delete variants."""
    types = st.sampled_from(["Create", "Update", "Delete"])

    def with_type(request_type: str, physical_id: str) -> dict[str, Any]:
        event = {**valid, "RequestType": request_type}
        if request_type != "Create":
            event["PhysicalResourceId"] = physical_id
        if request_type == "Update":
            event["OldResourceProperties"] = dict(valid["ResourceProperties"])
        return event

    @st.composite
    def one_field_wrong(draw: st.DrawFn) -> dict[str, Any]:
        request_type = draw(types)
        event = with_type(request_type, physical_id)
        required = list(ID_FIELDS) + (["PhysicalResourceId"] if request_type != "Create" else [])
        if request_type == "Update":
            required.append("OldResourceProperties")
        field = draw(st.sampled_from([*required, "RequestType"]))
        if field == "RequestType":
            event[field] = draw(
                json_values.filter(lambda v: v not in ("Create", "Update", "Delete"))
            )
        elif field == "OldResourceProperties" or draw(st.booleans()):
            if field == "OldResourceProperties":
                event[field] = draw(non_strings.filter(lambda v: not isinstance(v, dict)))
            else:
                event[field] = draw(bad_ids)
        else:
            del event[field]
        return event

    @st.composite
    def bad_properties(draw: st.DrawFn) -> dict[str, Any]:
        request_type = draw(st.sampled_from(["Create", "Update"]))
        event = with_type(request_type, physical_id)
        props = dict(valid["ResourceProperties"])
        how = draw(st.sampled_from(["type", "unknown", "value"]))
        if how == "type":
            event["ResourceProperties"] = draw(
                hostile_strings
                | non_strings.filter(lambda v: not isinstance(v, dict) and v is not None)
            )
            return event
        if how == "unknown":
            name = draw(
                st.text(min_size=1, max_size=20).filter(
                    lambda n: n not in props and n != "ServiceToken"
                )
            )
            props[name] = draw(json_values)
        else:
            props[draw(st.sampled_from(property_names))] = draw(bad_property_values)
        event["ResourceProperties"] = props
        return event

    return st.one_of(
        json_values.filter(lambda v: not isinstance(v, dict)),
        st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), json_values, max_size=6),
        one_field_wrong(),
        bad_properties(),
    )


def framework_body(event: object, reason: str) -> bytes:
    """The FAILED body aws-cdk-lib's provider framework PUTs for ``reason``: the message,
    its log line and a short stack trace, with the event's ids where they are CloudFormation's
    (a hostile id is not ours to bound: CloudFormation never sends one)."""
    fields = event if isinstance(event, dict) else {}

    def ours(name: str, limit: int) -> str:
        value = fields.get(name)
        return value if isinstance(value, str) and len(value) <= limit else "x" * limit

    trace = "\n".join(f'  File "/var/task/app.py", line {n}, in on_event' for n in range(4))
    body = {
        "Status": "FAILED",
        "Reason": f"{reason}\n\nLogs: /aws/lambda/BedrockLifecycle-prod-Provider-OnEvent1A2B3C\n\n"
        + trace,
        "StackId": ours("StackId", 300),
        "RequestId": ours("RequestId", 64),
        "PhysicalResourceId": ours("PhysicalResourceId", 120),
        "LogicalResourceId": ours("LogicalResourceId", 255),
        "Data": {},
    }
    return json.dumps(body).encode()


@contextmanager
def no_aws_calls(*clients: Any) -> Iterator[list[str]]:
    """Record every AWS call the clients try (before botocore sends anything)."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    for client in clients:
        client.meta.events.register("before-parameter-build", record)
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-parameter-build", record)


def assert_own_failure(message: str, prefixes: tuple[str, ...]) -> None:
    """A handler's own one-line message (starting with one of ``prefixes``), never
    Python's words for a bug."""
    assert "\n" not in message, message
    for leak in ("KeyError", "AttributeError", "TypeError", "AssertionError", "Traceback"):
        assert leak not in message, message
    assert message.startswith(prefixes), message
