"""Every expected failure of a request, classified by one table: what the caller is told,
which metric counts it and what the audit record says."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import contract
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from limits import RequestTooLarge
from output import call_fields
from request import RequestError
from response import InvalidResponse

CLIENT = "ClientError"
SERVER = "ServerError"
# Bedrock errors that are the caller's to fix. Everything else that Bedrock
# returns (AccessDenied, ResourceNotFound at end of life, model errors, 5xx) is
# a fault of the version or the service: a server error, which the rollout
# alarms count, so a broken new version rolls back.
CALLER_FAULT_CODES = frozenset({"ValidationException"})
# The audit outcome of each error metric.
OUTCOMES: Mapping[str, str] = {
    "ClientErrors": "client_error",
    "ServerErrors": "server_error",
    "Throttles": "throttled",
}

Match = Callable[[BaseException], bool]


def raised(*types: type[BaseException]) -> Match:
    """Matches an instance of any of ``types``."""
    return lambda exc: isinstance(exc, types)


def answered(test: Callable[[BaseException], bool]) -> Match:
    """Matches an error response of Bedrock (a botocore ``ClientError``) that passes ``test``."""
    return lambda exc: isinstance(exc, ClientError) and test(exc)


def _throttled(exc: BaseException) -> bool:
    # By code only: ModelNotReadyException also answers HTTP 429, and is a server error.
    return contract.error_code(exc) in contract.THROTTLE_CODES


def _caller_fault(exc: BaseException) -> bool:
    return contract.error_code(exc) in CALLER_FAULT_CODES


def _service_retryable(exc: BaseException) -> bool:
    status = contract.http_status(exc)
    return status >= 500 or status == 429


@dataclass(frozen=True)
class Rule:
    """One row: failures that ``matches`` are answered, counted and audited alike."""

    matches: Match
    kind: str  # the answer's error type: ClientError or ServerError
    metric: str  # the one metric counted
    retryable: bool
    code: str | None  # None: the error's own (the AWS error code, else its class name)
    called: bool = True  # Bedrock was called: Latency is recorded


_TIMEOUTS = (ReadTimeoutError, ConnectTimeoutError)
_UNREACHABLE = (EndpointConnectionError, ConnectionClosedError)
INVALID = "InvalidRequest"

INTERNAL = "InternalError"

# First match wins; the last row takes anything else (a bug), so every request is answered.
RULES: tuple[Rule, ...] = (
    # Over the ceiling (limits.py): RequestTooLarge or RequestTooDeep.
    Rule(raised(RequestTooLarge), CLIENT, "ClientErrors", False, None, called=False),
    Rule(raised(RequestError), CLIENT, "ClientErrors", False, INVALID, called=False),
    # botocore checks the request against Bedrock's model before sending it.
    Rule(raised(ParamValidationError), CLIENT, "ClientErrors", False, INVALID, called=False),
    Rule(answered(_throttled), SERVER, "Throttles", True, None),
    Rule(answered(_caller_fault), CLIENT, "ClientErrors", False, None),
    Rule(answered(_service_retryable), SERVER, "ServerErrors", True, None),
    Rule(raised(ClientError), SERVER, "ServerErrors", False, None),
    Rule(raised(*_TIMEOUTS), SERVER, "ServerErrors", True, "Timeout"),
    Rule(raised(*_UNREACHABLE), SERVER, "ServerErrors", True, "ConnectionError"),
    Rule(raised(BotoCoreError), SERVER, "ServerErrors", False, None),
    # Bedrock answered 200 with something that is no Converse or Titan answer.
    Rule(raised(InvalidResponse), SERVER, "ServerErrors", False, "InvalidResponse"),
    Rule(raised(Exception), SERVER, "ServerErrors", False, INTERNAL, called=False),
)


@dataclass(frozen=True)
class Failure:
    """One classified failure: the structured error, its metric and its audit fields."""

    kind: str
    metric: str
    retryable: bool
    code: str
    message: str
    call: Mapping[str, Any]  # the audit fields of Bedrock's error response, if any
    field: str | None = None
    called: bool = True

    def answer(self) -> dict[str, Any]:
        """The ``error`` object of the response."""
        error: dict[str, Any] = {"type": self.kind, "code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        error["retryable"] = self.retryable
        return error

    def audit(self) -> dict[str, Any]:
        """The fields it adds to the audit record."""
        return {**self.call, "outcome": OUTCOMES[self.metric], "error_code": self.code}


# An error message of Bedrock (or of a broken answer) is passed on at most this long.
MAX_MESSAGE_CHARACTERS = 1000


def classify(exc: Exception) -> Failure:
    """The failure ``exc`` is, by the first rule of ``RULES`` it matches."""
    rule = next(r for r in RULES if r.matches(exc))
    meta: Mapping[str, Any] | None = None
    if isinstance(exc, ClientError):
        meta = exc.response.get("ResponseMetadata", {})
    elif isinstance(exc, InvalidResponse):
        meta = exc.meta
    message = _message(exc)
    if len(message) > MAX_MESSAGE_CHARACTERS:
        message = message[: MAX_MESSAGE_CHARACTERS - 1] + "…"
    return Failure(
        kind=rule.kind,
        metric=rule.metric,
        retryable=rule.retryable,
        code=rule.code or _code(exc),
        message=message,
        call=call_fields(meta) if meta is not None else {},
        field=exc.field if isinstance(exc, RequestError) else None,
        called=rule.called,
    )


def _code(exc: BaseException) -> str:
    if isinstance(exc, RequestTooLarge):
        return exc.code
    # An error answer without a usable error type (no x-amzn-ErrorType header, or
    # garbage in it) is named by its HTTP status, as botocore names a missing one.
    code = contract.error_code(exc).strip()
    return code if code else f"HTTP{contract.http_status(exc)}"


def _message(exc: BaseException) -> str:
    if isinstance(exc, RequestError):
        return exc.message
    if not isinstance(exc, BotoCoreError | ClientError | InvalidResponse):
        return "the router failed; its log has the details"  # never a bug's internals
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", ""))
    return " ".join(str(exc).split())
