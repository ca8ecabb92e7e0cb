"""Check what Bedrock answered: a response that is not a well-formed Converse or Titan
embeddings answer is a server error (the version is broken), never a success."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

# No answer counts this many tokens; a larger count is garbage, not a big bill.
MAX_TOKEN_COUNT = 10**9
# Levels of an answer checked against the model (Converse answers need about 10);
# deeper is garbage, and every later step (the answer's JSON, its hash) stays far
# from Python's recursion limit.
MAX_ANSWER_DEPTH = 64
# The status both operations answer with (``responseCode`` in botocore's model):
# botocore takes any 2xx as success, the router only this one.
SUCCESS_STATUS = 200
_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# botocore's stand-in for a union member newer than its model (a content block
# type Bedrock added since): passed on, so a new Bedrock feature is no failure.
UNKNOWN_MEMBER = "SDK_UNKNOWN_MEMBER"


class InvalidResponse(Exception):
    """Bedrock's answer is not what the API promises; says what is wrong with it.

    :param meta: the call's ``ResponseMetadata`` (request id, retries), for the audit.
        Default: none known.
    """

    def __init__(self, message: str, meta: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.meta = meta if meta is not None else {}


def check_status(meta: Mapping[str, Any]) -> None:
    """A 2xx other than 200 is no answer the API promises."""
    status = meta.get("HTTPStatusCode", SUCCESS_STATUS)
    if status != SUCCESS_STATUS:
        raise InvalidResponse(f"Bedrock answered HTTP {status}, not {SUCCESS_STATUS}", meta)


def check_shape(
    value: Any, shape: Any, where: str = "answer", depth: int = 0, *, raw: bool = False
) -> None:
    """``value`` has the types and required members of ``shape``.

    Enum values are not checked (Bedrock adds stop reasons), nor is anything the
    model leaves open (documents: any JSON, at most ``MAX_ANSWER_DEPTH`` deep).

    :param raw: ``value`` is the JSON body as it arrived, before botocore parsed it.
        botocore coerces (``int(1.5)`` is 1, ``"7"`` becomes 7), so only the raw
        body shows a wrong type; blobs are base64 text there, and members newer
        than botocore's model are passed over. Default: as botocore parsed it.
    """
    if depth > MAX_ANSWER_DEPTH:
        raise InvalidResponse(f"{where} is nested more than {MAX_ANSWER_DEPTH} levels deep")
    kind = shape.type_name
    if getattr(shape, "is_document_type", False):
        _check_document(value, where, MAX_ANSWER_DEPTH - depth)
    elif kind == "structure":
        _check_structure(value, shape, where, depth, raw)
    elif kind == "list":
        if not isinstance(value, list):
            raise InvalidResponse(f"{where} must be a list, got {type(value).__name__}")
        for i, item in enumerate(value):
            check_shape(item, shape.member, f"{where}[{i}]", depth + 1, raw=raw)
    elif kind == "map":
        if not isinstance(value, dict):
            raise InvalidResponse(f"{where} must be an object, got {type(value).__name__}")
        for key, item in value.items():
            check_shape(key, shape.key, f"{where} key", depth + 1, raw=raw)
            check_shape(item, shape.value, f"{where}[{key!r}]", depth + 1, raw=raw)
    elif raw and kind == "blob":
        _check_scalar(value, "string", where)
    elif raw and kind == "timestamp":
        if not (isinstance(value, str) or _finite_number(value)):
            raise InvalidResponse(f"{where} must be a timestamp, got {type(value).__name__}")
    else:
        _check_scalar(value, kind, where)


def _check_structure(value: Any, shape: Any, where: str, depth: int, raw: bool) -> None:
    if not isinstance(value, dict):
        raise InvalidResponse(f"{where} must be an object, got {type(value).__name__}")
    missing = [name for name in shape.required_members if value.get(name) is None]
    if missing:
        raise InvalidResponse(f"{where} lacks {', '.join(missing)}")
    members = shape.members
    if shape.metadata.get("union") and len(value) != 1:
        raise InvalidResponse(f"{where} must hold exactly one of its members, got {len(value)}")
    for name, item in value.items():
        if name == UNKNOWN_MEMBER and shape.metadata.get("union"):
            continue
        member = members.get(name)
        if member is None:
            if raw or (name == "ResponseMetadata" and depth == 0):
                continue  # raw: newer than botocore's model, which drops it
            raise InvalidResponse(f"{where} has unknown member {name!r}")
        if item is not None:
            check_shape(item, member, f"{where}.{name}", depth + 1, raw=raw)


def _check_scalar(value: Any, kind: str, where: str) -> None:
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    elif kind in ("float", "double"):
        ok = _finite_number(value)
    elif kind == "blob":
        ok = isinstance(value, bytes | bytearray)
    elif kind == "timestamp":
        ok = isinstance(value, dt.datetime)
    else:
        ok = False
    if not ok:
        raise InvalidResponse(f"{where} must be a {kind}, got {type(value).__name__}")


def _finite_number(value: Any) -> bool:
    # A JSON integer may have thousands of digits: compared as an integer, never
    # turned into a float (OverflowError).
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= 2**1023
    return isinstance(value, float) and math.isfinite(value)


def _check_document(value: Any, where: str, levels: int) -> None:
    """Any JSON value (iteratively, so a deep one cannot exhaust the stack)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > levels:
            raise InvalidResponse(f"{where} is nested more than {MAX_ANSWER_DEPTH} levels deep")
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, float) and not math.isfinite(node):
            raise InvalidResponse(f"{where} holds {node}, which JSON cannot carry")


def _tokens(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKEN_COUNT:
        raise InvalidResponse(f"{where} must be a whole number from 0 to {MAX_TOKEN_COUNT}")
    return value


def converse_usage(response: Any, shape: Any = None) -> tuple[int, int, str | None]:
    """``(input tokens, output tokens, stop reason)`` of a well-formed Converse answer.

    :param shape: botocore's ``ConverseResponse`` shape; the whole answer is checked
        against it (:func:`check_shape`). Default: only what the router reads is checked.
    """
    if shape is not None:
        check_shape(response, shape)
    if not isinstance(response, dict):
        raise InvalidResponse(f"the answer must be an object, got {type(response).__name__}")
    message = (
        (response.get("output") or {}).get("message")
        if isinstance(response.get("output"), dict)
        else None
    )
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise InvalidResponse("the answer has no output.message.content list")
    usage = response.get("usage")
    if not isinstance(usage, dict):
        raise InvalidResponse("the answer has no usage object")
    stop = response.get("stopReason")
    if stop is not None and not isinstance(stop, str):
        raise InvalidResponse("stopReason must be a string")
    if "totalTokens" in usage:
        _tokens(usage["totalTokens"], "usage.totalTokens")
    return (
        _tokens(usage.get("inputTokens"), "usage.inputTokens"),
        _tokens(usage.get("outputTokens"), "usage.outputTokens"),
        stop,
    )


def embedding_answer(body: bytes) -> tuple[list[float], int]:
    """``(embedding, input token count)`` of a well-formed Titan text embeddings body."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidResponse("the answer's body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidResponse("the answer's body must be a JSON object")
    embedding = payload.get("embedding")
    if (
        not isinstance(embedding, list)
        or not embedding
        or not all(_finite_number(x) for x in embedding)
    ):
        raise InvalidResponse("embedding must be a non-empty list of finite numbers")
    return embedding, _tokens(payload.get("inputTextTokenCount"), "inputTextTokenCount")
