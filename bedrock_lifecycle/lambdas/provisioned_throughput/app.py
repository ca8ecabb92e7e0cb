"""Custom resource ``Custom::BedrockProvisionedThroughput``: the provider framework's handlers.

``on_event`` starts a Create, Update or Delete (create.py, update.py, delete.py) and
``is_complete`` polls Bedrock until it is done. The physical id is the provisioned
model ARN. This asset imports nothing from the CDK package.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from answers import ThroughputError
from bedrock_calls import Bedrock, Clock, Sleep, logger, utcnow
from botocore.config import Config
from create import create_throughput, wait_in_service
from delete import delete_throughput, wait_deleted
from properties import parse_properties
from update import update_throughput

RESOURCE_TYPE = "Custom::BedrockProvisionedThroughput"

_client: Any = None


def handle_on_event(
    event: Mapping[str, Any], client: Any, *, now: Clock = utcnow, sleep: Sleep = time.sleep
) -> dict[str, Any]:
    """Start a Create, Update or Delete; is_complete finishes it."""
    request = event.get("RequestType")
    bedrock = Bedrock(client, now, sleep)
    if request == "Create":
        props = parse_properties(event.get("ResourceProperties"))
        return create_throughput(event, props, props.name, bedrock)
    if request == "Update":
        return update_throughput(event, bedrock)
    if request == "Delete":
        return delete_throughput(event, bedrock)
    raise ThroughputError(f"unknown RequestType {request!r}, expected Create, Update or Delete")


def handle_is_complete(
    event: Mapping[str, Any], client: Any, *, now: Clock = utcnow, sleep: Sleep = time.sleep
) -> dict[str, Any]:
    """Poll Bedrock until on_event's change is done. ``Data`` only when complete."""
    wait = event.get("Wait")
    if wait is None:
        return {"IsComplete": True}
    bedrock = Bedrock(client, now, sleep)
    if wait == "Deleted":
        return wait_deleted(str(event.get("PhysicalResourceId")), bedrock)
    if wait != "InService":
        raise ThroughputError(f"unknown Wait {wait!r} from on_event")
    return wait_in_service(event, bedrock)


def client_config() -> Config:
    """botocore settings: no retries of its own (``call_bedrock`` retries), short timeouts."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=20,
    )


def bedrock_client() -> Any:
    """One control-plane client per container."""
    global _client
    if _client is None:
        import boto3

        _client = boto3.client("bedrock", config=client_config())
    return _client


def loggable_fields(event: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an event worth logging; never ResponseURL, a presigned URL that answers
    for the stack."""
    return {
        k: event.get(k)
        for k in ("RequestType", "LogicalResourceId", "PhysicalResourceId", "RequestId", "Wait")
    }


@logger.inject_lambda_context
def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Provider framework ``onEvent`` handler."""
    logger.info("on_event", **loggable_fields(event))
    return handle_on_event(event, bedrock_client())


@logger.inject_lambda_context
def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Provider framework ``isComplete`` handler."""
    logger.info("is_complete", **loggable_fields(event))
    return handle_is_complete(event, bedrock_client())
