"""The lifecycle watcher against stubbed Bedrock and CloudWatch.

The expected PutMetricData parameters are written out (names, dimensions, units), not
taken from the contract: a wrong metric name or dimension on either side fails here
or in tests/constructs/test_lifecycle_watcher.py.
"""

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
    "models": {HAIKU45: ["summarizer/live"], HAIKU3: ["summarizer/pinned-v1"]},
}


def _details(model_id: str, status: str, **times) -> dict:
    return {
        "modelDetails": {
            "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
            "modelId": model_id,
            "modelLifecycle": {"status": status, **times},
        }
    }


def _datum(name: str, model_id: str, value: float) -> dict:
    return {
        "MetricName": name,
        "Dimensions": [
            {"Name": "Environment", "Value": "prod"},
            {"Name": "ModelId", "Value": model_id},
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


def test_publishes_is_legacy_and_days_until_end_of_life_per_model(watcher, clients):
    bedrock, bstub, cloudwatch, cstub = clients
    eol = dt.datetime(2027, 8, 15, tzinfo=dt.UTC)
    _get(bstub, HAIKU3, _details(HAIKU3, "LEGACY", legacyTime=NOW, endOfLifeTime=eol))
    _get(bstub, HAIKU45, _details(HAIKU45, "ACTIVE"))
    _expect_metrics(
        cstub,
        _datum("IsLegacy", HAIKU3, 1.0),
        _datum("DaysUntilEndOfLife", HAIKU3, 262.0),
        _datum("IsLegacy", HAIKU45, 0.0),
    )
    result = watcher.check(CONFIG, bedrock, cloudwatch, now=NOW)
    assert result == {"models": {HAIKU3: "LEGACY", HAIKU45: "ACTIVE"}, "published": 3}


def test_aliases_that_share_a_model_get_one_check_and_one_series(watcher, clients, caplog):
    bedrock, bstub, cloudwatch, cstub = clients
    config = {
        **CONFIG,
        "models": {HAIKU3: ["a/live", "b/live", "c/pinned-v1"]},
        "more": {HAIKU3: 7},  # what the construct could not name in 4 KB
    }
    eol = dt.datetime(2027, 8, 15, tzinfo=dt.UTC)
    _get(bstub, HAIKU3, _details(HAIKU3, "LEGACY", legacyTime=NOW, endOfLifeTime=eol))
    _expect_metrics(
        cstub, _datum("IsLegacy", HAIKU3, 1.0), _datum("DaysUntilEndOfLife", HAIKU3, 262.0)
    )
    assert watcher.check(config, bedrock, cloudwatch, now=NOW)["published"] == 2
    (warning,) = [vars(r) for r in caplog.records if r.getMessage() == "model is Legacy"]
    assert (warning["model_id"], warning["aliases"], warning["alias_count"]) == (
        HAIKU3,
        ["a/live", "b/live", "c/pinned-v1"],
        10,
    )


def test_an_ended_model_is_the_most_urgent_state_not_a_crash(watcher, clients):
    bedrock, bstub, cloudwatch, cstub = clients
    config = {**CONFIG, "models": {GONE: ["old/live"]}}
    bstub.add_client_error(
        "get_foundation_model",
        service_error_code="ResourceNotFoundException",
        service_message="This model version has reached the end of its life.",
        http_status_code=404,
        expected_params={"modelIdentifier": GONE},
    )
    _expect_metrics(
        cstub,
        _datum("IsLegacy", GONE, 1.0),
        _datum("DaysUntilEndOfLife", GONE, 0.0),
    )
    result = watcher.check(config, bedrock, cloudwatch, now=NOW)
    assert result["models"] == {GONE: "ENDED"}


def test_throttling_is_retried_with_backoff(watcher, clients):
    bedrock, bstub, cloudwatch, cstub = clients
    config = {**CONFIG, "models": {HAIKU45: ["summarizer/live"]}}
    for _ in range(2):
        bstub.add_client_error(
            "get_foundation_model",
            service_error_code="ThrottlingException",
            http_status_code=429,
            expected_params={"modelIdentifier": HAIKU45},
        )
    _get(bstub, HAIKU45, _details(HAIKU45, "ACTIVE"))
    _expect_metrics(cstub, _datum("IsLegacy", HAIKU45, 0.0))
    slept: list[float] = []
    watcher.check(config, bedrock, cloudwatch, now=NOW, sleep=slept.append)
    # The one policy: 0.5 s doubling, each wait jittered down to half.
    assert len(slept) == 2
    assert 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0


def test_a_server_fault_is_retried(watcher, clients):
    bedrock, bstub, cloudwatch, cstub = clients
    config = {**CONFIG, "models": {HAIKU45: ["summarizer/live"]}}
    bstub.add_client_error(
        "get_foundation_model",
        service_error_code="ServiceUnavailableException",
        http_status_code=503,
        expected_params={"modelIdentifier": HAIKU45},
    )
    _get(bstub, HAIKU45, _details(HAIKU45, "ACTIVE"))
    _expect_metrics(cstub, _datum("IsLegacy", HAIKU45, 0.0))
    slept: list[float] = []
    result = watcher.check(config, bedrock, cloudwatch, now=NOW, sleep=slept.append)
    assert (result["models"], len(slept)) == ({HAIKU45: "ACTIVE"}, 1)


def test_a_model_that_stays_throttled_fails_the_run_after_publishing_the_others(
    watcher, clients, caplog
):
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
    _expect_metrics(cstub, _datum("IsLegacy", HAIKU3, 0.0))
    with pytest.raises(watcher.ModelCheckFailed, match="ThrottlingException: Too many requests"):
        watcher.check(CONFIG, bedrock, cloudwatch, now=NOW, sleep=lambda s: None)
    # The log names the aliases whose model went unchecked.
    (error,) = [vars(r) for r in caplog.records if r.getMessage() == "model could not be checked"]
    assert (error["model_id"], error["aliases"], error["alias_count"]) == (
        HAIKU45,
        ["summarizer/live"],
        1,
    )


def test_access_denied_is_not_mistaken_for_end_of_life(watcher, clients):
    bedrock, bstub, cloudwatch, _ = clients
    config = {**CONFIG, "models": {HAIKU45: ["summarizer/live"]}}
    bstub.add_client_error(
        "get_foundation_model",
        service_error_code="AccessDeniedException",
        service_message="not authorized",
        http_status_code=403,
        expected_params={"modelIdentifier": HAIKU45},
    )
    # Nothing is published for a model that could not be checked.
    with pytest.raises(watcher.ModelCheckFailed, match=f"{HAIKU45} .AccessDeniedException"):
        watcher.check(config, bedrock, cloudwatch, now=NOW)


def test_each_model_has_its_own_days_and_a_part_day_counts_as_a_day(watcher):
    states = {
        "b.y": watcher.ModelState("b.y", "ACTIVE", NOW + dt.timedelta(days=400)),
        "a.x": watcher.ModelState("a.x", "LEGACY", NOW + dt.timedelta(days=10, hours=1)),
    }
    data = watcher.model_metrics("prod", states, NOW)
    assert [(d["MetricName"], d["Dimensions"][1]["Value"], d["Value"]) for d in data] == [
        ("IsLegacy", "a.x", 1.0),
        ("DaysUntilEndOfLife", "a.x", 11.0),
        ("IsLegacy", "b.y", 0.0),
        ("DaysUntilEndOfLife", "b.y", 400.0),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "WATCHER_CONFIG must be JSON, got None"),
        ("[]", "WATCHER_CONFIG must be a JSON object"),
        ('{"models": {}}', "environment must be a non-empty string, got None"),
        ('{"environment": "prod", "models": {"m.x": "f/a"}}', "models must map model ids"),
        # The configuration of the per-alias watcher (before per-model alarms).
        ('{"environment": "prod", "aliases": {"f/a": ["m.x"]}}', "models must map model ids"),
        ('{"environment": "prod", "models": {"m.x": []}, "more": {"n.y": 1}}', "more must map"),
        ('{"environment": "prod", "models": {"m.x": []}, "more": {"m.x": true}}', "more must"),
    ],
)
def test_configuration_is_validated_before_any_call(watcher, text, message):
    with pytest.raises(watcher.ConfigurationError, match=message):
        watcher.parse_config(text)


def test_configuration_the_construct_writes_is_accepted(watcher):
    config = watcher.parse_config(json.dumps({"environment": "dev", "models": {"m.x": ["f/a"]}}))
    assert (config["namespace"], config["more"]) == (watcher.NAMESPACE, {})
