"""Custom::BedrockInvocationLogging: Bedrock's account-wide model invocation logging.

Bedrock has no CloudFormation resource for it: ``PutModelInvocationLoggingConfiguration``
sets it (one setting per account and region) and
``DeleteModelInvocationLoggingConfiguration`` removes it. This is the on_event
handler of a ``custom_resources.Provider``. Put and Delete are synchronous, so
there is no is_complete step.

- Create: refuses to take over a configuration somebody else set (it would
  silently redirect their logs); otherwise puts ours.
- Update: puts the new configuration (same physical id: no replacement).
- Delete: removes the configuration if it is still ours, then checks that none is
  left; a configuration somebody else set since is left alone.

Resource properties (all strings, as CloudFormation sends them):
``BucketName``, ``KeyPrefix``, ``LogGroupName``, ``RoleArn``,
``LargeDataKeyPrefix``, ``TextDataDelivery`` ("true" | "false").

Throttling and server faults are retried by the handlers' one policy
(``contract.RETRY_POLICY``); every other error fails with what to fix.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import contract
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

logger = Logger()  # Powertools: the layer of every LifecycleFunction

RESOURCE_TYPE = "Custom::BedrockInvocationLogging"
PHYSICAL_ID_PREFIX = "bedrock-invocation-logging"

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]{0,256}$")
_LOG_GROUP = re.compile(r"^[A-Za-z0-9_./#-]{1,512}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_BOOLEANS = {"true": True, "false": False}


class InvalidRequest(ValueError):
    """The request cannot be acted on; the message says what to fix."""


def physical_id(region: str) -> str:
    """One id per region: the setting is a singleton there, never replaced."""
    return f"{PHYSICAL_ID_PREFIX}-{region}"


def logging_config(props: Mapping[str, Any]) -> dict[str, Any]:
    """The ``loggingConfig`` to put, from validated resource properties.

    :raises InvalidRequest: naming the property, the value received and what is allowed.
    """

    def field(name: str, pattern: re.Pattern[str], allowed: str) -> str:
        value = props.get(name)
        if not isinstance(value, str) or not pattern.match(value):
            raise InvalidRequest(f"{name} must be {allowed}, got {value!r}")
        return value

    bucket = field("BucketName", _BUCKET, "an S3 bucket name")
    prefix = field("KeyPrefix", _PREFIX, "an S3 key prefix")
    log_group = field("LogGroupName", _LOG_GROUP, "a CloudWatch Logs log group name")
    role_arn = field("RoleArn", _ROLE_ARN, "an IAM role ARN")
    large_prefix = field("LargeDataKeyPrefix", _PREFIX, "an S3 key prefix")
    text = props.get("TextDataDelivery")
    if text not in _BOOLEANS:
        raise InvalidRequest(f"TextDataDelivery must be 'true' or 'false', got {text!r}")
    return {
        "s3Config": {"bucketName": bucket, "keyPrefix": prefix},
        "cloudWatchConfig": {
            "logGroupName": log_group,
            "roleArn": role_arn,
            "largeDataDeliveryS3Config": {"bucketName": bucket, "keyPrefix": large_prefix},
        },
        # Metadata (model, token counts, requestMetadata with alias and version) is
        # always logged; prompt and answer text only when the environment opts in.
        "textDataDeliveryEnabled": _BOOLEANS[text],
        "imageDataDeliveryEnabled": False,
        "embeddingDataDeliveryEnabled": False,
        "videoDataDeliveryEnabled": False,
        "audioDataDeliveryEnabled": False,
    }


def _call(fn: Callable[..., Any], sleep: Callable[[float], None], what: str, **kwargs: Any) -> Any:
    """``fn(**kwargs)`` under the handlers' one retry policy; fail with a clear message."""
    try:
        return contract.call_with_retries(fn, sleep=sleep, **kwargs)
    except ClientError as exc:
        raise RuntimeError(_failure(what, exc)) from None


