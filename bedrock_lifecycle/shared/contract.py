"""The contract between the CDK side and the Lambda functions, written once.

The constructs import it as ``bedrock_lifecycle.shared.contract``; every Lambda
asset is staged at synth with a copy of this file beside its own modules, where
the functions import it as ``contract``. It imports nothing but the standard
library, so that both sides can.

It holds what a mismatch would break silently: environment-variable names,
metric namespaces, names and dimensions, the inference-override keys, the name
patterns that the constructs check at synth and the handlers check again at
deploy, which AWS error codes are throttling, and the one retry policy of the
handlers' own AWS calls.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

# -- the router ---------------------------------------------------------------------------

ROUTER_CONFIG_ENV = "ROUTER_CONFIG"
ROUTER_NAMESPACE = "BedrockLifecycle/Router"
# The dimension set of every router metric, and the alias-wide one (no Version).
ROUTER_DIMENSIONS = ("Environment", "Family", "Alias", "Version")
ALIAS_WIDE_DIMENSIONS = ("Environment", "Family", "Alias")
# Metric name -> (CloudWatch unit, the statistic alarms read by default).
ROUTER_METRICS: Mapping[str, tuple[str, str]] = {
    "Invocations": ("Count", "Sum"),
    "ClientErrors": ("Count", "Sum"),
    "ServerErrors": ("Count", "Sum"),
    "Throttles": ("Count", "Sum"),
    "Latency": ("Milliseconds", "Average"),
    "InputTokens": ("Count", "Sum"),
    "OutputTokens": ("Count", "Sum"),
}
# Published a second time with ALIAS_WIDE_DIMENSIONS (the alias-wide rollout alarm).
ALIAS_WIDE_METRICS = ("Invocations", "ServerErrors", "Throttles")
# lifecycle.yaml's override names -> Converse inferenceConfig keys.
OVERRIDE_KEYS: Mapping[str, str] = {
    "max_tokens": "maxTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "stop_sequences": "stopSequences",
}
# Bedrock's pattern of requestMetadata values (RequestMetadataValueString); ``fullmatch``.
# re.ASCII: \s is the six ASCII white-space characters, as in Bedrock's (Java) pattern.
METADATA_VALUE = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,\-.]{0,256}", re.ASCII)

# -- the rollout hooks ----------------------------------------------------------------------

ROLLOUT_SETTINGS_ENV = "ROLLOUT_SETTINGS"
ROLLOUTS_NAMESPACE = "BedrockLifecycle/Rollouts"
# The gate's pass rate (Percent), per ROUTER_DIMENSIONS: the version it evaluated.
GATE_PASS_RATE = "EvaluationPassRate"  # noqa: S105 (a metric name)

# -- the continuous evaluation ----------------------------------------------------------------

CONTINUOUS_SETTINGS_ENV = "CONTINUOUS_SETTINGS"
CONTINUOUS_FUNCTIONS_ENV = "ROUTER_FUNCTIONS"  # JSON {"family/alias": router function name}
EVALUATION_NAMESPACE = "BedrockLifecycle/Evaluation"
CONTINUOUS_PASS_RATE = "ContinuousPassRate"  # noqa: S105 (a metric name)
CONTINUOUS_LATENCY = "ContinuousLatency"
CONTINUOUS_PROMPTS = "ContinuousPrompts"
# Name -> (unit, statistic read), per ALIAS_WIDE_DIMENSIONS and per ROUTER_DIMENSIONS.
CONTINUOUS_METRICS: Mapping[str, tuple[str, str]] = {
    CONTINUOUS_PASS_RATE: ("Percent", "Minimum"),
    CONTINUOUS_LATENCY: ("Milliseconds", "p50"),
    CONTINUOUS_PROMPTS: ("Count", "Sum"),
}
LIVE_ALIAS = "live"  # the Lambda alias callers invoke, and the continuous evaluation
CONTINUOUS_RECORD = "bedrock-lifecycle.continuous-evaluation.report"

# -- the lifecycle watcher --------------------------------------------------------------------

WATCHER_CONFIG_ENV = "WATCHER_CONFIG"
WATCHER_NAMESPACE = "BedrockLifecycle/ModelLifecycle"
# The dimension set of every watcher metric: one series per foundation model of an
# environment, however many aliases run on it (the alarms and the log name the aliases).
WATCHER_DIMENSIONS = ("Environment", "ModelId")
WATCHER_IS_LEGACY = "IsLegacy"
WATCHER_DAYS_UNTIL_END_OF_LIFE = "DaysUntilEndOfLife"
# Metric name -> (CloudWatch unit, the statistic alarms read).
WATCHER_METRICS: Mapping[str, tuple[str, str]] = {
    WATCHER_IS_LEGACY: ("Count", "Maximum"),
    WATCHER_DAYS_UNTIL_END_OF_LIFE: ("Count", "Minimum"),
}

# -- provisioned throughput -------------------------------------------------------------------
# Bedrock's own patterns (botocore's service model); use them with ``fullmatch``.

PROVISIONED_MODEL_NAME_MAX = 63
PROVISIONED_MODEL_NAME = re.compile(r"([0-9a-zA-Z][_-]?)+")
_FM_ID = r"[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2}"
FOUNDATION_MODEL_ID = re.compile(_FM_ID)
FOUNDATION_MODEL_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]{1,20}::foundation-model/" + _FM_ID
)
CUSTOM_MODEL_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/"
    r"((imported)|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}))(([:][a-z0-9-]{1,63}){0,2})?/[a-z0-9]{12}"
)
PROVISIONED_MODEL_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:provisioned-model/[a-z0-9]{12}"
)
# Tag keys (1-128) and values (0-256) of Bedrock resources. Bedrock's pattern is
# ``[a-zA-Z0-9\s._:/=+@-]*``; this one is narrower on purpose: ASCII only and the space
# as the one whitespace (a newline or a tab in a tag is a mistake, never a wish).
TAG_TEXT = re.compile(r"[a-zA-Z0-9 ._:/=+@-]*")
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
MAX_TAGS = 200
# The prefix AWS keeps for its own tag keys (compared case-insensitively).
RESERVED_TAG_PREFIX = "aws:"
TAG_CHARACTERS = "ASCII letters, digits, spaces and ._:/=+@-"


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to at most ``limit`` characters (default 80) with ``...``.

    Every message that quotes a received value uses it, so that a 3,000-character id
    cannot make a message (or a CloudFormation answer) too long.
    """
    text = repr(value)
    return text if len(text) <= limit else text[: max(limit - 3, 0)] + "..."


