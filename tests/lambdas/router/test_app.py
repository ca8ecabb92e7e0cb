"""The router against a Bedrock Runtime stand-in on 127.0.0.1, with real botocore HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket

import pytest

from tests.support.bedrock_standin import (
    converse_reply,
    embedding_reply,
    error_reply,
)
from tests.support.router import chat_config, embedding_config, harness_for, load_router

MESSAGES = [{"role": "user", "content": [{"text": "Ticket 42: the printer is on fire."}]}]
IDENTITY = {
    "alias": "summarizer/live",
    "version_id": "v2@0123456789ab",
    "model_arn": "arn:aws:bedrock:us-east-1:111111111111:inference-profile/"
    "us.anthropic.claude-haiku-4-5-20251001-v1:0",
}


class _Latency:
    """Equal to any non-negative number of milliseconds (the clock is real)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, float) and 0 <= other < 60_000

    def __repr__(self) -> str:
        return "<latency ms>"


LATENCY = _Latency()


@pytest.fixture(scope="module")
def router():
    return load_router()


def metric_values(emf: dict) -> dict[str, object]:
    """Metric name -> value of one request's EMF document (one value per metric)."""
    names = [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    values = {}
    for name in names:
        value = emf[name]
        if isinstance(value, list):  # Powertools writes values as arrays
            assert len(value) == 1, f"{name}: one value per request, got {value}"
            value = value[0]
        values[name] = value
    return values


def test_success_sends_the_versions_target_merged_settings_and_metadata(bedrock_standin):
    bedrock_standin.script(converse_reply("Printer fire.", input_tokens=30, output_tokens=4))
    harness = harness_for(bedrock_standin, chat_config())

    answer = harness.invoke(
        {
            "messages": MESSAGES,
            "system": [{"text": "Answer in English."}],
            "inferenceConfig": {"maxTokens": 100},
        },
        request_id="req-42",
    )

    (request,) = bedrock_standin.requests
    assert request.path == "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse"
    assert request.model_id == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
    assert request.json == {
        "messages": MESSAGES,
        "system": [{"text": "You summarize tickets."}, {"text": "Answer in English."}],
        "inferenceConfig": {"maxTokens": 100, "temperature": 0.2},
        "requestMetadata": {
            "alias": "summarizer/live",
            "version_id": "v2@0123456789ab",
            "environment": "prod",
            "request_id": "req-42",
        },
    }
    assert answer == {
        "output": {"message": {"role": "assistant", "content": [{"text": "Printer fire."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 30, "outputTokens": 4, "totalTokens": 34},
        "metrics": {"latencyMs": 42},
        **IDENTITY,
        "request_id": "req-42",
    }
    (emf,) = harness.emf
    assert metric_values(emf) == {
        "Invocations": 1.0,
        "Latency": LATENCY,
        "InputTokens": 30.0,
        "OutputTokens": 4.0,
    }


def test_without_caller_settings_the_version_settings_are_sent_as_declared(bedrock_standin):
    harness = harness_for(bedrock_standin, chat_config(system=None, inference={}))
    harness.invoke({"messages": MESSAGES})
    body = bedrock_standin.requests[0].json
    assert "system" not in body and "inferenceConfig" not in body


def test_guardrail_of_the_version_is_applied(bedrock_standin):
    guardrail = {"guardrailIdentifier": "abcdefghijkl", "guardrailVersion": "3"}
    harness = harness_for(bedrock_standin, chat_config(guardrail=guardrail))
    harness.invoke({"messages": MESSAGES})
    assert bedrock_standin.requests[0].json["guardrailConfig"] == guardrail


def test_provisioned_throughput_target_is_sent_by_arn(bedrock_standin):
    arn = "arn:aws:bedrock:us-east-1:222222222222:provisioned-model/abcdef123456"
    harness = harness_for(bedrock_standin, chat_config(model_id=arn, model_arn=arn))
    answer = harness.invoke({"messages": MESSAGES})
    assert bedrock_standin.requests[0].model_id == arn
    assert answer["model_arn"] == arn


def test_embedding_family_calls_invoke_model_with_the_titan_body(bedrock_standin):
    bedrock_standin.script(embedding_reply([0.5, 0.25], input_tokens=9))
    harness = harness_for(bedrock_standin, embedding_config())

    answer = harness.invoke({"inputText": "reset my password"}, request_id="req-e")

    (request,) = bedrock_standin.requests
    assert request.operation == "invoke"
    assert request.model_id == "amazon.titan-embed-text-v2:0"
    assert json.loads(request.body) == {
        "inputText": "reset my password",
        "dimensions": 1024,
        "normalize": True,
    }
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    # InvokeModel carries requestMetadata in a header, as a JSON string.
    assert json.loads(request.headers["x-amzn-bedrock-request-metadata"]) == {
        "alias": "embedder/live",
        "version_id": "v1@abcdef012345",
        "environment": "prod",
        "request_id": "req-e",
    }
    assert answer == {
        "embedding": [0.5, 0.25],
        "inputTextTokenCount": 9,
        "alias": "embedder/live",
        "version_id": "v1@abcdef012345",
        "model_arn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
        "request_id": "req-e",
    }
    (emf,) = harness.emf
    assert metric_values(emf) == {
        "Invocations": 1.0,
        "Latency": LATENCY,
        "InputTokens": 9.0,
    }


@pytest.mark.parametrize(
    ("event", "field", "message"),
    [
        ([], "$", "the request must be a JSON object, got list"),
        ({}, "messages", "is required"),
        ({"messages": []}, "messages", "must be a non-empty list of {role, content} objects"),
        ({"messages": ["hi"]}, "messages[0]", "must be an object, got str"),
        (
            {"messages": [{"role": "system", "content": [{"text": "x"}]}]},
            "messages[0].role",
            "must be user or assistant, got 'system'",
        ),
        (
            {"messages": [{"role": "user", "content": []}]},
            "messages[0].content",
            "must be a non-empty list of content blocks",
        ),
        (
            {"messages": [{"role": "user", "content": [{"text": 5}]}]},
            "messages[0].content[0].text",
            "must be a string",
        ),
        (
            {"messages": MESSAGES, "modelId": "other"},
            "modelId",
            "unknown field; allowed: messages, system, inferenceConfig",
        ),
        ({"messages": MESSAGES, "system": "x"}, "system", "must be a list of {text} blocks"),
        (
            {"messages": MESSAGES, "inferenceConfig": {"topP": 0.5}},
            "inferenceConfig.topP",
            "this alias does not allow overriding it (allowed: maxTokens, temperature)",
        ),
        (
            {"messages": MESSAGES, "inferenceConfig": {"temperature": 1.5}},
            "inferenceConfig.temperature",
            "must be between 0 and 1, got 1.5",
        ),
        (
            {"messages": MESSAGES, "inferenceConfig": {"maxTokens": True}},
            "inferenceConfig.maxTokens",
            "must be an integer, got True",
        ),
        (
            {"messages": MESSAGES, "inferenceConfig": {"maxTokens": 0}},
            "inferenceConfig.maxTokens",
            "must be between 1 and 200000, got 0",
        ),
    ],
)
def test_malformed_request_is_a_client_error_naming_the_field_without_calling_bedrock(
    bedrock_standin, event, field, message
):
    harness = harness_for(bedrock_standin, chat_config())
    answer = harness.invoke(event)
    assert answer == {
        "error": {
            "type": "ClientError",
            "code": "InvalidRequest",
            "message": message,
            "field": field,
            "retryable": False,
        },
        **IDENTITY,
        "request_id": "req-1",
    }
    assert bedrock_standin.requests == []
    (emf,) = harness.emf
    assert metric_values(emf) == {"Invocations": 1.0, "ClientErrors": 1.0}
    (audit,) = harness.audit
    assert audit["outcome"] == "client_error" and audit["error_code"] == "InvalidRequest"


def test_embedding_request_needs_input_text(bedrock_standin):
    harness = harness_for(bedrock_standin, embedding_config())
    answer = harness.invoke({"input": "x"})
    assert answer["error"]["field"] == "input"
    assert answer["error"]["message"] == "unknown field; allowed: inputText"
    assert harness.invoke({"inputText": ""})["error"]["field"] == "inputText"
    assert bedrock_standin.requests == []


def test_botocore_model_validation_is_a_client_error_without_a_call(bedrock_standin):
    harness = harness_for(bedrock_standin, chat_config())
    answer = harness.invoke({"messages": [{"role": "user", "content": [{"txet": "typo"}]}]})
    assert answer["error"]["type"] == "ClientError"
    assert answer["error"]["code"] == "InvalidRequest"
    assert "txet" in answer["error"]["message"]
    assert bedrock_standin.requests == []
    assert metric_values(harness.emf[0]) == {"Invocations": 1.0, "ClientErrors": 1.0}


def test_bedrock_validation_error_is_a_client_error_and_not_retried(bedrock_standin):
    bedrock_standin.script(error_reply("ValidationException", 400, "messages too long"))
    harness = harness_for(bedrock_standin, chat_config())
    answer = harness.invoke({"messages": MESSAGES})
    assert answer["error"] == {
        "type": "ClientError",
        "code": "ValidationException",
        "message": "messages too long",
        "retryable": False,
    }
    assert len(bedrock_standin.requests) == 1
    assert metric_values(harness.emf[0]) == {
        "Invocations": 1.0,
        "ClientErrors": 1.0,
        "Latency": LATENCY,
    }


@pytest.mark.parametrize(
    ("code", "status", "attempts", "retryable"),
    [
        # Faults of the version, not the caller: a broken new version must roll back.
        ("AccessDeniedException", 403, 1, False),
        ("ResourceNotFoundException", 404, 1, False),
        ("ModelErrorException", 424, 1, False),
        ("ModelTimeoutException", 408, 1, False),
        # Modeled as retryable (not throttling): retried, then a server error.
        ("ModelNotReadyException", 429, 3, True),
        # 5xx: retried by botocore's standard mode (3 attempts), then a server error.
        ("InternalServerException", 500, 3, True),
        ("ServiceUnavailableException", 503, 3, True),
    ],
)
def test_bedrock_faults_are_server_errors(bedrock_standin, code, status, attempts, retryable):
    bedrock_standin.script(*[error_reply(code, status, "boom")] * 3)
    harness = harness_for(bedrock_standin, chat_config())
    answer = harness.invoke({"messages": MESSAGES})
    assert answer["error"] == {
        "type": "ServerError",
        "code": code,
        "message": "boom",
        "retryable": retryable,
    }
    assert len(bedrock_standin.requests) == attempts
    assert metric_values(harness.emf[0]) == {
        "Invocations": 1.0,
        "ServerErrors": 1.0,
        "Latency": LATENCY,
    }
    (audit,) = harness.audit
    assert (audit["outcome"], audit["error_code"]) == ("server_error", code)
    assert audit["retry_attempts"] == attempts - 1


def test_throttling_then_success_is_retried_and_succeeds(bedrock_standin):
    bedrock_standin.script(error_reply("ThrottlingException", 429, "slow down"), converse_reply())
    harness = harness_for(bedrock_standin, chat_config())
    answer = harness.invoke({"messages": MESSAGES})
    assert "error" not in answer and answer["stopReason"] == "end_turn"
    assert len(bedrock_standin.requests) == 2
    assert bedrock_standin.requests[0].body == bedrock_standin.requests[1].body
    (audit,) = harness.audit
    assert audit["outcome"] == "success" and audit["retry_attempts"] == 1
    assert "Throttles" not in metric_values(harness.emf[0])


# Both codes AWS throttles with (contract.THROTTLE_CODES).
@pytest.mark.parametrize("code", ["ThrottlingException", "TooManyRequestsException"])
def test_throttling_that_outlasts_the_retries_is_a_server_error_counted_as_throttle(
    bedrock_standin, code
):
    bedrock_standin.script(*[error_reply(code, 429, "slow down")] * 3)
    harness = harness_for(bedrock_standin, chat_config())
    answer = harness.invoke({"messages": MESSAGES})
    assert answer["error"] == {
        "type": "ServerError",
        "code": code,
        "message": "slow down",
        "retryable": True,
    }
    assert len(bedrock_standin.requests) == 3
    (emf,) = harness.emf
    assert metric_values(emf) == {
        "Invocations": 1.0,
        "Throttles": 1.0,
        "Latency": LATENCY,
    }
    # The alias-wide directive carries the throttle too (the alias-wide rollout alarm).
    assert [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][1]["Metrics"]] == [
        "Invocations",
        "Throttles",
    ]
    (audit,) = harness.audit
    assert (audit["outcome"], audit["error_code"]) == ("throttled", code)
    assert audit["retry_attempts"] == 2


def test_read_timeout_is_retried_then_a_server_error(bedrock_standin):
    slow = converse_reply()
    slow = type(slow)(status=200, body=slow.body, headers=slow.headers, delay_seconds=0.5)
    bedrock_standin.script(slow, slow)
    harness = harness_for(
        bedrock_standin,
        chat_config(),
        read_timeout=0.15,
        retries={"mode": "standard", "total_max_attempts": 2},
    )
    answer = harness.invoke({"messages": MESSAGES})
    assert answer["error"]["type"] == "ServerError"
    assert answer["error"]["code"] == "Timeout"
    assert answer["error"]["retryable"] is True
    assert len(bedrock_standin.requests) == 2
    assert "ServerErrors" in metric_values(harness.emf[0])


def test_unreachable_endpoint_is_a_server_error(bedrock_standin):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = type("Closed", (), {"url": f"http://127.0.0.1:{port}"})()
    harness = harness_for(
        closed, chat_config(), retries={"mode": "standard", "total_max_attempts": 1}
    )
    answer = harness.invoke({"messages": MESSAGES})
    assert answer["error"]["type"] == "ServerError"
    assert answer["error"]["code"] == "ConnectionError"


def test_audit_record_has_hashes_and_counts_but_no_text_by_default(bedrock_standin):
    bedrock_standin.script(
        converse_reply("Printer fire.", input_tokens=30, output_tokens=4, request_id="br-1")
    )
    harness = harness_for(bedrock_standin, chat_config())
    event = {"messages": MESSAGES}
    answer = harness.invoke(event, request_id="req-9", function_version="12")

    (audit,) = harness.audit
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    answer_canonical = json.dumps(answer, sort_keys=True, separators=(",", ":")).encode()
    assert audit == {
        "record": "bedrock-lifecycle.router.audit",
        "schema": 1,
        "request_id": "req-9",
        "environment": "prod",
        **IDENTITY,
        "lambda_version": "12",
        "request_sha256": hashlib.sha256(canonical).hexdigest(),
        "request_bytes": len(canonical),
        "response_sha256": hashlib.sha256(answer_canonical).hexdigest(),
        "outcome": "success",
        "input_tokens": 30,
        "output_tokens": 4,
        "stop_reason": "end_turn",
        "bedrock_request_id": "br-1",
        "retry_attempts": 0,
        "latency_ms": pytest.approx(audit["latency_ms"]),
    }
    assert audit["latency_ms"] >= 0
    assert "printer" not in json.dumps(audit).lower()


def test_audit_keeps_prompt_and_answer_text_only_when_opted_in(bedrock_standin):
    bedrock_standin.script(converse_reply("Printer fire."))
    harness = harness_for(bedrock_standin, chat_config(prompt_logging=True))
    answer = harness.invoke({"messages": MESSAGES})
    (audit,) = harness.audit
    assert audit["request"] == {"messages": MESSAGES}
    assert audit["response"] == answer


def test_request_hash_ignores_key_order(router):
    assert router.sha256_json({"a": 1, "b": [1, 2]}) == router.sha256_json({"b": [1, 2], "a": 1})
    assert router.sha256_json({"a": 1}) != router.sha256_json({"a": 2})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "speech"}, "kind must be chat or embedding, got 'speech'"),
        ({"model_id": ""}, "lacks model_id"),
        ({"allowed_overrides": ["seed"]}, "allowed_overrides has unknown keys seed"),
        ({"extra": 1}, "has unknown keys extra"),
        ({"alias": "live!"}, "family/alias 'summarizer/live!' cannot be sent as Bedrock"),
        ({"environment": "prod&qa"}, "environment 'prod&qa' cannot be sent as Bedrock"),
        ({"version_id": "v2@" + "a" * 260}, "version_id 'v2@aaa.* cannot be sent as Bedrock"),
    ],
)
def test_config_is_checked_at_cold_start(router, change, message):
    with pytest.raises(ValueError, match=message):
        router.RouterConfig.from_json(json.dumps(chat_config(**change)))


