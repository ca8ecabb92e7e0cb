"""Custom::BedrockInvocationLogging handler against a stubbed Bedrock control plane."""

from __future__ import annotations

import pytest

REGION = "us-east-1"
PROPS = {
    "ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:provider",
    "BucketName": "audit-bucket-1",
    "KeyPrefix": "invocation-logs",
    "LogGroupName": "BedrockLifecycle-prod-AuditLogGroup",
    "RoleArn": "arn:aws:iam::111111111111:role/BedrockDelivery",
    "LargeDataKeyPrefix": "invocation-logs-large-data",
    "TextDataDelivery": "false",
}
EXPECTED_CONFIG = {
    "s3Config": {"bucketName": "audit-bucket-1", "keyPrefix": "invocation-logs"},
    "cloudWatchConfig": {
        "logGroupName": "BedrockLifecycle-prod-AuditLogGroup",
        "roleArn": "arn:aws:iam::111111111111:role/BedrockDelivery",
        "largeDataDeliveryS3Config": {
            "bucketName": "audit-bucket-1",
            "keyPrefix": "invocation-logs-large-data",
        },
    },
    "textDataDeliveryEnabled": False,
    "imageDataDeliveryEnabled": False,
    "embeddingDataDeliveryEnabled": False,
    "videoDataDeliveryEnabled": False,
    "audioDataDeliveryEnabled": False,
}
OUR_ID = f"bedrock-invocation-logging-{REGION}"


STACK_ID = "arn:aws:cloudformation:us-east-1:111111111111:stack/BedrockLifecycle-prod/0a1b2c3d"


