"""The lifecycle watcher against stubbed Bedrock and CloudWatch."""

from __future__ import annotations

import datetime as dt
import json

import pytest

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
GONE = "anthropic.claude-v2:1"
CONFIG = {
    "environment": "prod",
    "namespace": "BedrockLifecycle/ModelLifecycle",
    "aliases": {"summarizer/live": [HAIKU45], "summarizer/pinned-v1": [HAIKU3]},
}


def _details(model_id: str, status: str, **times) -> dict:
    return {
        "modelDetails": {
            "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
            "modelId": model_id,
            "modelLifecycle": {"status": status, **times},
        }
    }


def _datum(name: str, alias: str, value: float) -> dict:
    return {
        "MetricName": name,
        "Dimensions": [
            {"Name": "Environment", "Value": "prod"},
            {"Name": "Alias", "Value": alias},
        ],
        "Timestamp": NOW,
        "Value": value,
        "Unit": "Count",
    }


def _expect_metrics(cstub, *data: dict) -> None:
    cstub.add_response(
        "put_metric_data",
        {},
        {"Namespace": "BedrockLifecycle/ModelLifecycle", "MetricData": list(data)},
    )


def _get(stub, model_id, response):
    stub.add_response("get_foundation_model", response, {"modelIdentifier": model_id})


def test_publishes_is_legacy_and_days_until_end_of_life_per_alias(watcher, clients):
    bedrock, bstub, cloudwatch, cstub = clients
    eol = dt.datetime(2027, 8, 15, tzinfo=dt.UTC)
    _get(bstub, HAIKU3, _details(HAIKU3, "LEGACY", legacyTime=NOW, endOfLifeTime=eol))
    _get(bstub, HAIKU45, _details(HAIKU45, "ACTIVE"))
    _expect_metrics(
        cstub,
        _datum("IsLegacy", "summarizer/live", 0.0),
        _datum("IsLegacy", "summarizer/pinned-v1", 1.0),
        _datum("DaysUntilEndOfLife", "summarizer/pinned-v1", 262.0),
    )
    result = watcher.check(CONFIG, bedrock, cloudwatch, now=NOW)
    assert result == {"models": {HAIKU3: "LEGACY", HAIKU45: "ACTIVE"}, "published": 3}


def test_an_ended_model_is_the_most_urgent_state_not_a_crash(watcher, clients):
    bedrock, bstub, cloudwatch, cstub = clients
    config = {**CONFIG, "aliases": {"old/live": [GONE]}}
    bstub.add_client_error(
        "get_foundation_model",
        service_error_code="ResourceNotFoundException",
        service_message="This model version has reached the end of its life.",
        http_status_code=404,
        expected_params={"modelIdentifier": GONE},
    )
    _expect_metrics(
        cstub,
        _datum("IsLegacy", "old/live", 1.0),
        _datum("DaysUntilEndOfLife", "old/live", 0.0),
    )
    result = watcher.check(config, bedrock, cloudwatch, now=NOW)
    assert result["models"] == {GONE: "ENDED"}


def test_throttling_is_retried_with_backoff(watcher, clients):
    bedrock, bstub, cloudwatch, cstub = clients
    config = {**CONFIG, "aliases": {"summarizer/live": [HAIKU45]}}
    for _ in range(2):
        bstub.add_client_error(
            "get_foundation_model",
            service_error_code="ThrottlingException",
            http_status_code=429,
            expected_params={"modelIdentifier": HAIKU45},
        )
    _get(bstub, HAIKU45, _details(HAIKU45, "ACTIVE"))
    _expect_metrics(cstub, _datum("IsLegacy", "summarizer/live", 0.0))
    slept: list[float] = []
    watcher.check(config, bedrock, cloudwatch, now=NOW, sleep=slept.append)
    # The one policy: 0.5 s doubling, each wait jittered down to half.
    assert len(slept) == 2
    assert 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0


def test_a_server_fault_is_retried(watcher, clients):
    bedrock, bstub, cloudwatch, cstub = clients
    config = {**CONFIG, "aliases": {"summarizer/live": [HAIKU45]}}
    bstub.add_client_error(
        "get_foundation_model",
        service_error_code="ServiceUnavailableException",
        http_status_code=503,
        expected_params={"modelIdentifier": HAIKU45},
    )
    _get(bstub, HAIKU45, _details(HAIKU45, "ACTIVE"))
    _expect_metrics(cstub, _datum("IsLegacy", "summarizer/live", 0.0))
    slept: list[float] = []
    result = watcher.check(config, bedrock, cloudwatch, now=NOW, sleep=slept.append)
    assert (result["models"], len(slept)) == ({HAIKU45: "ACTIVE"}, 1)


def test_a_model_that_stays_throttled_fails_the_run_after_publishing_the_others(watcher, clients):
    bedrock, bstub, cloudwatch, cstub = clients
    _get(bstub, HAIKU3, _details(HAIKU3, "ACTIVE"))
    for _ in range(5):  # contract.RETRY_POLICY: 5 attempts, then no more calls
        bstub.add_client_error(
            "get_foundation_model",
            service_error_code="ThrottlingException",
            service_message="Too many requests",
            http_status_code=429,
            expected_params={"modelIdentifier": HAIKU45},
        )
    _expect_metrics(cstub, _datum("IsLegacy", "summarizer/pinned-v1", 0.0))
    with pytest.raises(watcher.ModelCheckFailed, match="ThrottlingException: Too many requests"):
        watcher.check(CONFIG, bedrock, cloudwatch, now=NOW, sleep=lambda s: None)


def test_access_denied_is_not_mistaken_for_end_of_life(watcher, clients):
    bedrock, bstub, cloudwatch, _ = clients
    config = {**CONFIG, "aliases": {"summarizer/live": [HAIKU45]}}
    bstub.add_client_error(
        "get_foundation_model",
        service_error_code="AccessDeniedException",
        service_message="not authorized",
        http_status_code=403,
        expected_params={"modelIdentifier": HAIKU45},
    )
    # Nothing is published for an alias whose model could not be checked.
    with pytest.raises(watcher.ModelCheckFailed, match=f"{HAIKU45} .AccessDeniedException"):
        watcher.check(config, bedrock, cloudwatch, now=NOW)


def test_the_nearest_end_of_life_of_an_alias_counts(watcher):
    states = {
        "a": watcher.ModelState("a", "LEGACY", NOW + dt.timedelta(days=10, hours=1)),
        "b": watcher.ModelState("b", "ACTIVE", NOW + dt.timedelta(days=400)),
    }
    (legacy, days) = watcher.alias_metrics("prod", {"f/x": ["a", "b"]}, states, NOW)
    assert (legacy["Value"], days["Value"]) == (1.0, 11.0)  # a part day left counts as a day


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "WATCHER_CONFIG must be JSON, got None"),
        ("[]", "WATCHER_CONFIG must be a JSON object"),
        ('{"aliases": {}}', "environment must be a non-empty string, got None"),
        ('{"environment": "prod", "aliases": {"a": "m"}}', "aliases must map"),
    ],
)
def test_configuration_is_validated_before_any_call(watcher, text, message):
    with pytest.raises(watcher.ConfigurationError, match=message):
        watcher.parse_config(text)


def test_configuration_the_construct_writes_is_accepted(watcher):
    config = watcher.parse_config(json.dumps({"environment": "dev", "aliases": {"f/a": ["m.x"]}}))
    assert config["namespace"] == watcher.NAMESPACE
