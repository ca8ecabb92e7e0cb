"""Load the custom model deployment handler (its asset root is zipped alone) and simulate
the provider framework around it, so that each test sees what CloudFormation would see."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from tests.support.lambda_assets import load_asset_module, stubbed_clients

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
ACCOUNT = "222222222222"
REGION = "us-east-1"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/BedrockLifecycle-prod/0a1b2c3d-4e5f"
LOGICAL_ID = "CustomModelDeploymentsassistantv2Resource1A2B3C4D"
REQUEST_ID = "5f0e8a4c-0d3b-4c5e-9f1a-2b3c4d5e6f70"
ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/abcdefgh1234"
NEW_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/zyxwvuts9876"
FOREIGN_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/qqqqrrrr5555"
MODEL_ARN = (
    f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
)
MODEL_ARN_2 = (
    f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/f6e5d4c3b2a1"
)
PREFIX = "acme-assistant-v2"
DESCRIPTION = "Assistant v2, fine-tuned on support tickets"
TAGS = [
    {"Key": "bedrock-lifecycle:environment", "Value": "prod"},
    {"Key": "bedrock-lifecycle:family", "Value": "assistant"},
]
# What the framework answers for a failed Create (the Delete that follows is ignored).
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
ANSWER_KEYS = {"PhysicalResourceId", "Data", "Wait"}


@pytest.fixture(scope="session")
def app() -> ModuleType:
    return load_asset_module("custom_model_deployment")


@pytest.fixture(scope="session")
def deployments() -> ModuleType:
    """deployments.py: the Bedrock calls, the properties and the name."""
    return load_asset_module("custom_model_deployment", "deployments")


@pytest.fixture
def bedrock():
    """A real botocore ``bedrock`` client behind a Stubber: wrong wire names fail."""
    with stubbed_clients("bedrock", region=REGION) as [(client, stub)]:
        yield client, stub


def props(**overrides: Any) -> dict[str, Any]:
    """Resource properties as the provider framework sends them (``None`` drops one)."""
    base: dict[str, Any] = {
        "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:framework-onEvent",
        "DeploymentName": PREFIX,
        "ModelArn": MODEL_ARN,
        "Description": DESCRIPTION,
        "Tags": [dict(t) for t in TAGS],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def event(
    request: str,
    *,
    physical_id: str | None = None,
    old: dict | None = None,
    request_id: str = REQUEST_ID,
    **prop_overrides: Any,
) -> dict:
    out: dict[str, Any] = {
        "RequestType": request,
        "ServiceToken": "token",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/presigned?X-Amz-Signature=secret",
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": LOGICAL_ID,
        "ResourceType": "Custom::BedrockCustomModelDeployment",
        "ResourceProperties": props(**prop_overrides),
    }
    if physical_id is not None:
        out["PhysicalResourceId"] = physical_id
    if old is not None:
        out["OldResourceProperties"] = old
    return out


def expected_name(properties: Mapping[str, Any] | None = None) -> str:
    """The Bedrock name the handler must give ``properties`` (written out here, not
    imported: a change of the name is a change of every deployment's name)."""
    p = properties if properties is not None else props()
    tags = sorted([t["Key"], t["Value"]] for t in p.get("Tags", []))
    seed = json.dumps(
        [STACK_ID, LOGICAL_ID, p["DeploymentName"], p["ModelArn"], p.get("Description"), tags],
        sort_keys=True,
    )
    prefix = p["DeploymentName"]
    separator = "" if prefix.endswith(("-", "_")) else "-"
    return f"{prefix}{separator}{hashlib.sha256(seed.encode()).hexdigest()[:8]}"


NAME = expected_name()


def token(request_id: str = REQUEST_ID) -> str:
    seed = f"{STACK_ID}|{LOGICAL_ID}|{request_id}"
    return "cfn-" + hashlib.sha256(seed.encode()).hexdigest()[:60]


def create_params(properties: Mapping[str, Any] | None = None, request_id: str = REQUEST_ID):
    """The exact CreateCustomModelDeployment parameters for ``properties``."""
    p = properties if properties is not None else props()
    out: dict[str, Any] = {
        "modelDeploymentName": expected_name(p),
        "modelArn": p["ModelArn"],
        "clientRequestToken": token(request_id),
        "tags": [
            {"key": t["Key"], "value": t["Value"]}
            for t in sorted(p.get("Tags", []), key=lambda t: t["Key"])
        ],
    }
    if "Description" in p:
        out["description"] = p["Description"]
    return out


def deployment(
    arn: str = ARN,
    *,
    status: str = "Active",
    name: str = NAME,
    model_arn: str = MODEL_ARN,
    created: dt.datetime | None = None,
    failure: str | None = None,
) -> dict:
    """A GetCustomModelDeployment response (botocore checks its shape)."""
    out: dict[str, Any] = {
        "customModelDeploymentArn": arn,
        "modelDeploymentName": name,
        "modelArn": model_arn,
        "createdAt": created if created is not None else NOW - dt.timedelta(minutes=1),
        "status": status,
        "description": DESCRIPTION,
        "lastUpdatedAt": NOW,
    }
    if failure is not None:
        out["failureMessage"] = failure
    return out


@dataclass
class Outcome:
    """What the framework would send CloudFormation, and what happened on the way."""

    status: str  # SUCCESS | FAILED | TIMEOUT
    physical_id: str
    reason: str = ""
    data: dict[str, str] = field(default_factory=dict)
    polls: int = 0
    sleeps: list[float] = field(default_factory=list)
    on_event: dict[str, Any] = field(default_factory=dict)

    def response_bytes(self, request: dict) -> int:
        """Size of the response body the framework PUTs to CloudFormation (a timeout is
        sent as FAILED with the framework's own sentence)."""
        reason = self.reason or ("Operation timed out" if self.status == "TIMEOUT" else "")
        body = {
            "Status": "SUCCESS" if self.status == "SUCCESS" else "FAILED",
            "Reason": reason + "\n\nLogs: /aws/lambda/BedrockLifecycle-prod-Provider-OnEvent1A2\n",
            "StackId": request["StackId"],
            "RequestId": request["RequestId"],
            "PhysicalResourceId": self.physical_id,
            "LogicalResourceId": request["LogicalResourceId"],
            "Data": self.data,
        }
        return len(json.dumps(body).encode())


def run_provider(
    app: ModuleType, request: dict, client: Any, *, now: dt.datetime = NOW, max_polls: int = 10
) -> Outcome:
    """Run on_event then is_complete the way aws-cdk-lib's provider framework does."""
    sleeps: list[float] = []
    clock: Callable[[], dt.datetime] = lambda: now  # noqa: E731
    try:
        answer = app.handle_on_event(request, client, now=clock, sleep=sleeps.append)
    except app.DeploymentError as error:
        physical = request.get("PhysicalResourceId") or CREATE_FAILED_MARKER
        return Outcome("FAILED", physical, str(error), sleeps=sleeps)
    json.dumps(answer)  # the framework serialises it
    assert set(answer) <= ANSWER_KEYS, answer
    if request["RequestType"] == "Delete":
        assert answer["PhysicalResourceId"] == request["PhysicalResourceId"]
    merged = {**request, **answer}
    data = dict(answer.get("Data", {}))
    for poll in range(1, max_polls + 1):
        try:
            done = app.handle_is_complete(merged, client, now=clock, sleep=sleeps.append)
        except app.DeploymentError as error:
            return Outcome(
                "FAILED", merged["PhysicalResourceId"], str(error), data, poll, sleeps, answer
            )
        assert set(done) <= {"IsComplete", "Data"}, done
        if done["IsComplete"]:
            data.update(done.get("Data", {}))
            return Outcome("SUCCESS", merged["PhysicalResourceId"], "", data, poll, sleeps, answer)
        assert not done.get("Data"), "the framework refuses Data when IsComplete is false"
    return Outcome("TIMEOUT", merged["PhysicalResourceId"], "", data, max_polls, sleeps, answer)


class FakeBedrock:
    """Answers every call of a real botocore client (which still builds and validates the
    request) without a queue: for fuzzing, where which calls come is not known ahead."""

    ANSWERS: Mapping[str, dict[str, Any]] = {
        "CreateCustomModelDeployment": {"customModelDeploymentArn": NEW_ARN},
        "GetCustomModelDeployment": deployment(NEW_ARN),
        "DeleteCustomModelDeployment": {},
    }

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def respond(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://bedrock.example", 200, {}, None), dict(self.ANSWERS[model.name])


@contextmanager
def fake_bedrock(client: Any) -> Iterator[FakeBedrock]:
    """Make ``client`` answer every Bedrock call it is asked (see :class:`FakeBedrock`)."""
    fake = FakeBedrock()
    client.meta.events.register("before-parameter-build.bedrock", fake.record)
    client.meta.events.register_first("before-call.bedrock", fake.respond)
    try:
        yield fake
    finally:
        client.meta.events.unregister("before-parameter-build.bedrock", fake.record)
        client.meta.events.unregister("before-call.bedrock", fake.respond)