def _event(request: str, props=PROPS, physical_id: str | None = None, old=None) -> dict:
    """A request as the provider framework passes it on."""
    event = {
        "RequestType": request,
        "ServiceToken": PROPS["ServiceToken"],
        "ResponseURL": "https://cloudformation-custom-resource-response.example/presigned",
        "StackId": STACK_ID,
        "RequestId": "5f0e8a4c-0d3b-4c5e-9f1a-2b3c4d5e6f70",
        "LogicalResourceId": "AuditInvocationLogging1A2B3C4D",
        "ResourceType": "Custom::BedrockInvocationLogging",
        "ResourceProperties": dict(props),
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if request == "Update":
        event["OldResourceProperties"] = dict(old if old is not None else props)
    return event


def _no_sleep(seconds: float) -> None:
    pass


def test_create_puts_metadata_only_configuration(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response("get_model_invocation_logging_configuration", {}, {})
    stub.add_response(
        "put_model_invocation_logging_configuration", {}, {"loggingConfig": EXPECTED_CONFIG}
    )
    result = logging_app.on_event(_event("Create"), client, region=REGION)
    assert result == {"PhysicalResourceId": OUR_ID, "Data": {"Region": REGION}}


def test_text_delivery_only_when_the_environment_opts_in(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response(
        "get_model_invocation_logging_configuration", {"loggingConfig": EXPECTED_CONFIG}, {}
    )
    stub.add_response(
        "put_model_invocation_logging_configuration",
        {},
        {"loggingConfig": {**EXPECTED_CONFIG, "textDataDeliveryEnabled": True}},
    )
    props = {**PROPS, "TextDataDelivery": "true"}
    result = logging_app.on_event(_event("Update", props, OUR_ID), client, region=REGION)
    assert result["PhysicalResourceId"] == OUR_ID  # same id: CloudFormation does not replace it


def test_create_refuses_to_take_over_somebody_elses_configuration(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response(
        "get_model_invocation_logging_configuration",
        {"loggingConfig": {"s3Config": {"bucketName": "security-team-logs"}}},
        {},
    )
    with pytest.raises(RuntimeError, match="already delivers to 'security-team-logs'"):
        logging_app.on_event(_event("Create"), client, region=REGION)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BucketName", "Not_A_Bucket", "BucketName must be an S3 bucket name, got 'Not_A_Bucket'"),
        ("RoleArn", "role/x", "RoleArn must be an IAM role ARN, got 'role/x'"),
        ("TextDataDelivery", "yes", "TextDataDelivery must be 'true' or 'false', got 'yes'"),
        ("LogGroupName", None, "LogGroupName must be a CloudWatch Logs log group name, got None"),
    ],
)
def test_invalid_properties_fail_before_any_call(logging_app, bedrock, name, value, message):
    client, _ = bedrock  # no responses queued: any AWS call would fail the test
    props = {**PROPS, name: value}
    with pytest.raises(logging_app.InvalidRequest) as raised:
        logging_app.on_event(_event("Create", props), client, region=REGION)
    assert str(raised.value) == message


def test_unknown_request_type_is_refused(logging_app, bedrock):
    client, _ = bedrock
    with pytest.raises(logging_app.InvalidRequest, match="got 'Replace'"):
        logging_app.on_event(_event("Replace"), client, region=REGION)


def test_throttling_is_retried_then_succeeds(logging_app, bedrock):
    client, stub = bedrock
    slept: list[float] = []
    stub.add_response("get_model_invocation_logging_configuration", {}, {})
    for _ in range(2):
        stub.add_client_error(
            "put_model_invocation_logging_configuration",
            service_error_code="ThrottlingException",
            http_status_code=429,
            expected_params={"loggingConfig": EXPECTED_CONFIG},
        )
    stub.add_response(
        "put_model_invocation_logging_configuration", {}, {"loggingConfig": EXPECTED_CONFIG}
    )
    logging_app.on_event(_event("Create"), client, region=REGION, sleep=slept.append)
    # The one policy: 0.5 s doubling, each wait jittered down to half.
    assert len(slept) == 2
    assert 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0


def test_a_server_fault_is_retried_then_succeeds(logging_app, bedrock):
    client, stub = bedrock
    stub.add_client_error(
        "get_model_invocation_logging_configuration",
        service_error_code="InternalServerException",
        http_status_code=500,
        expected_params={},
    )
    stub.add_response("get_model_invocation_logging_configuration", {}, {})
    stub.add_response(
        "put_model_invocation_logging_configuration", {}, {"loggingConfig": EXPECTED_CONFIG}
    )
    slept: list[float] = []
    logging_app.on_event(_event("Create"), client, region=REGION, sleep=slept.append)
    assert len(slept) == 1


def test_throttling_that_never_ends_fails_with_a_clear_message(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response("get_model_invocation_logging_configuration", {}, {})
    for _ in range(5):  # contract.RETRY_POLICY: 5 attempts, then no more calls
        stub.add_client_error(
            "put_model_invocation_logging_configuration",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=429,
            expected_params={"loggingConfig": EXPECTED_CONFIG},
        )
    with pytest.raises(RuntimeError, match=r"kept throttling after 5 attempts.*retry the deploy"):
        logging_app.on_event(
            _event("Update", PROPS, OUR_ID), client, region=REGION, sleep=_no_sleep
        )


def test_access_denied_is_not_retried_and_names_the_permissions(logging_app, bedrock):
    client, stub = bedrock
    stub.add_client_error(
        "get_model_invocation_logging_configuration",
        service_error_code="AccessDeniedException",
        service_message="not authorized",
        http_status_code=403,
    )
    with pytest.raises(RuntimeError, match=r"reading the configuration: access denied.*PassRole"):
        logging_app.on_event(_event("Create"), client, region=REGION, sleep=_fail_sleep)


def _fail_sleep(seconds: float) -> None:
    raise AssertionError(f"slept {seconds} s for an error that is not retried")


def test_validation_error_names_what_to_check(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response("get_model_invocation_logging_configuration", {}, {})
    stub.add_client_error(
        "put_model_invocation_logging_configuration",
        service_error_code="ValidationException",
        service_message="Failed to validate permissions for log group",
        http_status_code=400,
    )
    with pytest.raises(RuntimeError, match=r"Failed to validate permissions.*bucket policy"):
        logging_app.on_event(_event("Create"), client, region=REGION)


def test_delete_leaves_no_configuration_behind(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response(
        "get_model_invocation_logging_configuration", {"loggingConfig": EXPECTED_CONFIG}, {}
    )
    stub.add_response("delete_model_invocation_logging_configuration", {}, {})
    stub.add_response("get_model_invocation_logging_configuration", {}, {})  # verified gone
    result = logging_app.on_event(_event("Delete", PROPS, OUR_ID), client, region=REGION)
    assert result == {"PhysicalResourceId": OUR_ID}


def test_delete_fails_when_a_configuration_survives(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response(
        "get_model_invocation_logging_configuration", {"loggingConfig": EXPECTED_CONFIG}, {}
    )
    stub.add_response("delete_model_invocation_logging_configuration", {}, {})
    stub.add_response(
        "get_model_invocation_logging_configuration", {"loggingConfig": EXPECTED_CONFIG}, {}
    )
    with pytest.raises(RuntimeError, match="Bedrock still reports one"):
        logging_app.on_event(_event("Delete", PROPS, OUR_ID), client, region=REGION)


def test_delete_leaves_somebody_elses_configuration_alone(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response(
        "get_model_invocation_logging_configuration",
        {"loggingConfig": {"s3Config": {"bucketName": "security-team-logs"}}},
        {},
    )
    result = logging_app.on_event(_event("Delete", PROPS, OUR_ID), client, region=REGION)
    assert result == {"PhysicalResourceId": OUR_ID}  # and no delete call was made


def test_delete_when_nothing_is_configured_makes_no_delete_call(logging_app, bedrock):
    client, stub = bedrock
    stub.add_response("get_model_invocation_logging_configuration", {}, {})
    logging_app.on_event(_event("Delete", PROPS, OUR_ID), client, region=REGION)


def test_delete_of_a_create_that_never_happened_calls_nothing(logging_app, bedrock):
    client, _ = bedrock
    event = _event("Delete", PROPS, "2026/11/26/[$LATEST]abc")
    assert logging_app.on_event(event, client, region=REGION) == {
        "PhysicalResourceId": "2026/11/26/[$LATEST]abc"
    }


def test_handler_resource_type_matches_the_construct(logging_app):
    from bedrock_lifecycle.constructs import invocation_audit

    assert logging_app.RESOURCE_TYPE == invocation_audit.RESOURCE_TYPE
