"""What arrived on the wire for one call: whether Bedrock answered at all, and whether the
body was as long as its ``Content-Length`` said (botocore does not check a non-streaming one)."""

from __future__ import annotations

import json
from typing import Any

from response import InvalidResponse, check_shape

EVENT = "before-parse.bedrock-runtime"


class AnswerWatch:
    """Registered on a botocore client's ``before-parse`` event; reset before each call.

    botocore's parsers assume a well-formed body: a JSON array where an object
    belongs, a union with two members, JSON nested a thousand levels deep make them
    raise ``AttributeError``, ``TypeError`` or ``RecursionError``. Such an error after
    an answer arrived is the answer's fault, not the router's: :meth:`blame` turns
    it into :class:`InvalidResponse`.
    """

    def __init__(self) -> None:
        self.answers = 0
        self.problem: str | None = None
        self.meta: dict[str, Any] = {}

    def register(self, client: Any) -> bool:
        """Watch ``client``; False if it has no botocore events (a test fake) to watch."""
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is None:
            return False
        events.register(EVENT, self._answered, unique_id=f"router-watch-{id(self)}")
        return True

    def reset(self) -> None:
        """Before a call: nothing arrived yet."""
        self.answers = 0
        self.problem = None
        self.meta = {}

    def _answered(
        self, response_dict: dict[str, Any], operation_model: Any = None, **_: Any
    ) -> None:
        # One per attempt: the last attempt's answer is the one the call returns.
        self.answers += 1
        headers = response_dict.get("headers") or {}
        self.meta = {
            "RequestId": headers.get("x-amzn-requestid"),
            "HTTPStatusCode": response_dict.get("status_code"),
            "RetryAttempts": self.answers - 1,
        }
        self.problem = None
        body = response_dict.get("body")
        if not isinstance(body, bytes):
            return  # streamed: InvokeModel's StreamingBody checks its own length
        length = headers.get("content-length")
        if length is not None:  # else the body ended when the connection closed
            try:
                expected = int(length)
            except ValueError:
                self.problem = f"Content-Length {length[:40]!r} is not a number"
                return
            if expected != len(body):
                self.problem = f"the body has {len(body)} bytes but Content-Length says {expected}"
                return
        if operation_model is not None and 200 <= (response_dict.get("status_code") or 0) < 300:
            self.problem = _raw_problem(body, operation_model.output_shape)

    def check(self, meta: Any) -> None:
        """After a call that returned: refuse an answer whose framing was wrong."""
        if self.problem is not None:
            raise InvalidResponse(self.problem, meta if isinstance(meta, dict) else self.meta)

    def blame(self, exc: Exception) -> Exception:
        """``exc`` raised by the client: an InvalidResponse if an answer had arrived."""
        if self.answers == 0:
            return exc
        message = self.problem or f"botocore could not read Bedrock's answer ({type(exc).__name__})"
        return InvalidResponse(message, self.meta)


def _raw_problem(body: bytes, shape: Any) -> str | None:
    """What is wrong with a success body as it arrived (None: nothing)."""
    try:
        value = json.loads(body) if body else {}
    except (ValueError, RecursionError):
        return "the answer's body is not JSON"
    try:
        check_shape(value, shape, raw=True)
    except InvalidResponse as problem:
        return str(problem)
    return None
