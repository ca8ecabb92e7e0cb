"""Custom::BedrockInvocationLogging: Bedrock's account-wide model invocation logging.

Bedrock has no CloudFormation resource for it: ``PutModelInvocationLoggingConfiguration``
sets it (one setting per account and region) and
``DeleteModelInvocationLoggingConfiguration`` removes it. This is the on_event
handler of a ``custom_resources.Provider``. Put and Delete are synchronous, so
there is no is_complete step.

Every event passes the front door first (``contract.cfn_request``): a malformed event
or an unknown property fails with ``InvalidRequest`` before any AWS call.

A configuration is *ours* when it delivers to the bucket and to the log group of the
resource's properties (``is_ours``, the one ownership test):

- Create: refuses to take over a configuration somebody else set (it would
  silently redirect their logs); otherwise puts ours.
- Update: reads the configuration first and puts the new one only if there is none,
  or it is ours by the old or the new properties; one somebody else set after our
  Create is refused exactly as Create refuses it (same physical id: no replacement).
- Delete: removes the configuration only if it is ours by the resource's properties
  (a Delete without them removes nothing), then checks that none is left; a
  configuration somebody else set since is left alone.

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
from botocore.exceptions import BotoCoreError, ClientError

logger = Logger()  # Powertools: the layer of every LifecycleFunction

RESOURCE_TYPE = "Custom::BedrockInvocationLogging"
PHYSICAL_ID_PREFIX = "bedrock-invocation-logging"

# Explicit ASCII classes, used with ``fullmatch`` (``$`` would let a final newline through,
# and Python's \d and \w match far more than ASCII).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]{0,256}")
_LOG_GROUP = re.compile(r"[A-Za-z0-9_./#-]{1,512}")
_ROLE_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}")
_BOOLEANS = {"true": True, "false": False}
PROPERTIES = (
    "BucketName",
    "KeyPrefix",
    "LogGroupName",
    "RoleArn",
    "LargeDataKeyPrefix",
    "TextDataDelivery",
)


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
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise InvalidRequest(f"{name} must be {allowed}, got {contract.shown(value)}")
        return value

    bucket = field("BucketName", _BUCKET, "an S3 bucket name")
    prefix = field("KeyPrefix", _PREFIX, "an S3 key prefix")
    log_group = field("LogGroupName", _LOG_GROUP, "a CloudWatch Logs log group name")
    role_arn = field("RoleArn", _ROLE_ARN, "an IAM role ARN")
    large_prefix = field("LargeDataKeyPrefix", _PREFIX, "an S3 key prefix")
    text = props.get("TextDataDelivery")
    if not isinstance(text, str) or text not in _BOOLEANS:
        raise InvalidRequest(
            f"TextDataDelivery must be 'true' or 'false', got {contract.shown(text)}"
        )
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
    except BotoCoreError as exc:  # could not reach Bedrock, after the retries
        raise RuntimeError(f"{what}: {type(exc).__name__}: {exc}; retry the deployment") from None


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


def is_ours(current: Mapping[str, Any], props: Mapping[str, Any] | None) -> bool:
    """Whether ``current`` is the configuration ``props`` write: the one ownership test.

    Ours means it delivers to the properties' bucket *and* to their log group (what
    this handler always writes both of). Properties without a bucket or a log group
    own nothing, so that a request without them never takes or removes a
    configuration.
    """
    if props is None:
        return False
    bucket, group = props.get("BucketName"), props.get("LogGroupName")
    if not (isinstance(bucket, str) and bucket and isinstance(group, str) and group):
        return False
    s3 = current.get("s3Config")
    cloudwatch = current.get("cloudWatchConfig")
    return (
        isinstance(s3, Mapping)
        and s3.get("bucketName") == bucket
        and isinstance(cloudwatch, Mapping)
        and cloudwatch.get("logGroupName") == group
    )


def owner(current: Mapping[str, Any]) -> str:
    """Where a configuration delivers, for messages: its bucket, else its log group."""
    s3 = current.get("s3Config")
    cloudwatch = current.get("cloudWatchConfig")
    bucket = s3.get("bucketName") if isinstance(s3, Mapping) else None
    group = cloudwatch.get("logGroupName") if isinstance(cloudwatch, Mapping) else None
    return contract.shown(bucket or group or "an unknown destination", 120)


def refuse_unless_ours(
    current: Mapping[str, Any] | None, region: str, *owners: Mapping[str, Any] | None
) -> None:
    """Fail unless there is no configuration or it is ours by one of ``owners``.

    Create and Update both call it: neither takes over a configuration set outside
    this stack (it would silently redirect somebody else's logs).
    """
    if current is None or any(is_ours(current, props) for props in owners):
        return
    raise RuntimeError(
        f"Bedrock invocation logging in {region} already delivers to {owner(current)}, set "
        "outside this stack; remove it (aws bedrock "
        "delete-model-invocation-logging-configuration) or set "
        "audit.invocation_logging: false for this environment"
    )


def front_door(event: object) -> contract.CfnRequest:
    """``contract.cfn_request`` for this resource's properties, failing as InvalidRequest."""
    try:
        return contract.cfn_request(event, allowed_properties=PROPERTIES)
    except contract.CfnRequestError as error:
        raise InvalidRequest(f"invalid request: {error}") from None


def on_event(
    event: object,
    bedrock: Any,
    *,
    region: str,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Handle one CloudFormation request; returns the provider framework's response."""
    request = front_door(event)
    props = request.properties
    our_id = physical_id(region)

    if request.request_type == "Delete":
        if request.physical_id != our_id:
            # A create that failed before it put anything: there is nothing to remove.
            logger.info("nothing to delete", extra={"physical_id": request.physical_id})
            return {"PhysicalResourceId": request.physical_id}
        current = _current(bedrock, sleep)
        if current is not None and not is_ours(current, props):
            logger.warning(
                "the configuration is not the one this stack wrote; left in place",
                extra={"delivers_to": owner(current)},
            )
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
    current = _current(bedrock, sleep)
    # Create: ours only by these properties. Update: by what the stack wrote before (the
    # old properties), or by the new ones (a rolled-back update sends them back).
    refuse_unless_ours(current, region, props, request.old_properties)
    _call(
        bedrock.put_model_invocation_logging_configuration,
        sleep,
        "putting the configuration",
        loggingConfig=config,
    )
    logger.info("invocation logging configured", extra={"text": config["textDataDeliveryEnabled"]})
    return {"PhysicalResourceId": our_id, "Data": {"Region": region}}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (thin adapter).

    Every failure leaves as one exception raised here, so that the provider framework's
    Reason (message plus stack trace) stays short; an unexpected one is logged with its
    traceback and answered with the handler's own message.
    """
    import os

    import boto3
    from botocore.config import Config

    try:
        region = os.environ["AWS_REGION"]
        bedrock = boto3.client(
            "bedrock", config=Config(retries=dict(contract.BOTOCORE_SINGLE_ATTEMPT))
        )
        return on_event(event, bedrock, region=region)
    except (InvalidRequest, RuntimeError) as error:
        failure: Exception = type(error)(contract.cfn_reason(str(error)))
    except Exception as error:  # a bug: the log has the traceback, CloudFormation a sentence
        logger.exception("unexpected error in the invocation logging handler")
        failure = RuntimeError(
            f"the invocation logging handler failed unexpectedly ({type(error).__name__}); "
            "its CloudWatch log has the details: retry the stack operation"
        )
    raise failure from None