def tag_errors(key: str, value: str) -> list[str]:
    """Every problem of one tag ``key = value``, as one-line messages; ``[]`` when valid.

    The one tag check of the package (configuration, constructs and handlers call it).
    A key is 1-128 characters, a value 0-256, both of ``TAG_CHARACTERS`` (no newline, no
    tab, nothing outside ASCII); a key must not start with ``aws:`` in any case. A value
    that is not a string is refused, not converted.
    """
    problems: list[str] = []
    if not isinstance(key, str):
        return [f"tag keys must be strings, got {shown(key)}"]
    if not 1 <= len(key) <= TAG_KEY_MAX:
        problems.append(
            f"tag keys must be 1-{TAG_KEY_MAX} characters, got {len(key)}: {shown(key)}"
        )
    if not TAG_TEXT.fullmatch(key):
        problems.append(f"tag keys must be {TAG_CHARACTERS} only, got {shown(key)}")
    if key.lower().startswith(RESERVED_TAG_PREFIX):
        problems.append(
            f"tag keys must not start with {RESERVED_TAG_PREFIX} (AWS keeps it), got {shown(key)}"
        )
    if not isinstance(value, str):
        problems.append(f"tag values must be strings, got {shown(value)} for {shown(key)}")
        return problems
    if len(value) > TAG_VALUE_MAX:
        problems.append(
            f"tag values must be at most {TAG_VALUE_MAX} characters, got {len(value)} "
            f"for {shown(key)}"
        )
    if not TAG_TEXT.fullmatch(value):
        problems.append(
            f"tag values must be {TAG_CHARACTERS} only, got {shown(value)} for {shown(key)}"
        )
    return problems


