"""Names, idempotency tokens, transport errors, long messages and the Lambda entry points
of the custom model deployment handler."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from types import SimpleNamespace

import botocore.session
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from .conftest import (
    ARN,
    CREATE_FAILED_MARKER,
    LOGICAL_ID,
    MODEL_ARN,
    MODEL_ARN_2,
    NAME,
    NEW_ARN,
    NOW,
    STACK_ID,
    create_params,
    deployment,
    event,
    expected_name,
    props,
    run_provider,
    token,
)

MODEL = botocore.session.get_session().get_service_model("bedrock")
CREATE_INPUT = MODEL.operation_model("CreateCustomModelDeployment").input_shape
NAME_PATTERN = re.compile(CREATE_INPUT.members["modelDeploymentName"].metadata["pattern"])
TOKEN_PATTERN = re.compile(CREATE_INPUT.members["clientRequestToken"].metadata["pattern"])
OTHER_REQUEST = "0e0d6a3e-7c1b-4d8e-8f00-aaaaaaaaaaaa"
ENDPOINT = "https://bedrock.us-east-1.amazonaws.com"


# ---------------------------------------------------------------- the Bedrock name


@pytest.mark.parametrize(
    "prefix", ["acme-assistant-v2", "x", "a" * 54, "a-", "b_", "a_" * 27, "A1-b2_C3"]
)
def test_the_name_is_valid_for_bedrock_and_deterministic(app, prefix):
    parsed = app.parse_properties(props(DeploymentName=prefix))
    name = parsed.name(STACK_ID, LOGICAL_ID)
    assert NAME_PATTERN.fullmatch(name), name
    assert len(name) <= 63
    assert name == app.parse_properties(props(DeploymentName=prefix)).name(STACK_ID, LOGICAL_ID)
    assert name == expected_name(props(DeploymentName=prefix))
    assert name.startswith(prefix) and re.fullmatch(r"[-_]?[0-9a-f]{8}", name[len(prefix) :])


def test_the_name_changes_with_every_property_and_the_resource_but_not_the_tag_order(app):
    def name(stack: str = STACK_ID, logical: str = LOGICAL_ID, **overrides) -> str:
        return app.parse_properties(props(**overrides)).name(stack, logical)

    names = [
        name(),
        name(DeploymentName="acme-assistant-v3"),
        name(ModelArn=MODEL_ARN_2),
        name(Description="another"),
        name(Description=None),
        name(Tags=[*props()["Tags"], {"Key": "team", "Value": "ml"}]),
        name(stack=STACK_ID.replace("0a1b2c3d", "9f8e7d6c")),
        name(logical="Other1234"),
    ]
    assert len(set(names)) == len(names)
    assert name(Tags=list(reversed(props()["Tags"]))) == names[0] == NAME
    # "a" and "a-" give different names, although both start "a-".
    assert name(DeploymentName="a") != name(DeploymentName="a-")


# ---------------------------------------------------------------- idempotency


def test_client_request_token_is_stable_per_request_and_valid(deployments):
    first, retried = event("Create"), event("Create")
    token_ = deployments.client_request_token(first)
    assert token_ == deployments.client_request_token(retried) == token()
    assert token_ != deployments.client_request_token(event("Create", request_id=OTHER_REQUEST))
    assert token_ != deployments.client_request_token({**first, "LogicalResourceId": "Other1"})
    assert TOKEN_PATTERN.fullmatch(token_) and len(token_) <= 256


def test_a_retried_create_event_sends_the_same_token(app, bedrock):
    """Bedrock answers a repeated token with the deployment it already made."""
    client, stub = bedrock
    for _ in range(2):
        stub.add_response(
            "create_custom_model_deployment", {"customModelDeploymentArn": ARN}, create_params()
        )
    answers = [app.handle_on_event(event("Create"), client, now=lambda: NOW) for _ in range(2)]
    assert answers[0] == answers[1] == {"PhysicalResourceId": ARN, "Wait": "Active"}


def test_another_request_sends_another_token_for_the_same_name(app, bedrock):
    client, stub = bedrock
    request = event("Update", physical_id=ARN, old=props(), request_id=OTHER_REQUEST)
    request["ResourceProperties"] = props(ModelArn=MODEL_ARN_2)
    stub.add_response(
        "create_custom_model_deployment",
        {"customModelDeploymentArn": NEW_ARN},
        create_params(props(ModelArn=MODEL_ARN_2), request_id=OTHER_REQUEST),
    )
    assert app.handle_on_event(request, client) == {"PhysicalResourceId": NEW_ARN, "Wait": "Active"}
    assert token(OTHER_REQUEST) != token()


# ---------------------------------------------------------------- transport failures


class Flaky:
    """A client whose calls fail with botocore's transport errors, then answer."""

    def __init__(self, failures: dict[str, list[Exception]], answers: dict[str, dict]) -> None:
        self.failures, self.answers = failures, answers
        self.calls: list[tuple[str, dict]] = []

    def __getattr__(self, operation: str):
        def call(**params):
            self.calls.append((operation, params))
            pending = self.failures.get(operation) or []
            if pending:
                raise pending.pop(0)
            return self.answers[operation]

        return call


