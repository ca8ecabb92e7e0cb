"""Custom resource ``Custom::BedrockCustomModelDeployment``: the provider framework's handlers.

``on_event`` creates (or, for any property change, replaces) and deletes an
on-demand deployment of a custom model; ``is_complete`` polls until it is
Active or gone. The physical id is the deployment ARN. Properties:
``DeploymentName`` (a prefix), ``ModelArn``, ``Description``, ``Tags``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import contract
from botocore.config import Config
from deployments import (
    DEPLOYMENT_ARN,
    PROPERTIES,
    Bedrock,
    Clock,
    DeploymentError,
    Sleep,
    answer,
    create,
    delete,
    logger,
    parse_properties,
    wait_active,
    wait_deleted,
)

RESOURCE_TYPE = "Custom::BedrockCustomModelDeployment"
WAITS = ("Active", "Deleted")
# What on_event asks is_complete to wait for, by request type.
WAIT_OF = {"Create": "Active", "Update": "Active", "Delete": "Deleted"}

# The handler retries each call itself (contract.call_with_retries): botocore must not.
CLIENT_CONFIG = Config(
    retries=dict(contract.BOTOCORE_SINGLE_ATTEMPT), connect_timeout=5, read_timeout=20
)

_client: Any = None


def utcnow() -> dt.datetime:
    """The current time, timezone-aware (UTC)."""
    return dt.datetime.now(dt.UTC)


def front_door(event: object, *, require_old_properties: bool = True) -> contract.CfnRequest:
    """``contract.cfn_request`` for this resource, failing as DeploymentError."""
    try:
        return contract.cfn_request(
            event, allowed_properties=PROPERTIES, require_old_properties=require_old_properties
        )
    except contract.CfnRequestError as error:
        raise DeploymentError(f"invalid request: {error}") from None


def handle_on_event(
    event: object, client: Any, *, now: Clock = utcnow, sleep: Sleep = time.sleep
) -> dict[str, Any]:
    """Create, replace or delete; is_complete finishes it. The event is checked first."""
    request = front_door(event)
    checked = cast(Mapping[str, Any], event)
    bedrock = Bedrock(client, now, sleep)
    if request.request_type == "Delete":
        return delete(str(request.physical_id), bedrock)
    props = parse_properties(request.properties)
    if request.request_type == "Update":
        old = request.old_properties or {}
        try:
            unchanged = parse_properties(old) == props
        except DeploymentError:
            unchanged = False  # whatever the old properties were, make the new one
        if unchanged:  # the same Data as the create's, or DeploymentArn would vanish
            arn = str(request.physical_id)
            return answer(
                arn, data={"DeploymentArn": arn} if DEPLOYMENT_ARN.fullmatch(arn) else None
            )
    return create(checked, props, bedrock)


def handle_is_complete(
    event: object, client: Any, *, now: Clock = utcnow, sleep: Sleep = time.sleep
) -> dict[str, Any]:
    """Poll until on_event's change is done. ``Data`` only when complete."""
    request = front_door(event, require_old_properties=False)
    if request.request_type != "Delete":
        parse_properties(request.properties)
    wait = cast(Mapping[str, Any], event).get("Wait")
    if wait is None:
        return {"IsComplete": True}
    if wait not in WAITS:
        raise DeploymentError(
            f"invalid request: Wait must be {' or '.join(WAITS)} (or absent), "
            f"got {contract.shown(wait)}"
        )
    if wait != WAIT_OF[request.request_type]:
        raise DeploymentError(
            f"invalid request: Wait {wait} is never asked on a {request.request_type} "
            f"(on_event asks {WAIT_OF[request.request_type]})"
        )
    arn = str(request.physical_id)
    if not DEPLOYMENT_ARN.fullmatch(arn):
        # on_event asks to wait only for a deployment it made or asked to delete
        raise DeploymentError(
            "invalid request: PhysicalResourceId must be a custom-model-deployment ARN to "
            f"wait for, got {contract.shown(request.physical_id)}"
        )
    bedrock = Bedrock(client, now, sleep)
    return wait_deleted(arn, bedrock) if wait == "Deleted" else wait_active(arn, bedrock)


def bedrock_client() -> Any:
    """One control-plane client per container: no retries of its own, short timeouts."""
    global _client
    if _client is None:
        import boto3

        _client = boto3.client("bedrock", config=CLIENT_CONFIG)
    return _client


def answered(handle: Callable[..., dict[str, Any]], event: object) -> dict[str, Any]:
    """``handle(event, client)``; every failure leaves as one DeploymentError, short."""
    try:
        return handle(event, bedrock_client())
    except DeploymentError as error:
        message = str(error)
    except Exception as error:  # a bug: the log has the traceback, CloudFormation a sentence
        logger.exception("unexpected error in the custom model deployment handler")
        message = (
            "the custom model deployment handler failed unexpectedly "
            f"({type(error).__name__}); its CloudWatch log has the details: retry the stack "
            "operation"
        )
    raise DeploymentError(message) from None


def _logged(event: object) -> dict[str, Any]:
    """The fields worth logging, never ResponseURL (a presigned URL)."""
    if not isinstance(event, Mapping):
        return {"event": contract.shown(event)}
    keys = ("RequestType", "LogicalResourceId", "PhysicalResourceId", "RequestId", "Wait")
    return {k: contract.shown(event.get(k), 200) for k in keys}


@logger.inject_lambda_context
def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Provider framework ``onEvent`` handler."""
    logger.info("on_event", **_logged(event))
    return answered(handle_on_event, event)


@logger.inject_lambda_context
def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Provider framework ``isComplete`` handler."""
    logger.info("is_complete", **_logged(event))
    return answered(handle_is_complete, event)