# What the throughput handler says when it refuses to replace a committed throughput,
# and what `bedrock-lifecycle plan` predicts in the same words (name: the ARN at deploy,
# the throughput's name in the plan; expiry: a date at deploy, unknown to the plan).
THROUGHPUT_REPLACEMENT_REFUSAL = (
    "refusing to replace committed provisioned throughput {name} ({reasons}): its "
    "{commitment} term runs until {expiry}, it cannot be deleted before then and keeps "
    "billing beside the new one; revert the change, or set allow_replacement: true on this "
    "throughput in lifecycle.yaml to buy the new one anyway"
)

# lifecycle.yaml's commitments -> Bedrock's commitmentDuration ("None": hourly).
COMMITMENT_DURATIONS: Mapping[str, str] = {
    "none": "None",
    "one_month": "OneMonth",
    "six_months": "SixMonths",
}

# -- AWS errors and retries -------------------------------------------------------------------

# Error codes AWS services answer when they throttle (Bedrock uses both).
THROTTLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException"})
# Error codes of a fault on the service's side, worth another attempt.
SERVER_FAULT_CODES = frozenset(
    {
        "InternalServerException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# botocore's transport failures, by class name (this module imports no botocore).
TRANSPORT_ERROR_NAMES = frozenset(
    {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
    }
)


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError``, else the exception's class name."""
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        return str((response.get("Error") or {}).get("Code", "Unknown"))
    return type(error).__name__


def http_status(error: BaseException) -> int:
    """The HTTP status of a botocore ``ClientError``; 0 for anything else."""
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode", 0)
        return status if isinstance(status, int) else 0
    return 0


def is_throttle(error: BaseException) -> bool:
    """Whether ``error`` is AWS throttling (by code, or HTTP 429)."""
    return error_code(error) in THROTTLE_CODES or http_status(error) == 429


def is_retryable(error: BaseException) -> bool:
    """Throttling, a server-side fault (5xx) or a transport failure: worth another attempt."""
    if any(cls.__name__ in TRANSPORT_ERROR_NAMES for cls in type(error).__mro__):
        return True
    return (
        is_throttle(error) or error_code(error) in SERVER_FAULT_CODES or http_status(error) >= 500
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How a handler retries its own AWS calls: ``attempts`` in all, jittered exponential
    backoff from ``base_seconds`` doubling up to ``cap_seconds``."""

    attempts: int
    base_seconds: float
    cap_seconds: float

    def delay(self, attempt: int) -> float:
        """The longest wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1))

    @property
    def worst_case_wait_seconds(self) -> float:
        """All the waiting a call can do before its last attempt."""
        return sum(self.delay(a) for a in range(1, self.attempts))


# botocore's own retries, for a client whose calls go through call_with_retries: none
# more (``botocore.config.Config(retries=BOTOCORE_SINGLE_ATTEMPT)``), or the attempts multiply.
BOTOCORE_SINGLE_ATTEMPT: Mapping[str, Any] = {"mode": "standard", "total_max_attempts": 1}

# Every handler's own AWS calls: 5 attempts, 0.5 s doubling to at most 8 s, jittered
# (7.5 s of waiting at most, far inside any handler's timeout).
RETRY_POLICY = RetryPolicy(attempts=5, base_seconds=0.5, cap_seconds=8.0)

T = TypeVar("T")


def call_with_retries(
    operation: Callable[..., T],
    *,
    sleep: Callable[[float], None] = time.sleep,
    policy: RetryPolicy = RETRY_POLICY,
    retryable: Callable[[BaseException], bool] = is_retryable,
    on_retry: Callable[[int, BaseException], None] | None = None,
    **params: Any,
) -> T:
    """``operation(**params)``, retried by ``policy`` while ``retryable(error)``.

    The last error is raised as it is: the caller words the failure.

    :param on_retry: told ``(attempt, error)`` before each wait. Default: nothing.
    """
    attempt = 1
    while True:
        try:
            return operation(**params)
        except Exception as error:
            if attempt >= policy.attempts or not retryable(error):
                raise
            if on_retry is not None:
                on_retry(attempt, error)
            delay = policy.delay(attempt)
            sleep(random.uniform(delay / 2, delay))  # noqa: S311 (jitter, not crypto)
            attempt += 1


# -- the front door of every CloudFormation custom-resource handler --------------------------
# What CloudFormation (and the provider framework, which passes its event on) sends; a
# handler checks the event's shape with ``cfn_request`` before anything else.

CFN_REQUEST_TYPES = ("Create", "Update", "Delete")
# Properties CloudFormation adds to every custom resource's ResourceProperties.
CFN_FRAMEWORK_PROPERTIES = ("ServiceToken",)
# CloudFormation refuses a response body over 4,096 bytes; a handler's failure message is
# cut to this many UTF-8 bytes, which leaves room for the ids and the framework's log line.
MAX_REASON_BYTES = 1000
_TRUNCATED = " ...(truncated)"
# Explicit ASCII classes: Python's \d, \w and \s match far more than ASCII.
_VISIBLE_ASCII = r"[\x21-\x7e]"
CFN_REQUEST_ID = re.compile(_VISIBLE_ASCII + r"{1,256}")
CFN_STACK_ID = re.compile(
    r"arn:aws(-[a-z]+)*:cloudformation:[a-z0-9-]{1,32}:[0-9]{12}:stack/[A-Za-z][A-Za-z0-9-]{0,127}"
    r"/[A-Za-z0-9-]{1,128}"
)
CFN_LOGICAL_ID = re.compile(r"[A-Za-z0-9]{1,255}")
CFN_RESPONSE_URL = re.compile(r"https://" + _VISIBLE_ASCII + r"{1,8192}")
CFN_RESOURCE_TYPE = re.compile(r"Custom::[A-Za-z0-9_@-]{1,60}|AWS::CloudFormation::CustomResource")
# CloudFormation keeps physical ids of at most 1 KB.
CFN_PHYSICAL_ID = re.compile(_VISIBLE_ASCII + r"{1,1024}")


class CfnRequestError(ValueError):
    """The event is not a CloudFormation request this handler can act on (one line)."""


@dataclass(frozen=True)
class CfnRequest:
    """A checked CloudFormation custom-resource request.

    ``properties`` and ``old_properties`` exclude ``ServiceToken``; ``physical_id`` is
    None on a Create, ``old_properties`` None unless an Update.
    """

    request_type: str
    request_id: str
    stack_id: str
    logical_id: str
    physical_id: str | None
    properties: Mapping[str, Any]
    old_properties: Mapping[str, Any] | None


def cfn_reason(message: str, limit: int = MAX_REASON_BYTES) -> str:
    """``message`` on one line and at most ``limit`` UTF-8 bytes (default 1,000), marked when
    cut; never cut inside a character."""
    line = " ".join(str(message).split())
    data = line.encode("utf-8")
    if len(data) <= limit:
        return line
    keep = data[: max(limit - len(_TRUNCATED), 0)].decode("utf-8", errors="ignore")
    return keep + _TRUNCATED


def _field(event: Mapping[str, Any], name: str, pattern: re.Pattern[str], allowed: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        got = "nothing" if name not in event else shown(value)
        raise CfnRequestError(f"{name} must be {allowed}, got {got}")
    return value


def _properties(event: Mapping[str, Any], name: str) -> dict[str, Any]:
    raw = event.get(name, {})
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise CfnRequestError(f"{name} must be an object of named properties, got {shown(raw)}")
    return {k: v for k, v in raw.items() if k not in CFN_FRAMEWORK_PROPERTIES}


def unknown_properties_error(
    properties: Mapping[str, Any], allowed: tuple[str, ...], where: str = "ResourceProperties"
) -> str | None:
    """The message refusing properties outside ``allowed`` (and ServiceToken), or None."""
    unknown = sorted(set(properties) - set(allowed) - set(CFN_FRAMEWORK_PROPERTIES), key=str)
    if not unknown:
        return None
    return (
        f"{where} has unknown properties {', '.join(shown(k, 40) for k in unknown[:10])}"
        f"{f' and {len(unknown) - 10} more' if len(unknown) > 10 else ''} "
        f"(allowed: {', '.join(allowed)})"
    )


def cfn_request(
    event: object,
    *,
    allowed_properties: tuple[str, ...],
    require_old_properties: bool = True,
) -> CfnRequest:
    """Check the shape of a CloudFormation custom-resource event before anything else.

    The front door of every custom-resource handler: the event must be an object with
    ``RequestType`` Create, Update or Delete, ``RequestId``, ``StackId``,
    ``LogicalResourceId`` and an https ``ResponseURL``, all ASCII without spaces or line
    breaks; ``PhysicalResourceId`` (at most 1,024 characters) on Update and Delete;
    ``ResourceProperties`` an object (absent: none), ``OldResourceProperties`` one on
    Update. On Create and Update a property outside ``allowed_properties`` (and
    ``ServiceToken``) is refused; a Delete tolerates them, so that a stack can always
    be deleted.

    :param require_old_properties: whether an Update must carry ``OldResourceProperties``.
        Default: True (False for a provider's ``is_complete``, which need not read them).
    :raises CfnRequestError: one line naming the field, the value and what is allowed.
    """
    if not isinstance(event, Mapping):
        raise CfnRequestError(
            f"expected a CloudFormation custom-resource event (an object), got {shown(event)}"
        )
    request = event.get("RequestType")
    if request not in CFN_REQUEST_TYPES:
        raise CfnRequestError(
            f"RequestType must be Create, Update or Delete, got {shown(request)}"
            if "RequestType" in event
            else "RequestType must be Create, Update or Delete, got nothing"
        )
    request_id = _field(event, "RequestId", CFN_REQUEST_ID, "1-256 ASCII characters")
    stack_id = _field(event, "StackId", CFN_STACK_ID, "a CloudFormation stack ARN")
    logical_id = _field(
        event, "LogicalResourceId", CFN_LOGICAL_ID, "1-255 ASCII letters and digits"
    )
    _field(event, "ResponseURL", CFN_RESPONSE_URL, "an https URL of ASCII characters")
    if "ResourceType" in event:
        _field(event, "ResourceType", CFN_RESOURCE_TYPE, "Custom::<name>")
    physical_id: str | None = None
    if request != "Create" or "PhysicalResourceId" in event:
        physical_id = _field(
            event, "PhysicalResourceId", CFN_PHYSICAL_ID, "1-1024 ASCII characters without spaces"
        )
    properties = _properties(event, "ResourceProperties")
    old: dict[str, Any] | None = None
    if request == "Update" and (require_old_properties or "OldResourceProperties" in event):
        if "OldResourceProperties" not in event:
            raise CfnRequestError("OldResourceProperties must be an object on Update, got nothing")
        old = _properties(event, "OldResourceProperties")
    if request != "Delete":
        refused = unknown_properties_error(properties, allowed_properties)
        if refused is not None:
            raise CfnRequestError(refused)
    return CfnRequest(
        request_type=str(request),
        request_id=request_id,
        stack_id=stack_id,
        logical_id=logical_id,
        physical_id=physical_id,
        properties=properties,
        old_properties=old,
    )