def test_cold_start_builds_the_router_from_the_environment(router, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    built = router.router_from_environment({router.CONFIG_ENV: json.dumps(chat_config())})
    assert built.config.version_id == "v2@0123456789ab"
    config = built.bedrock.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (3, 60)


def test_handler_without_configuration_fails_loudly(router):
    assert router.ROUTER is None  # no ROUTER_CONFIG in the test process
    with pytest.raises(RuntimeError, match="ROUTER_CONFIG is not set"):
        router.handler({"messages": MESSAGES}, None)


def test_blobs_in_the_answer_come_back_as_base64(bedrock_standin):
    reply = converse_reply()
    content = [{"reasoningContent": {"redactedContent": "c2VjcmV0"}}, {"text": "ok"}]
    body = {**reply.body, "output": {"message": {"role": "assistant", "content": content}}}
    bedrock_standin.script(type(reply)(body=body, headers=reply.headers))
    answer = harness_for(bedrock_standin, chat_config()).invoke({"messages": MESSAGES})
    assert answer["output"]["message"]["content"][0] == {
        "reasoningContent": {"redactedContent": "c2VjcmV0"}
    }
    json.dumps(answer)  # what Lambda does with the return value


def test_without_a_sink_records_go_to_standard_output(router, bedrock_standin, capsys):
    harness = harness_for(bedrock_standin, chat_config())
    harness.router.write = None  # as in Lambda
    harness.invoke({"messages": MESSAGES})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("record") for line in lines] == ["bedrock-lifecycle.router.audit", None]
    assert lines[1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "BedrockLifecycle/Router"


def test_handler_delegates_to_the_module_router_and_lets_only_bugs_escape(
    router, bedrock_standin, monkeypatch
):
    harness = harness_for(bedrock_standin, chat_config())
    monkeypatch.setattr(router, "ROUTER", harness.router)
    context = type("Context", (), {"aws_request_id": "req-h", "function_version": "3"})()
    assert router.handler({"messages": []}, context)["error"]["code"] == "InvalidRequest"

    def broken(*_args):
        raise KeyError("a bug")

    monkeypatch.setattr(harness.router, "handle", broken)
    with pytest.raises(KeyError, match="a bug"):
        router.handler({"messages": MESSAGES}, context)


def test_metadata_check_is_bedrocks_own_pattern(router):
    """The router's cold-start check accepts exactly the characters Bedrock's model allows."""
    from botocore.loaders import Loader

    shapes = Loader().load_service_model("bedrock-runtime", "service-2")["shapes"]
    bedrock = re.compile(shapes["RequestMetadataValueString"]["pattern"])
    for code in range(32, 127):
        char = chr(code)
        assert bool(router.METADATA_VALUE_RE.fullmatch(char)) == bool(bedrock.fullmatch(char)), char
    assert router.METADATA_VALUE_RE.fullmatch("a" * 256)
    assert not router.METADATA_VALUE_RE.fullmatch("a" * 257)


def test_base64_image_bytes_of_a_json_caller_go_on_the_wire_encoded_once(bedrock_standin):
    png = bytes(range(256)) * 3
    encoded = base64.b64encode(png).decode()
    bedrock_standin.script(converse_reply("A test pattern."))
    harness = harness_for(bedrock_standin, chat_config())
    image = {"format": "png", "source": {"bytes": encoded}}
    message = {"role": "user", "content": [{"text": "What is it?"}, {"image": image}]}
    answer = harness.invoke({"messages": [message]})
    assert "error" not in answer
    (request,) = bedrock_standin.requests
    wire = request.json["messages"][0]["content"][1]["image"]["source"]["bytes"]
    assert wire == encoded  # botocore encoded the decoded bytes: once, not twice
    assert base64.b64decode(wire) == png


def test_image_bytes_that_are_no_base64_are_a_client_error(bedrock_standin):
    harness = harness_for(bedrock_standin, chat_config())
    image = {"format": "png", "source": {"bytes": "not base64!"}}
    answer = harness.invoke({"messages": [{"role": "user", "content": [{"image": image}]}]})
    assert answer["error"]["code"] == "InvalidRequest"
    assert answer["error"]["field"] == "messages[0].content[0].image.source.bytes"
    assert bedrock_standin.requests == []