def _failure(what: str, exc: ClientError) -> str:
    """What went wrong, and what to do about it."""
    code = contract.error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    if contract.is_throttle(exc):
        return (
            f"{what}: Bedrock kept throttling after {contract.RETRY_POLICY.attempts} attempts "
            f"({message}); retry the deployment"
        )
    if code == "AccessDeniedException":
        return (
            f"{what}: access denied ({message}); the handler role needs "
            "bedrock:*ModelInvocationLoggingConfiguration and iam:PassRole on the "
            "delivery role"
        )
    if code == "ValidationException":
        return (
            f"{what}: Bedrock refused the configuration: {message} (check the bucket "
            "policy and the delivery role's trust and permissions)"
        )
    return f"{what}: {code}: {message}"


def _current(bedrock: Any, sleep: Callable[[float], None]) -> dict[str, Any] | None:
    response = _call(
        bedrock.get_model_invocation_logging_configuration, sleep, "reading the configuration"
    )
    config = response.get("loggingConfig")
    return config if config else None


def _is_ours(current: Mapping[str, Any], props: Mapping[str, Any]) -> bool:
    """The configuration delivers to our bucket or our log group."""
    bucket = (current.get("s3Config") or {}).get("bucketName")
    group = (current.get("cloudWatchConfig") or {}).get("logGroupName")
    return bucket == props.get("BucketName") or group == props.get("LogGroupName")


def on_event(
    event: Mapping[str, Any],
    bedrock: Any,
    *,
    region: str,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Handle one CloudFormation request; returns the provider framework's response."""
    request = event.get("RequestType")
    props = event.get("ResourceProperties") or {}
    if request not in ("Create", "Update", "Delete"):
        raise InvalidRequest(f"RequestType must be Create, Update or Delete, got {request!r}")
    our_id = physical_id(region)

    if request == "Delete":
        if event.get("PhysicalResourceId") != our_id:
            # A create that failed before it put anything: there is nothing to remove.
            logger.info("nothing to delete", extra={"physical_id": event.get("PhysicalResourceId")})
            return {"PhysicalResourceId": event.get("PhysicalResourceId")}
        current = _current(bedrock, sleep)
        if current is not None and not _is_ours(current, props):
            logger.warning("configuration now belongs to someone else; left in place")
            return {"PhysicalResourceId": our_id}
        if current is not None:
            _call(
                bedrock.delete_model_invocation_logging_configuration,
                sleep,
                "deleting the configuration",
            )
            if _current(bedrock, sleep) is not None:
                raise RuntimeError(
                    "deleting the configuration: Bedrock still reports one; delete it with "
                    "`aws bedrock delete-model-invocation-logging-configuration` and retry"
                )
        return {"PhysicalResourceId": our_id}

    config = logging_config(props)  # validate before any AWS call
    if request == "Create":
        current = _current(bedrock, sleep)
        if current is not None and not _is_ours(current, props):
            owner = (current.get("s3Config") or {}).get("bucketName") or (
                current.get("cloudWatchConfig") or {}
            ).get("logGroupName")
            raise RuntimeError(
                f"Bedrock invocation logging in {region} already delivers to {owner!r}, set "
                "outside this stack; remove it (aws bedrock "
                "delete-model-invocation-logging-configuration) or set "
                "audit.invocation_logging: false for this environment"
            )
    _call(
        bedrock.put_model_invocation_logging_configuration,
        sleep,
        "putting the configuration",
        loggingConfig=config,
    )
    logger.info("invocation logging configured", extra={"text": config["textDataDeliveryEnabled"]})
    return {"PhysicalResourceId": our_id, "Data": {"Region": region}}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (thin adapter)."""
    import os

    import boto3
    from botocore.config import Config

    region = os.environ["AWS_REGION"]
    bedrock = boto3.client("bedrock", config=Config(retries=dict(contract.BOTOCORE_SINGLE_ATTEMPT)))
    return on_event(event, bedrock, region=region)
