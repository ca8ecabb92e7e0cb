"""The request ceiling (limits.py): at the ceiling a request reaches Bedrock, one byte over
it is a ClientError naming the limit and the size, with one answer, one audit record and
one EMF document, and Bedrock is never called."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest

from tests.lambdas.router.test_app import IDENTITY, metric_values
from tests.support.lambda_assets import load_asset_module
from tests.support.router import chat_config, embedding_config, harness_for

LIMITS = load_asset_module("router", "limits")
MAX = LIMITS.MAX_REQUEST_BYTES


def canonical(event) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_of_size(size: int) -> dict:
    """A chat request with a 3 MB base64 image whose canonical JSON is exactly ``size`` bytes."""
    image = base64.b64encode(bytes(range(256)) * 12288).decode()  # 3,145,728 raw bytes
    event = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"text": ""},
                    {"image": {"format": "png", "source": {"bytes": image}}},
                ],
            }
        ]
    }
    event["messages"][0]["content"][0]["text"] = "x" * (size - len(canonical(event)))
    assert len(canonical(event)) == size
    return event


def test_the_ceiling_is_lambdas_synchronous_invoke_limit():
    assert MAX == 6 * 1024 * 1024 == 6_291_456


def test_a_request_at_the_ceiling_reaches_bedrock(bedrock_standin):
    harness = harness_for(bedrock_standin, chat_config())
    event = event_of_size(MAX)
    answer = harness.invoke(event)
    assert "error" not in answer, answer
    (request,) = bedrock_standin.requests
    # The image went out as its raw bytes, base64-encoded once by botocore.
    image = event["messages"][0]["content"][1]["image"]["source"]["bytes"]
    assert request.json["messages"][0]["content"][1]["image"]["source"]["bytes"] == image
    (audit,) = harness.audit
    assert audit["request_bytes"] == MAX
    assert audit["request_sha256"] == hashlib.sha256(canonical(event)).hexdigest()
    assert audit["outcome"] == "success"


@pytest.mark.parametrize("prompt_logging", [False, True])
def test_one_byte_over_the_ceiling_is_a_client_error_without_a_call(
    bedrock_standin, prompt_logging
):
    harness = harness_for(bedrock_standin, chat_config(prompt_logging=prompt_logging))
    event = event_of_size(MAX + 1)
    answer = harness.invoke(event)
    assert answer == {
        "error": {
            "type": "ClientError",
            "code": "RequestTooLarge",
            "message": "the request is 6291457 bytes as compact JSON, "
            "more than the 6291456 allowed",
            "field": "$",
            "retryable": False,
        },
        **IDENTITY,
        "request_id": "req-1",
    }
    assert bedrock_standin.requests == []
    (emf,) = harness.emf
    assert metric_values(emf) == {"Invocations": 1.0, "ClientErrors": 1.0}
    (audit,) = harness.audit
    assert (audit["outcome"], audit["error_code"]) == ("client_error", "RequestTooLarge")
    assert audit["request_bytes"] == MAX + 1
    assert audit["request_sha256"] == hashlib.sha256(canonical(event)).hexdigest()
    if prompt_logging:
        # The refused request is not copied into the log; its size and hash are there.
        assert audit["request"] is None and audit["response"] == answer
    assert len(harness.lines) == 2


def test_the_size_counts_utf8_bytes_not_characters(bedrock_standin):
    harness = harness_for(bedrock_standin, embedding_config())
    # 2 bytes per character: 3.2 million characters (under the ceiling) are 6.4 MB (over it).
    answer = harness.invoke({"inputText": "é" * 3_200_000})
    assert answer["error"]["code"] == "RequestTooLarge"
    assert "6400016 bytes" in answer["error"]["message"]
    assert bedrock_standin.requests == []


def test_the_ceiling_comes_before_any_other_check(bedrock_standin):
    harness = harness_for(bedrock_standin, chat_config())
    answer = harness.invoke({"unknown": "x" * MAX})
    assert answer["error"]["code"] == "RequestTooLarge"


def test_a_deeply_nested_request_is_refused_before_anything_recurses(bedrock_standin):
    harness = harness_for(bedrock_standin, chat_config())
    tool_input: object = {}
    for _ in range(70):
        tool_input = {"a": tool_input}
    block = {"toolUse": {"toolUseId": "t1", "name": "x", "input": tool_input}}
    answer = harness.invoke({"messages": [{"role": "user", "content": [block]}]})
    assert answer["error"]["code"] == "RequestTooDeep"
    assert answer["error"]["message"] == "is nested more than 64 levels deep"
    # Deeper than json.dumps can go: still one answer, one audit record, one EMF document.
    deep: object = []
    for _ in range(5000):
        deep = [deep]
    answer = harness.invoke(deep)
    assert answer["error"]["code"] == "RequestTooDeep"
    assert len(harness.audit) == 2 and len(harness.emf) == 2
    assert harness.audit[1]["request_sha256"] is None
    assert bedrock_standin.requests == []


def test_nesting_at_the_limit_passes_the_ceiling():
    module = LIMITS
    value: object = "leaf"
    for _ in range(module.MAX_DEPTH):
        value = [value]
    module.check(value, module.measure(value))  # no error
    with pytest.raises(module.RequestTooLarge, match="nested more than 64 levels"):
        module.check([value], module.measure([value]))


def test_measuring_serializes_the_request_once_and_quickly(monkeypatch):
    module = LIMITS
    event = event_of_size(MAX)
    calls = []
    real = module.canonical_json
    monkeypatch.setattr(module, "canonical_json", lambda v: calls.append(1) or real(v))
    started = time.perf_counter()
    measured = module.measure(event)
    module.check(event, measured)
    elapsed = time.perf_counter() - started
    assert calls == [1] and measured.size == MAX
    assert elapsed < 0.5, f"measuring a 6 MiB request took {elapsed:.3f} s"
