"""The router against arbitrary Bedrock answers on the wire: real botocore HTTP to the
stand-in on 127.0.0.1, whose status, headers, body and framing hypothesis draws.

For every example: no exception escapes, exactly one JSON answer, one audit record and
one EMF document with only that request's metrics; a 200 that is not a well-formed
Converse or Titan embeddings answer (or whose body is cut short, over-long or dropped)
is a ServerError, never a success; a well-formed 200 is a success carrying what Bedrock
said. One server and one router per family serve every example; botocore's backoff is
patched to zero so that retried throttles and 5xx answers cost no sleep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from unittest import mock

from botocore.retries.standard import ExponentialBackoff
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.bedrock_standin import Reply, shared_standin
from tests.support.router import chat_config, embedding_config, harness_for

EXAMPLES = 200
CLIENT = {
    "connect_timeout": 1,
    "read_timeout": 1,  # no reply makes the client wait: cut bodies close the connection
    "retries": {"mode": "standard", "total_max_attempts": 2},
}
CHAT_EVENT = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
EMBED_EVENT = {"inputText": "hi"}
ERROR_METRICS = {"ClientErrors", "ServerErrors", "Throttles"}
KNOWN_METRICS = {"Invocations", "Latency", "InputTokens", "OutputTokens", *ERROR_METRICS}

# -- bodies ---------------------------------------------------------------------

ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
TOKENS = st.integers(0, 5 * 10**8)  # two of them still add up to a valid total
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
CONTENT_BLOCK = st.one_of(
    st.builds(lambda t: {"text": t}, st.text(max_size=40)),
    st.builds(
        lambda name, doc: {"toolUse": {"toolUseId": "tool-1", "name": name, "input": doc}},
        st.text("abcdefgh_", min_size=1, max_size=8),
        JSON.filter(lambda doc: doc is not None),  # botocore drops a null: input is required
    ),
)


@st.composite
def converse_answers(draw: Any) -> dict[str, Any]:
    """A well-formed Converse answer: every member botocore's model requires, right types."""
    input_tokens, output_tokens = draw(TOKENS), draw(TOKENS)
    answer: dict[str, Any] = {
        "output": {
            "message": {
                "role": draw(st.sampled_from(["assistant", "user"])),
                "content": draw(st.lists(CONTENT_BLOCK, min_size=0, max_size=3)),
            }
        },
        # Enum values are not checked: Bedrock adds stop reasons.
        "stopReason": draw(st.sampled_from(["end_turn", "max_tokens", "tool_use", "a_new_one"])),
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": draw(st.integers(0, 10**6))},
    }
    if draw(st.booleans()):
        answer["usage"]["cacheReadInputTokens"] = draw(TOKENS)
    return answer


# Paths to a required member of a Converse answer and values of the wrong type for it.
REQUIRED_CONVERSE = [
    ("output",),
    ("output", "message"),
    ("output", "message", "role"),
    ("output", "message", "content"),
    ("stopReason",),
    ("usage",),
    ("usage", "inputTokens"),
    ("usage", "outputTokens"),
    ("usage", "totalTokens"),
    ("metrics",),
    ("metrics", "latencyMs"),
]
WRONG = st.sampled_from([None, "x", 1.5, True, [], {}, [1], -1, 10**30, 10**400])


def _wrong_for(path: tuple[str, ...], value: Any) -> bool:
    """Whether ``value`` breaks the member at ``path`` (some values fit some members)."""
    leaf = path[-1]
    whole = isinstance(value, int) and not isinstance(value, bool)
    if leaf == "latencyMs":  # a long: any whole number that fits in 64 bits
        return not (whole and -(2**63) <= value < 2**63)
    if leaf in ("inputTokens", "outputTokens", "totalTokens"):
        return not (whole and 0 <= value <= 10**9)
    if leaf in ("role", "stopReason"):
        return not isinstance(value, str)
    if leaf == "content":
        return not isinstance(value, list) or value == [1]
    return not (isinstance(value, dict) and value)


