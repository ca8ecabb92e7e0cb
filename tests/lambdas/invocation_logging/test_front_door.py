"""The invocation logging handler's front door and its ownership rule on Update and Delete."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.lambdas.invocation_logging.test_app import (
    EXPECTED_CONFIG,
    OUR_ID,
    PROPS,
    REGION,
    _event,
)
from tests.lambdas.provisioned_throughput.cfn_fuzz import (
    assert_own_failure,
    framework_body,
    invalid_events,
    no_aws_calls,
)
from tests.support.lambda_assets import stubbed_clients

PROPERTY_NAMES = tuple(k for k in PROPS if k != "ServiceToken")
# Property messages name the property first ("BucketName must be ...").
PREFIXES = ("invalid request: ", *(f"{name} must be " for name in PROPERTY_NAMES))
THEIRS = {
    "s3Config": {"bucketName": "security-team-logs", "keyPrefix": "all"},
    "cloudWatchConfig": {
        "logGroupName": "security-team",
        "roleArn": "arn:aws:iam::111111111111:role/Security",
    },
    "textDataDeliveryEnabled": True,
}
CLOUDWATCH_ONLY = {
    "cloudWatchConfig": {
        "logGroupName": "security-team",
        "roleArn": "arn:aws:iam::111111111111:role/Security",
    }
}


@pytest.fixture(scope="module")
def quiet_bedrock():
    """A client with nothing stubbed, made once: any call raises, and is recorded."""
    with stubbed_clients("bedrock") as [(client, _stub)], no_aws_calls(client) as calls:
        yield client, calls


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad=invalid_events(_event("Create"), PROPERTY_NAMES, OUR_ID))
def test_no_malformed_event_reaches_bedrock(logging_app, quiet_bedrock, bad):
    client, calls = quiet_bedrock
    with pytest.raises(logging_app.InvalidRequest) as raised:
        logging_app.on_event(bad, client, region=REGION, sleep=pytest.fail)
    message = str(raised.value)
    assert_own_failure(message, PREFIXES)
    assert len(message.encode()) <= 1000
    assert len(framework_body(bad, message)) < 4096
    assert calls == []


def test_unknown_properties_are_refused_with_the_allowed_ones(logging_app, bedrock):
    client, _ = bedrock
    with pytest.raises(logging_app.InvalidRequest) as raised:
        logging_app.on_event(_event("Create", {**PROPS, "Colour": "x"}), client, region=REGION)
    assert str(raised.value) == (
        "invalid request: ResourceProperties has unknown properties 'Colour' (allowed: "
        "BucketName, KeyPrefix, LogGroupName, RoleArn, LargeDataKeyPrefix, TextDataDelivery)"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BucketName", "audit-bucket-1\n"),  # `$` let a final newline through
        (
            "RoleArn",
            "arn:aws:iam::\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11:role/BedrockDelivery",
        ),
        ("RoleArn", "arn:aws:iam::111111111111:role/Bédrock"),
        ("LogGroupName", "x" * 3000),
    ],
)
def test_hostile_values_never_reach_bedrock(logging_app, bedrock, name, value):
    client, _ = bedrock
    with pytest.raises(logging_app.InvalidRequest, match=f"^{name} must be "):
        logging_app.on_event(_event("Create", {**PROPS, name: value}), client, region=REGION)


def test_a_string_resource_properties_is_refused(logging_app, bedrock):
    event = {**_event("Create"), "ResourceProperties": "BucketName=x"}
    with pytest.raises(logging_app.InvalidRequest, match="ResourceProperties must be an object"):
        logging_app.on_event(event, bedrock[0], region=REGION)


def test_update_refuses_a_configuration_set_after_our_create(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response("get_model_invocation_logging_configuration", {"loggingConfig": THEIRS}, {})
    new = {**PROPS, "TextDataDelivery": "true"}
    with pytest.raises(RuntimeError, match="already delivers to 'security-team-logs', set outside"):
        logging_app.on_event(_event("Update", new, OUR_ID, old=PROPS), client, region=REGION)
    # and no put call was made (none is stubbed)


def test_update_takes_what_the_old_properties_wrote(logging_app, bedrock):
    client, stub = bedrock
    new = {**PROPS, "BucketName": "audit-bucket-2"}
    stub.add_response(
        "get_model_invocation_logging_configuration", {"loggingConfig": EXPECTED_CONFIG}, {}
    )
    moved = {
        **EXPECTED_CONFIG,
        "s3Config": {**EXPECTED_CONFIG["s3Config"], "bucketName": "audit-bucket-2"},
        "cloudWatchConfig": {
            **EXPECTED_CONFIG["cloudWatchConfig"],
            "largeDataDeliveryS3Config": {
                "bucketName": "audit-bucket-2",
                "keyPrefix": "invocation-logs-large-data",
            },
        },
    }
    stub.add_response("put_model_invocation_logging_configuration", {}, {"loggingConfig": moved})
    answer = logging_app.on_event(_event("Update", new, OUR_ID, old=PROPS), client, region=REGION)
    assert answer["PhysicalResourceId"] == OUR_ID


def test_update_puts_ours_when_none_is_set(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response("get_model_invocation_logging_configuration", {}, {})
    stub.add_response(
        "put_model_invocation_logging_configuration", {}, {"loggingConfig": EXPECTED_CONFIG}
    )
    logging_app.on_event(_event("Update", PROPS, OUR_ID), client, region=REGION)


def test_create_and_update_share_one_ownership_test(logging_app, bedrock):
    # Our bucket with somebody else's log group is not ours: neither takes it over.
    half = {**EXPECTED_CONFIG, "cloudWatchConfig": THEIRS["cloudWatchConfig"]}
    assert not logging_app.is_ours(half, PROPS)
    assert logging_app.is_ours(EXPECTED_CONFIG, PROPS)
    client, stub = bedrock
    stub.add_response("get_model_invocation_logging_configuration", {"loggingConfig": half}, {})
    with pytest.raises(RuntimeError, match="already delivers to 'audit-bucket-1', set outside"):
        logging_app.on_event(_event("Create"), client, region=REGION)


def test_delete_without_properties_leaves_a_cloudwatch_only_configuration(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response(
        "get_model_invocation_logging_configuration", {"loggingConfig": CLOUDWATCH_ONLY}, {}
    )
    event = {**_event("Delete", PROPS, OUR_ID)}
    del event["ResourceProperties"]
    assert logging_app.on_event(event, client, region=REGION) == {"PhysicalResourceId": OUR_ID}
    # no delete call: none is stubbed, and every stubbed response was used


def test_delete_leaves_a_configuration_that_shares_only_our_bucket(logging_app, bedrock):
    client, stub = bedrock
    half = {**EXPECTED_CONFIG, "cloudWatchConfig": THEIRS["cloudWatchConfig"]}
    stub.add_response("get_model_invocation_logging_configuration", {"loggingConfig": half}, {})
    logging_app.on_event(_event("Delete", PROPS, OUR_ID), client, region=REGION)


def test_the_entry_point_answers_a_bug_with_its_own_sentence(logging_app, monkeypatch):
    monkeypatch.setenv("AWS_REGION", REGION)

    def broken(*args, **kwargs):
        raise AttributeError("'str' object has no attribute 'get'")

    monkeypatch.setattr(logging_app, "on_event", broken)
    with pytest.raises(RuntimeError) as raised:
        logging_app.handler({}, None)
    assert str(raised.value).startswith("the invocation logging handler failed unexpectedly")
    assert "has no attribute" not in str(raised.value)