def test_a_create_that_timed_out_every_time_but_was_made_is_adopted(app):
    client = Flaky(
        {"create_custom_model_deployment": [ReadTimeoutError(endpoint_url=ENDPOINT)] * 5},
        {"get_custom_model_deployment": deployment(status="Creating")},
    )
    sleeps: list[float] = []
    answer = app.handle_on_event(event("Create"), client, now=lambda: NOW, sleep=sleeps.append)
    assert answer == {"PhysicalResourceId": ARN, "Wait": "Active"}
    assert [op for op, _ in client.calls] == ["create_custom_model_deployment"] * 5 + [
        "get_custom_model_deployment"
    ]
    assert all(params == create_params() for _, params in client.calls[:5])
    assert client.calls[5][1] == {"customModelDeploymentIdentifier": NAME}
    assert len(sleeps) == 4


def test_a_create_that_could_not_connect_and_made_nothing_fails_clearly(app):
    client = Flaky(
        {
            "create_custom_model_deployment": [EndpointConnectionError(endpoint_url=ENDPOINT)] * 5,
            "get_custom_model_deployment": [EndpointConnectionError(endpoint_url=ENDPOINT)] * 5,
        },
        {},
    )
    with pytest.raises(app.DeploymentError) as raised:
        app.handle_on_event(event("Create"), client, now=lambda: NOW, sleep=lambda _: None)
    assert str(raised.value).startswith(
        f"creating custom model deployment {NAME} of {MODEL_ARN} failed after 5 attempts "
        "(EndpointConnectionError: Could not connect to the endpoint URL"
    )
    assert "must be deleted by hand" in str(raised.value)


@pytest.mark.parametrize("wait", ["Active", "Deleted"])
def test_a_poll_that_cannot_connect_polls_again(app, wait):
    client = Flaky(
        {"get_custom_model_deployment": [ReadTimeoutError(endpoint_url=ENDPOINT)] * 5}, {}
    )
    request_type = "Create" if wait == "Active" else "Delete"
    request = {**event(request_type), "PhysicalResourceId": ARN, "Wait": wait}
    assert app.handle_is_complete(request, client, sleep=lambda _: None) == {"IsComplete": False}


def test_a_delete_that_cannot_connect_is_asked_again_by_is_complete(app):
    client = Flaky(
        {"delete_custom_model_deployment": [ReadTimeoutError(endpoint_url=ENDPOINT)] * 5}, {}
    )
    answer = app.handle_on_event(event("Delete", physical_id=ARN), client, sleep=lambda _: None)
    assert answer == {"PhysicalResourceId": ARN, "Wait": "Deleted"}


# ---------------------------------------------------------------- long messages


