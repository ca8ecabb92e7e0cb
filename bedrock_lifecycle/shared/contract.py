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
METADATA_VALUE = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,\-.]{0,256}")

# -- the rollout hooks ----------------------------------------------------------------------

ROLLOUT_SETTINGS_ENV = "ROLLOUT_SETTINGS"
ROLLOUTS_NAMESPACE = "BedrockLifecycle/Rollouts"

# -- the lifecycle watcher --------------------------------------------------------------------

WATCHER_CONFIG_ENV = "WATCHER_CONFIG"
WATCHER_NAMESPACE = "BedrockLifecycle/ModelLifecycle"

# -- provisioned throughput -------------------------------------------------------------------
# Bedrock's own patterns (botocore's service model); use them with ``fullmatch``.

PROVISIONED_MODEL_NAME_MAX = 63
PROVISIONED_MODEL_NAME = re.compile(r"([0-9a-zA-Z][_-]?)+")
_FM_ID = r"[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2}"
FOUNDATION_MODEL_ID = re.compile(_FM_ID)
FOUNDATION_MODEL_ARN = re.compile(
    r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}::foundation-model/" + _FM_ID
)
CUSTOM_MODEL_ARN = re.compile(
    r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/"
    r"((imported)|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}))(([:][a-z0-9-]{1,63}){0,2})?/[a-z0-9]{12}"
)
PROVISIONED_MODEL_ARN = re.compile(
    r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:provisioned-model/[a-z0-9]{12}"
)
# Tag keys (1-128) and values (0-256) of Bedrock resources.
TAG_TEXT = re.compile(r"[a-zA-Z0-9\s._:/=+@-]*")
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
MAX_TAGS = 200
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
