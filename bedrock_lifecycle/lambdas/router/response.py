"""Check what Bedrock answered: a response that is not a well-formed Converse or Titan
embeddings answer is a server error (the version is broken), never a success."""

from __future__ import annotations

import json
import math
from typing import Any

# No answer counts this many tokens; a larger count is garbage, not a big bill.
MAX_TOKEN_COUNT = 10**9


class InvalidResponse(Exception):
    """Bedrock's answer is not what the API promises; says what is wrong with it."""


def _tokens(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKEN_COUNT:
        raise InvalidResponse(f"{where} must be a whole number from 0 to {MAX_TOKEN_COUNT}")
    return value


def converse_usage(response: Any) -> tuple[int, int, str | None]:
    """``(input tokens, output tokens, stop reason)`` of a well-formed Converse answer."""
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
        or not all(
            not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x)
            for x in embedding
        )
    ):
        raise InvalidResponse("embedding must be a non-empty list of finite numbers")
    return embedding, _tokens(payload.get("inputTextTokenCount"), "inputTextTokenCount")