def test_a_failure_message_of_maximum_length_keeps_the_response_under_4096_bytes(app, bedrock):
    client, stub = bedrock
    stub.add_response("create_custom_model_deployment", {"customModelDeploymentArn": ARN})
    stub.add_response(
        "get_custom_model_deployment", deployment(status="Failed", failure="x\n" * 1024)
    )
    outcome = run_provider(app, event("Create"), client)
    assert (outcome.status, outcome.physical_id) == ("FAILED", ARN)
    assert outcome.reason.endswith("...(truncated)") and "\n" not in outcome.reason
    assert outcome.response_bytes(event("Create")) < 4096


def test_a_foreign_deployment_with_the_longest_arns_keeps_the_reason_short(app, bedrock):
    client, stub = bedrock
    long_model = MODEL_ARN.replace("amazon.nova-micro-v1", "a" * 63 + "." + "b" * 63)
    stub.add_client_error("create_custom_model_deployment", "ConflictException", "m" * 2048, 409)
    stub.add_response(
        "get_custom_model_deployment",
        deployment(model_arn=long_model, created=NOW - dt.timedelta(days=9)),
    )
    outcome = run_provider(app, event("Create", DeploymentName="a" * 54), client)
    assert (outcome.status, outcome.physical_id) == ("FAILED", CREATE_FAILED_MARKER)
    assert len(outcome.reason.encode()) <= 1000
    assert outcome.response_bytes(event("Create")) < 4096


# ---------------------------------------------------------------- Lambda entry points


def lambda_context(request_id: str = "req-1") -> SimpleNamespace:
    return SimpleNamespace(
        function_name="on-event",
        memory_limit_in_mb=256,
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:222222222222:function:on-event",
        aws_request_id=request_id,
    )


def test_entry_points_log_through_powertools_without_the_response_url(app, bedrock, monkeypatch):
    client, stub = bedrock
    monkeypatch.setattr(app, "_client", client)
    written = io.StringIO()
    monkeypatch.setattr(app.logger.registered_handler, "stream", written)
    stub.add_client_error("create_custom_model_deployment", "InternalServerException", "x", 500)
    stub.add_response("create_custom_model_deployment", {"customModelDeploymentArn": ARN})
    stub.add_response("get_custom_model_deployment", deployment())
    # (the default is bound when the function is defined: patching time.sleep is too late)
    monkeypatch.setitem(app.handle_on_event.__kwdefaults__, "sleep", lambda _: None)
    answer = app.on_event(event("Create"), lambda_context())
    assert answer == {"PhysicalResourceId": ARN, "Wait": "Active"}
    done = app.is_complete({**event("Create"), **answer}, lambda_context())
    assert done == {"IsComplete": True, "Data": {"DeploymentArn": ARN}}
    lines = [json.loads(line) for line in written.getvalue().splitlines() if line]
    creating = [line for line in lines if line["message"] == "creating custom model deployment"]
    assert creating and creating[0]["deployment_name"] == NAME
    assert any(line["message"] == "retrying Bedrock call" for line in lines)
    assert all("X-Amz-Signature" not in json.dumps(line) for line in lines)
    assert {line["function_request_id"] for line in lines} == {"req-1"}


def test_an_entry_point_refuses_a_bad_event_as_its_own_error(app, bedrock, monkeypatch):
    monkeypatch.setattr(app, "_client", bedrock[0])
    with pytest.raises(app.DeploymentError, match="invalid request: RequestType must be"):
        app.on_event({"RequestType": "Import"}, lambda_context())
    with pytest.raises(app.DeploymentError, match="invalid request: expected a CloudFormation"):
        app.is_complete("not an event", lambda_context())


def test_the_client_makes_no_retries_of_its_own(app, monkeypatch):
    monkeypatch.setattr(app, "_client", None)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    client = app.bedrock_client()
    assert app.bedrock_client() is client
    config = client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert (config.connect_timeout, config.read_timeout) == (5, 20)
    assert client.meta.service_model.service_name == "bedrock"
