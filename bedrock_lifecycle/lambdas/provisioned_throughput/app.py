"""Custom resource ``Custom::BedrockProvisionedThroughput``: the provider framework's handlers.

``on_event`` starts a Create, Update or Delete (create.py, update.py, delete.py) and
``is_complete`` polls Bedrock until it is done. The physical id is the provisioned
model ARN. This asset imports nothing from the CDK package.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import contract
from answers import ThroughputError
from bedrock_calls import Bedrock, Clock, Sleep, logger, utcnow
from botocore.config import Config
from create import create_throughput, wait_in_service
from delete import delete_throughput, wait_deleted
from properties import MODEL_ID_MAX, PROPERTIES, parse_properties
from update import update_throughput

RESOURCE_TYPE = "Custom::BedrockProvisionedThroughput"
# What on_event asks is_complete to wait for.
WAITS = ("InService", "Deleted")

_client: Any = None


def handle_on_event(
    event: object, client: Any, *, now: Clock = utcnow, sleep: Sleep = time.sleep
) -> dict[str, Any]:
    """Start a Create, Update or Delete; is_complete finishes it.

    The front door (``contract.cfn_request``) checks the event first: a malformed one
    fails with ``ThroughputError`` before any Bedrock call.
    """
    request = front_door(event)
    checked = cast(Mapping[str, Any], event)  # the front door checked it is a mapping
    bedrock = Bedrock(client, now, sleep)
    if request.request_type == "Create":
        props = parse_properties(request.properties)
        return create_throughput(checked, props, props.name, bedrock)
    if request.request_type == "Update":
        return update_throughput(checked, bedrock)
    return delete_throughput(checked, bedrock)


def handle_is_complete(
    event: object, client: Any, *, now: Clock = utcnow, sleep: Sleep = time.sleep
) -> dict[str, Any]:
    """Poll Bedrock until on_event's change is done. ``Data`` only when complete."""
    request = front_door(event, require_old_properties=False)
    if request.request_type != "Delete":
        parse_properties(request.properties)  # what on_event accepted, checked again
    checked = cast(Mapping[str, Any], event)
    wait = checked.get("Wait")
    if wait is None:
        return {"IsComplete": True}
    if wait not in WAITS:
        raise ThroughputError(
            f"Wait must be {' or '.join(WAITS)} (or absent), got {contract.shown(wait)}"
        )
    desired = checked.get("DesiredModel")
    if desired is not None and not (isinstance(desired, str) and len(desired) <= MODEL_ID_MAX):
        raise ThroughputError(
            f"DesiredModel must be a model id of at most {MODEL_ID_MAX} characters, "
            f"got {contract.shown(desired)}"
        )
    bedrock = Bedrock(client, now, sleep)
    if wait == "Deleted":
        return wait_deleted(str(checked.get("PhysicalResourceId")), bedrock)
    return wait_in_service(checked, bedrock)


def front_door(event: object, *, require_old_properties: bool = True) -> contract.CfnRequest:
    """``contract.cfn_request`` for this resource's properties, failing as ThroughputError."""
    try:
        request = contract.cfn_request(
            event,
            allowed_properties=PROPERTIES,
            require_old_properties=require_old_properties,
        )
    except contract.CfnRequestError as error:
        raise ThroughputError(f"invalid request: {error}") from None
    return request


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


def loggable_fields(event: object) -> dict[str, Any]:
    """The fields of an event worth logging, each cut short; never ResponseURL, a presigned
    URL that answers for the stack."""
    if not isinstance(event, Mapping):
        return {"event": contract.shown(event)}
    return {
        k: contract.shown(event.get(k), 200)
        for k in ("RequestType", "LogicalResourceId", "PhysicalResourceId", "RequestId", "Wait")
    }


def answered(handle: Callable[..., dict[str, Any]], event: object) -> dict[str, Any]:
    """``handle(event, client)``; every failure leaves as one ThroughputError raised here.

    Raised afresh at this frame so that the framework's Reason (the message plus the
    stack trace) stays short; an unexpected exception is logged with its traceback and
    answered with the handler's own message, never a bare ``KeyError('RequestId')``.
    """
    try:
        return handle(event, bedrock_client())
    except ThroughputError as error:
        message = str(error)
    except Exception as error:  # a bug: the log has the traceback, CloudFormation a sentence
        logger.exception("unexpected error in the provisioned throughput handler")
        message = (
            f"the provisioned throughput handler failed unexpectedly ({type(error).__name__}); "
            "its CloudWatch log has the details: retry the stack operation"
        )
    raise ThroughputError(message) from None


@logger.inject_lambda_context
def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Provider framework ``onEvent`` handler."""
    logger.info("on_event", **loggable_fields(event))
    return answered(handle_on_event, event)


@logger.inject_lambda_context
def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Provider framework ``isComplete`` handler."""
    logger.info("is_complete", **loggable_fields(event))
    return answered(handle_is_complete, event)
