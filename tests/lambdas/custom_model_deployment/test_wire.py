"""What the handler sends, checked against botocore's service model of Bedrock, and over
real HTTP against a Bedrock control-plane stand-in on 127.0.0.1.

The Stubber checks parameter names and types; the model also says each string's length
and pattern, which botocore does not check: every call the fault matrix makes is checked
here against all of it. The stand-in proves what the Stubber cannot: the handler's client
does no retries of its own, a retried create resends the same token, and the REST paths.
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import botocore.session
import pytest

from tests.lambdas.provisioned_throughput.test_wire import StandIn

from .conftest import ARN, MODEL_ARN, NAME, create_params, deployment, event, props, run_provider
from .test_fault_matrix import SCENARIOS, queue

MODEL = botocore.session.get_session().get_service_model("bedrock")
OPERATIONS = (
    "CreateCustomModelDeployment",
    "GetCustomModelDeployment",
    "DeleteCustomModelDeployment",
)


def problems(shape: Any, value: Any, where: str) -> list[str]:
    """Everything in ``value`` the input ``shape`` does not allow (names, required members,
    types, lengths, patterns, enums), recursively."""
    found: list[str] = []
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        for name in sorted(set(value) - set(shape.members)):
            found.append(f"{where}.{name}: no such member of {shape.name}")
        for name in shape.required_members:
            if name not in value:
                found.append(f"{where}.{name}: required by {shape.name}")
        for name, member in shape.members.items():
            if name in value:
                found += problems(member, value[name], f"{where}.{name}")
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            found.append(f"{where}: {len(value)} items, outside {meta}")
        for i, item in enumerate(value):
            found += problems(shape.member, item, f"{where}[{i}]")
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {value!r}"]
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            found.append(f"{where}: {len(value)} characters, outside {meta}")
        pattern = meta.get("pattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            found.append(f"{where}: {value!r} does not match {pattern}")
        if shape.enum and value not in shape.enum:
            found.append(f"{where}: {value!r} not in {shape.enum}")
    else:
        found.append(f"{where}: the handler sends no {kind}; check this test")
    return found


def recorded_calls(app, bedrock) -> list[tuple[str, dict]]:
    """Every call the handler makes across the whole fault matrix."""
    client, stub = bedrock
    calls: list[tuple[str, dict]] = []

    def record(model: Any, params: dict, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    client.meta.events.register("before-parameter-build.bedrock", record)
    for scenario in SCENARIOS:
        queue(stub, scenario.calls)
        run_provider(app, scenario.request, client)
        stub.assert_no_pending_responses()
    # the longest name, description and most tags the handler accepts
    longest = props(
        DeploymentName="a" * 54,
        Description="d" * 200,
        Tags=[{"Key": "bedrock-lifecycle:environment", "Value": "v" * 256}]
        + [{"Key": f"k{i:03d}" + "k" * 124, "Value": ""} for i in range(199)],
    )
    stub.add_response("create_custom_model_deployment", {"customModelDeploymentArn": ARN})
    app.handle_on_event(event("Create", **longest), client)
    return calls


def test_every_call_the_handler_makes_is_one_the_service_model_allows(app, bedrock):
    calls = recorded_calls(app, bedrock)
    assert {name for name, _ in calls} == set(OPERATIONS)
    found = []
    for operation, params in calls:
        shape = MODEL.operation_model(operation).input_shape
        found += problems(shape, params, operation)
    assert found == []
    longest = calls[-1][1]
    assert len(longest["modelDeploymentName"]) == 63 and len(longest["tags"]) == 200


def test_the_checker_catches_a_wrong_wire_name():
    shape = MODEL.operation_model("CreateCustomModelDeployment").input_shape
    wrong = {**create_params(), "deploymentName": NAME}
    del wrong["modelDeploymentName"]
    assert problems(shape, wrong, "Create") == [
        "Create.deploymentName: no such member of CreateCustomModelDeploymentRequest",
        "Create.modelDeploymentName: required by CreateCustomModelDeploymentRequest",
    ]
    assert problems(shape, {**create_params(), "modelDeploymentName": "a--b"}, "Create")


def test_the_handlers_limits_fit_the_service_model(app, deployments):
    create = MODEL.operation_model("CreateCustomModelDeployment").input_shape.members
    get = MODEL.operation_model("GetCustomModelDeployment")
    name = create["modelDeploymentName"].metadata
    assert deployments.NAME_PREFIX_MAX + len("-12345678") == name["max"]
    assert create["description"].metadata["max"] >= deployments.DESCRIPTION_MAX
    assert create["tags"].metadata["max"] >= app.contract.MAX_TAGS
    tag = create["tags"].member.members
    assert (tag["key"].metadata["max"], tag["value"].metadata["max"]) == (
        app.contract.TAG_KEY_MAX,
        app.contract.TAG_VALUE_MAX,
    )
    # The statuses is_complete knows are every status Bedrock has: a new one (say
    # Deleting) needs a decision in wait_active and wait_deleted.
    assert set(get.output_shape.members["status"].enum) == {"Creating", "Active", "Failed"}
    # The ARN Bedrock answers is one the handler deletes (not a no-op "not an ARN").
    arn_pattern = get.output_shape.members["customModelDeploymentArn"].metadata["pattern"]
    assert re.fullmatch(arn_pattern, ARN) and deployments.DEPLOYMENT_ARN.fullmatch(ARN)
    # A Delete of a deployment still Creating is refused as a Conflict: is_complete asks again.
    delete = MODEL.operation_model("DeleteCustomModelDeployment")
    assert "ConflictException" in {error.name for error in delete.error_shapes}
    identifier = delete.input_shape.members["customModelDeploymentIdentifier"].metadata
    assert re.fullmatch(identifier["pattern"], NAME) and re.fullmatch(identifier["pattern"], ARN)
    assert re.fullmatch(create["modelArn"].metadata["pattern"], MODEL_ARN)


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
def standin():
    server = StandIn()
    yield server
    server.server.shutdown()
    server.server.server_close()


def standin_client(app, standin: StandIn):
    host, port = standin.server.server_address
    return boto3.client(
        "bedrock",
        region_name="us-east-1",
        endpoint_url=f"http://{host}:{port}",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=app.CLIENT_CONFIG,
    )


def test_throttled_create_is_retried_by_the_handler_alone_with_the_same_token(app, standin):
    standin.error(429, "ThrottlingException", "Rate exceeded")
    standin.error(500, "InternalServerException", "Internal failure")
    standin.ok({"customModelDeploymentArn": ARN}, status=202)
    sleeps: list[float] = []
    answer = app.handle_on_event(event("Create"), standin_client(app, standin), sleep=sleeps.append)
    assert answer == {"PhysicalResourceId": ARN, "Wait": "Active"}
    assert len(sleeps) == 2, "botocore retried on its own: retries would multiply"
    assert [(m, p) for m, p, _ in standin.requests] == [
        ("POST", "/model-customization/custom-model-deployments")
    ] * 3
    bodies = [body for _, _, body in standin.requests]
    assert bodies[0] == bodies[1] == bodies[2] == create_params()


def test_a_refusal_is_not_retried_and_the_name_is_looked_up(app, standin):
    standin.error(400, "ServiceQuotaExceededException", "Too many deployments")
    standin.error(404, "ResourceNotFoundException", "No such deployment")
    with pytest.raises(app.DeploymentError, match="ServiceQuotaExceededException: Too many"):
        app.handle_on_event(event("Create"), standin_client(app, standin), sleep=pytest.fail)
    assert [(m, p) for m, p, _ in standin.requests] == [
        ("POST", "/model-customization/custom-model-deployments"),
        ("GET", f"/model-customization/custom-model-deployments/{NAME}"),
    ]


def test_poll_and_delete_paths(app, standin):
    standin.ok({})
    standin.ok(deployment())
    standin.ok({})
    standin.error(404, "ResourceNotFoundException", "No such deployment")
    outcome = run_provider(app, event("Delete", physical_id=ARN), standin_client(app, standin))
    assert (outcome.status, outcome.physical_id, outcome.polls) == ("SUCCESS", ARN, 2)
    path = f"/model-customization/custom-model-deployments/{ARN}"
    assert [(m, p) for m, p, _ in standin.requests] == [
        ("DELETE", path),
        ("GET", path),
        ("DELETE", path),
        ("GET", path),
    ]
