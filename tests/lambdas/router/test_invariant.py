"""The router's invariant, fuzzed: whatever the caller sends and whatever Bedrock answers,
one structured answer, one audit record, one EMF document with only that request's metrics.

Bedrock is a fake client here, answering whatever hypothesis draws; the wire itself is
covered by the stand-in tests of test_app.py.
"""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.router import chat_config, embedding_config, load_router

ROUTER = load_router()
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**500), max_value=10**500)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "messages",
        "system",
        "inferenceConfig",
        "inputText",
        "role",
        "content",
        "text",
        "maxTokens",
        "temperature",
        "topP",
        "stopSequences",
        "output",
        "message",
        "usage",
        "inputTokens",
        "outputTokens",
        "stopReason",
        "embedding",
        "inputTextTokenCount",
    ]
)
# JSON whose keys are mostly the ones that matter, so that it gets past the first checks.
SHAPED = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(KEYS | st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=16,
)


class Fake:
    """A bedrock-runtime stand-in answering ``answer`` (or raising it)."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def converse(self, **_params: Any) -> Any:
        return self._give()

    def invoke_model(self, **_params: Any) -> Any:
        body = self._give()
        raw = body if isinstance(body, bytes) else json.dumps(body, default=str).encode()
        return {"body": io.BytesIO(raw), "ResponseMetadata": {}}

    def _give(self) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def serve(config: dict, event: Any, answer: Any) -> tuple[dict, list[dict]]:
    lines: list[str] = []
    allowed = {"allowed_overrides": ["maxTokens", "temperature", "topP", "stopSequences"]}
    router = ROUTER.Router(
        ROUTER.RouterConfig.from_json(json.dumps({**config, **allowed})),
        Fake(answer),
        write=lines.append,
    )
    result = router.handle(event)
    return result, [json.loads(line) for line in lines]


def assert_invariant(result: dict, lines: list[dict]) -> None:
    assert isinstance(result, dict) and result["request_id"] == "local"
    assert ("error" in result) != ("output" in result or "embedding" in result)
    if "error" in result:
        assert result["error"]["type"] in ("ClientError", "ServerError")
    audit, emf = lines  # exactly two lines: the audit record, then one EMF document
    assert audit["record"] == "bedrock-lifecycle.router.audit"
    metrics = emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    names = [m["Name"] for m in metrics]
    assert names.count("Invocations") == 1 and emf["Invocations"] in (1, 1.0, [1.0])
    errors = [n for n in names if n in ("ClientErrors", "ServerErrors", "Throttles")]
    assert len(errors) == (1 if "error" in result else 0)
    json.dumps(result)  # the answer is JSON


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(event=JSON | SHAPED)
def test_any_event_gets_one_answer_one_audit_record_one_metrics_document(event):
    answer = {
        "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
        "stopReason": "end_turn",
        "metrics": {"latencyMs": 9},
    }
    for config in (chat_config(), embedding_config()):
        body = (
            answer if config["kind"] == "chat" else {"embedding": [0.5], "inputTextTokenCount": 1}
        )
        assert_invariant(*serve(config, event, body))


@FUZZ
@given(answer=JSON | SHAPED | st.binary(max_size=40))
def test_any_bedrock_answer_is_a_well_formed_success_or_a_server_error(answer):
    event = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    result, lines = serve(chat_config(), event, answer)
    assert_invariant(result, lines)
    if "error" in result:
        assert result["error"]["type"] == "ServerError"
    result, lines = serve(embedding_config(), {"inputText": "hi"}, answer)
    assert_invariant(result, lines)
    if "error" in result:
        assert result["error"]["code"] in ("InvalidResponse", "InternalError")


def test_a_well_formed_answer_of_a_fake_client_is_checked_against_the_model_and_passes():
    answer = {
        "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
        "stopReason": "end_turn",
        "metrics": {"latencyMs": 9},
    }
    event = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    result, lines = serve(chat_config(), event, answer)
    assert "error" not in result and lines[0]["outcome"] == "success"
    for broken in ({**answer, "metrics": {}}, {**answer, "stopReason": 5}):
        result, _ = serve(chat_config(), event, broken)
        assert result["error"]["code"] == "InvalidResponse", broken


def test_metrics_of_one_request_never_reach_the_next():
    config = chat_config()
    router = ROUTER.Router(ROUTER.RouterConfig.from_json(json.dumps(config)), Fake(None))
    router.metrics.add_metric(name="Leftover", unit="Count", value=1)  # a half-done request
    lines: list[str] = []
    router.write = lines.append
    router.handle({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    emf = json.loads(lines[1])
    assert "Leftover" not in [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]]


def test_a_huge_integer_override_is_a_client_error_that_names_it_briefly():
    event = {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 10**400},
    }
    result, lines = serve(chat_config(), event, None)
    assert_invariant(result, lines)
    assert result["error"]["code"] == "InvalidRequest"
    assert result["error"]["field"] == "inferenceConfig.maxTokens"
    assert len(result["error"]["message"]) < 120
    event["inferenceConfig"] = {"temperature": 10**400}
    result, _ = serve(chat_config(), event, None)
    assert result["error"]["field"] == "inferenceConfig.temperature"


def test_a_malformed_answer_is_a_server_error_not_a_success():
    event = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    for answer in (
        {},
        [],
        {"output": {}, "usage": {}},
        {
            "output": {"message": {"content": []}},
            "usage": {"inputTokens": 10**30, "outputTokens": 1},
        },
    ):
        result, lines = serve(chat_config(), event, answer)
        assert result["error"] == {
            "type": "ServerError",
            "code": "InvalidResponse",
            "message": result["error"]["message"],
            "retryable": False,
        }, answer
        assert lines[0]["outcome"] == "server_error"
    result, _ = serve(embedding_config(), {"inputText": "hi"}, b"{not json")
    assert result["error"]["code"] == "InvalidResponse"