@st.composite
def broken_converse_answers(draw: Any) -> dict[str, Any]:
    """A Converse answer with one thing the API never sends: a required member missing or
    of the wrong type, token counts out of range, a content block that is no union."""
    answer = draw(converse_answers())
    kind = draw(st.sampled_from(["missing", "wrong", "block"]))
    if kind == "block":
        block = draw(
            st.sampled_from(
                [{"text": 5}, {"text": "a", "toolUse": {}}, {}, 7, "text", [{"text": "a"}]]
            )
        )
        answer["output"]["message"]["content"].insert(0, block)
        return answer
    path = draw(st.sampled_from(REQUIRED_CONVERSE))
    parent = answer
    for key in path[:-1]:
        parent = parent[key]
    if kind == "missing":
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(WRONG.filter(lambda v: _wrong_for(path, v)))
    return answer


@st.composite
def embedding_answers(draw: Any) -> dict[str, Any]:
    """A well-formed Titan text embeddings body."""
    answer: dict[str, Any] = {
        "embedding": draw(
            st.lists(st.floats(-1e6, 1e6) | st.integers(-(10**6), 10**6), min_size=1, max_size=8)
        ),
        "inputTextTokenCount": draw(TOKENS),
    }
    if draw(st.booleans()):
        answer["embeddingsByType"] = {"float": answer["embedding"]}
    return answer


@st.composite
def broken_embedding_answers(draw: Any) -> dict[str, Any]:
    answer = draw(embedding_answers())
    key = draw(st.sampled_from(["embedding", "inputTextTokenCount"]))
    if draw(st.booleans()):
        del answer[key]
    elif key == "embedding":
        answer[key] = draw(
            st.sampled_from([[], "x", None, {}, [True], ["1"], [None], [10**400], [[0.5]]])
        )
    else:
        answer[key] = draw(st.sampled_from([None, "7", 7.5, True, -1, 10**9 + 1, 10**400, []]))
    return answer


def garbage() -> st.SearchStrategy[bytes]:
    """Bodies that are no answer at all."""
    return st.one_of(
        st.just(b""),
        st.binary(max_size=64),
        st.sampled_from([b"[]", b"[1,2]", b"null", b"0", b'"x"', b"{", b"\xff\xfe", b"{}"]),
        st.just(b"[" * 5000 + b"]" * 5000),  # deeper than any parser goes
        st.just(b'{"usage": 1' + b"9" * 5000 + b"}"),  # more digits than Python parses
        JSON.map(lambda v: json.dumps(v).encode()),
    )


# -- the wire -------------------------------------------------------------------

ERROR_TYPES = st.sampled_from(
    [
        "ThrottlingException",
        "ValidationException",
        "InternalServerException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "AccessDeniedException",
        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        "",
        ":::",
    ]
)
STATUS = st.one_of(
    st.just(200),
    st.sampled_from([201, 204, 206, 299, 301, 304, 400, 403, 404, 408, 418, 424, 429, 500, 503]),
    st.integers(200, 599),
)


@dataclass(frozen=True)
class Drawn:
    """One drawn answer and what the router must make of it."""

    reply: Reply
    well_formed: bool  # a 200 with exact framing and a valid body
    answer: Any = None  # the valid body, when there is one


@st.composite
def replies(draw: Any, valid: Any, broken: Any) -> Drawn:
    status = draw(STATUS)
    which = draw(st.sampled_from(["valid", "broken", "garbage"]))
    body = draw(valid if which == "valid" else broken) if which != "garbage" else None
    raw = json.dumps(body).encode() if body is not None else draw(garbage())
    headers: dict[str, str] = {}
    if draw(st.booleans()):
        headers["x-amzn-RequestId"] = draw(ASCII)
    if draw(st.booleans()):
        headers["x-amzn-ErrorType"] = draw(ERROR_TYPES | ASCII)
    if draw(st.booleans()):
        headers["x-amz-retry-after"] = draw(st.sampled_from(["100000", "-1", "x", "1e3"]))
    framing = draw(
        st.sampled_from(["exact", "exact", "absent", "larger", "smaller", "drop", "nan"])
    )
    reply = Reply(
        status=status,
        raw_body=raw,
        headers=headers,
        content_type=draw(st.sampled_from(["application/json", None, "text/html", "x/\x7f"])),
    )
    if framing == "absent":
        reply = replace(reply, content_length=None)
    elif framing == "larger":
        reply = replace(reply, content_length=len(raw) + draw(st.integers(1, 5000)))
    elif framing == "smaller" and raw:
        reply = replace(reply, content_length=draw(st.integers(0, len(raw) - 1)))
    elif framing == "drop" and raw:
        reply = replace(reply, drop_after=draw(st.integers(0, len(raw) - 1)))
    elif framing == "nan":
        reply = replace(reply, content_length=None, headers={**headers, "Content-Length": "abc"})
    whole = reply.exact or (reply.content_length is None and framing == "absent")
    well_formed = status == 200 and which == "valid" and whole
    return Drawn(reply, well_formed, body if which == "valid" else None)


