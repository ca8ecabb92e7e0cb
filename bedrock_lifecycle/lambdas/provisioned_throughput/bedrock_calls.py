"""Bedrock calls: retried by the shared policy, and their AWS errors worded as ThroughputError."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import contract
from answers import ThroughputError
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

# The asset's one logger; app.py's entry points add the Lambda context to it.
logger = Logger()

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], None]

# What a Bedrock call raises when AWS answers with an error or cannot be reached.
AWS_ERRORS: tuple[type[Exception], ...] = (
    ClientError,
    *(getattr(botocore.exceptions, name) for name in sorted(contract.TRANSPORT_ERROR_NAMES)),
)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware (UTC)."""
    return dt.datetime.now(dt.UTC)


def aws_message(error: BaseException) -> str:
    """``Code: message`` of an AWS error, as Bedrock worded it."""
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'Unknown')}: {err.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"


def call_bedrock(
    operation: Callable[..., dict],
    sleep: Sleep,
    *,
    retried: list[BaseException] | None = None,
    **params: Any,
) -> dict:
    """``operation(**params)``, retried by ``contract.RETRY_POLICY`` while retryable.

    :param retried: collects the error of each failed attempt that was retried.
    """

    def log_retry(attempt: int, error: BaseException) -> None:
        logger.warning(
            "retrying Bedrock call",
            operation=getattr(operation, "__name__", str(operation)),
            attempt=attempt,
            error=aws_message(error),
        )
        if retried is not None:
            retried.append(error)

    return contract.call_with_retries(
        operation,
        sleep=sleep,
        policy=contract.RETRY_POLICY,
        retryable=contract.is_retryable,
        on_retry=log_retry,
        **params,
    )


@contextmanager
def failing_with(
    message: Callable[[str], str], *, cause: BaseException | None = None
) -> Iterator[None]:
    """Turn an AWS error in the block into ``ThroughputError(message(aws_message(error)))``.

    :param cause: the exception it is raised from. Default: the AWS error.
    """
    try:
        yield
    except AWS_ERRORS as error:
        raise ThroughputError(message(aws_message(error))) from (
            cause if cause is not None else error
        )


@dataclass(frozen=True)
class Bedrock:
    """The Bedrock control-plane client of one invocation, with the clock and sleep it uses."""

    client: Any
    now: Clock = utcnow
    sleep: Sleep = time.sleep

    def call(
        self, operation: str, *, retried: list[BaseException] | None = None, **params: Any
    ) -> dict:
        """The client's ``operation`` by ``call_bedrock``."""
        return call_bedrock(getattr(self.client, operation), self.sleep, retried=retried, **params)

    def describe(self, identifier: str) -> dict | None:
        """GetProvisionedModelThroughput by ARN or name; None when it does not exist."""
        try:
            return self.call("get_provisioned_model_throughput", provisionedModelId=identifier)
        except ClientError as error:
            if contract.error_code(error) == "ResourceNotFoundException":
                return None
            raise

    def describe_polled(self, arn: str, failure: Callable[[str], str]) -> tuple[bool, dict | None]:
        """``(True, describe(arn))``, or ``(False, None)`` when Bedrock did not answer for
        throttling or a fault of its own (poll again). Other AWS errors raise
        ``ThroughputError(failure(aws_message(error)))``."""
        try:
            return True, self.describe(arn)
        except AWS_ERRORS as error:
            if contract.is_retryable(error):
                return False, None
            raise ThroughputError(failure(aws_message(error))) from error
