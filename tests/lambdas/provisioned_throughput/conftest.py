"""Load the provisioned throughput handler (its asset root is zipped alone) and simulate
the provider framework around it, so that each test sees what CloudFormation would see."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from tests.support.lambda_assets import load_asset_module, stubbed_clients

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
ACCOUNT = "222222222222"
REGION = "us-east-1"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/BedrockLifecycle-prod/0a1b2c3d-4e5f"
ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/abcdefgh1234"
NEW_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/zyxwvuts9876"
FM_ID = "amazon.nova-pro-v1:0:300k"
FM_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/{FM_ID}"
CUSTOM_ARN = (
    f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-pro-v1:0:300k/a1b2c3d4e5f6"
)
CUSTOM_ARN_2 = (
    f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-pro-v1:0:300k/f6e5d4c3b2a1"
)
NAME = "acme-genai-prod-assistant"
# What the framework answers for a failed Create (the Delete that follows is ignored).
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"


@pytest.fixture(scope="session")
def app() -> ModuleType:
    return load_asset_module("provisioned_throughput")


@pytest.fixture(scope="session")
def calls() -> ModuleType:
    """bedrock_calls.py: the Bedrock calls, their retries and the contract they retry by."""
    return load_asset_module("provisioned_throughput", "bedrock_calls")


@pytest.fixture(scope="session")
def create_module() -> ModuleType:
    return load_asset_module("provisioned_throughput", "create")


@pytest.fixture(scope="session")
def update_module() -> ModuleType:
    return load_asset_module("provisioned_throughput", "update")


@pytest.fixture
def bedrock():
    """A real botocore ``bedrock`` client behind a Stubber: wrong wire names fail."""
    with stubbed_clients("bedrock", region=REGION) as [(client, stub)]:
        yield client, stub


def props(**overrides: Any) -> dict[str, Any]:
    """Resource properties as the provider framework sends them: all strings."""
    base: dict[str, Any] = {
        "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:framework-onEvent",
        "ProvisionedModelName": NAME,
        "ModelId": FM_ID,
        "ModelUnits": "1",
        "CommitmentDuration": "None",
        "AllowReplacement": "false",
        "Tags": [
            {"Key": "bedrock-lifecycle:environment", "Value": "prod"},
            {"Key": "bedrock-lifecycle:family", "Value": "assistant"},
        ],
    }
    base.update(overrides)
    return base


def event(
    request: str,
    *,
    physical_id: str | None = None,
    old: dict | None = None,
    request_id: str = "5f0e8a4c-0d3b-4c5e-9f1a-2b3c4d5e6f70",
    **prop_overrides: Any,
) -> dict:
    out: dict[str, Any] = {
        "RequestType": request,
        "ServiceToken": "token",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/presigned?X-Amz-Signature=secret",
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "Throughputsassistant83CE52FD",
        "ResourceType": "Custom::BedrockProvisionedThroughput",
        "ResourceProperties": props(**prop_overrides),
    }
    if physical_id is not None:
        out["PhysicalResourceId"] = physical_id
    if old is not None:
        out["OldResourceProperties"] = old
    return out


def description(
    arn: str = ARN,
    *,
    status: str = "InService",
    model_arn: str = FM_ARN,
    desired_model_arn: str | None = None,
    name: str = NAME,
    units: int = 1,
    commitment: str | None = None,
    expires: dt.datetime | None = None,
    created: dt.datetime | None = None,
    failure: str | None = None,
) -> dict:
    """A GetProvisionedModelThroughput response (botocore checks its shape)."""
    out: dict[str, Any] = {
        "modelUnits": units,
        "desiredModelUnits": units,
        "provisionedModelName": name,
        "provisionedModelArn": arn,
        "modelArn": model_arn,
        "desiredModelArn": desired_model_arn if desired_model_arn is not None else model_arn,
        "foundationModelArn": FM_ARN,
        "status": status,
        "creationTime": created if created is not None else NOW - dt.timedelta(days=3),
        "lastModifiedTime": NOW - dt.timedelta(days=1),
    }
    if commitment is not None:
        out["commitmentDuration"] = commitment
    if expires is not None:
        out["commitmentExpirationTime"] = expires
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
        """Size of the response body the framework PUTs to CloudFormation."""
        body = {
            "Status": self.status,
            "Reason": self.reason + "\n\nLogs: /aws/lambda/provisioned-throughput-OnEvent\n",
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
    except app.ThroughputError as error:
        physical = request.get("PhysicalResourceId") or CREATE_FAILED_MARKER
        return Outcome("FAILED", physical, str(error), sleeps=sleeps)
    json.dumps(answer)  # the framework serialises it
    assert set(answer) <= {"PhysicalResourceId", "Data", "Wait", "DesiredModel"}
    if request["RequestType"] == "Delete":
        assert answer["PhysicalResourceId"] == request["PhysicalResourceId"]
    merged = {**request, **answer}
    data = dict(answer.get("Data", {}))
    for poll in range(1, max_polls + 1):
        try:
            done = app.handle_is_complete(merged, client, now=clock, sleep=sleeps.append)
        except app.ThroughputError as error:
            return Outcome(
                "FAILED", merged["PhysicalResourceId"], str(error), data, poll, sleeps, answer
            )
        assert set(done) <= {"IsComplete", "Data"}
        if done["IsComplete"]:
            data.update(done.get("Data", {}))
            return Outcome("SUCCESS", merged["PhysicalResourceId"], "", data, poll, sleeps, answer)
        assert not done.get("Data"), "the framework refuses Data when IsComplete is false"
    return Outcome("TIMEOUT", merged["PhysicalResourceId"], "", data, max_polls, sleeps, answer)