# -- the invariant --------------------------------------------------------------


def _one_value(emf: dict[str, Any], name: str) -> float:
    value = emf[name]
    if isinstance(value, list):
        assert len(value) == 1, f"{name}: one value per request, got {value}"
        value = value[0]
    return value


def assert_invariant(harness: Any, result: Any) -> dict[str, float]:
    """One answer, one audit record, one EMF document holding only this request's metrics."""
    assert isinstance(result, dict)
    json.dumps(result, allow_nan=False)  # strict JSON: what Lambda must return
    assert result["request_id"] == "fuzz"
    assert ("error" in result) != ("output" in result or "embedding" in result)
    audit, emf = (json.loads(line) for line in harness.lines)  # exactly two lines, in order
    assert audit["record"] == "bedrock-lifecycle.router.audit"
    assert audit["request_id"] == "fuzz"
    (directive, *_) = emf["_aws"]["CloudWatchMetrics"]
    names = [m["Name"] for m in directive["Metrics"]]
    assert len(names) == len(set(names)) and set(names) <= KNOWN_METRICS, names
    values = {name: _one_value(emf, name) for name in names}
    assert values["Invocations"] == 1
    assert "Latency" in values  # Bedrock was called, whatever it answered
    errors = set(names) & ERROR_METRICS
    if "error" in result:
        assert len(errors) == 1 and values[next(iter(errors))] == 1
        assert audit["outcome"] != "success" and audit["error_code"] == result["error"]["code"]
        assert "InputTokens" not in values
        assert result["error"]["code"] != "InternalError", result  # never a router bug
    else:
        assert not errors and audit["outcome"] == "success"
    return values


def serve(harness: Any, drawn: Drawn, event: dict[str, Any]) -> dict[str, Any]:
    standin = shared_standin()
    standin.reset()
    harness.lines.clear()
    standin.script(drawn.reply, drawn.reply)  # the same answer to a retry
    result = harness.router.handle(
        event, type("Context", (), {"aws_request_id": "fuzz", "function_version": "1"})()
    )
    standin.reset()
    return result


def check_outcome(result: dict[str, Any], drawn: Drawn) -> None:
    if drawn.well_formed:
        assert "error" not in result, (drawn, result)
    elif 200 <= drawn.reply.status < 300:  # botocore's success: the router must refuse it
        assert result.get("error", {}).get("type") == "ServerError", (drawn, result)
    else:
        assert "error" in result, (drawn, result)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CHAT = harness_for(shared_standin(), chat_config(), **CLIENT)
EMBED = harness_for(shared_standin(), embedding_config(), **CLIENT)
NO_BACKOFF = mock.patch.object(ExponentialBackoff, "delay_amount", lambda self, context: 0)


@FUZZ
@given(drawn=replies(converse_answers(), broken_converse_answers()))
def test_any_converse_answer_on_the_wire_keeps_the_invariant(drawn):
    with NO_BACKOFF:
        result = serve(CHAT, drawn, CHAT_EVENT)
    values = assert_invariant(CHAT, result)
    check_outcome(result, drawn)
    if drawn.well_formed:
        assert result["output"] == drawn.answer["output"]
        assert result["usage"] == drawn.answer["usage"]
        assert values["InputTokens"] == drawn.answer["usage"]["inputTokens"]
        assert values["OutputTokens"] == drawn.answer["usage"]["outputTokens"]


@FUZZ
@given(drawn=replies(embedding_answers(), broken_embedding_answers()))
def test_any_titan_embeddings_answer_on_the_wire_keeps_the_invariant(drawn):
    with NO_BACKOFF:
        result = serve(EMBED, drawn, EMBED_EVENT)
    values = assert_invariant(EMBED, result)
    check_outcome(result, drawn)
    if drawn.well_formed:
        assert result["embedding"] == drawn.answer["embedding"]
        assert values["InputTokens"] == drawn.answer["inputTextTokenCount"]
        assert "OutputTokens" not in values
