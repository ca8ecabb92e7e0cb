"""Check a caller's request and build the Bedrock call: Converse or Titan InvokeModel."""

from __future__ import annotations

import json
import math
import reprlib
from typing import Any

from blobs import CONVERSE_BLOBS, InvalidBlob, decoded
from config import RouterConfig

CHAT_FIELDS = ("messages", "system", "inferenceConfig")
EMBEDDING_FIELDS = ("inputText",)
ROLES = ("user", "assistant")
MAX_STOP_SEQUENCES = 2500  # botocore's model limit for stopSequences
MAX_EMBEDDING_CHARACTERS = 50000  # Titan Text Embeddings V2 input limit


class RequestError(Exception):
    """A malformed request: names the field; Bedrock is not called."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}")
        self.field = field_path
        self.message = message


def request_metadata(config: RouterConfig, request_id: str) -> dict[str, str]:
    """The ``requestMetadata`` of every call: alias, version, environment, request id."""
    return {
        "alias": config.qualified_alias,
        "version_id": config.version_id,
        "environment": config.environment,
        "request_id": request_id,
    }


def converse_params(config: RouterConfig, event: Any, request_id: str) -> dict[str, Any]:
    """``Converse`` parameters: the version's target and settings, merged with the caller's."""
    event = _decoded_blobs(_check_fields(event, CHAT_FIELDS))
    if "messages" not in event:
        raise RequestError("messages", "is required")
    messages = _check_messages(event["messages"])
    system: list[dict[str, Any]] = []
    if config.system is not None:
        system.append({"text": config.system})
    if "system" in event:
        system += _check_system(event["system"])
    inference = dict(config.inference)
    if "inferenceConfig" in event:
        inference.update(_check_overrides(event["inferenceConfig"], config.allowed_overrides))
    params: dict[str, Any] = {
        "modelId": config.model_id,
        "messages": messages,
        "requestMetadata": request_metadata(config, request_id),
    }
    if system:
        params["system"] = system
    if inference:
        params["inferenceConfig"] = inference
    if config.guardrail is not None:
        params["guardrailConfig"] = dict(config.guardrail)
    return params


def embedding_params(config: RouterConfig, event: Any, request_id: str) -> dict[str, Any]:
    """``InvokeModel`` parameters with the Titan text embeddings body."""
    event = _check_fields(event, EMBEDDING_FIELDS)
    text = event.get("inputText")
    if not isinstance(text, str) or not text:
        raise RequestError("inputText", "must be a non-empty string")
    if len(text) > MAX_EMBEDDING_CHARACTERS:
        raise RequestError(
            "inputText",
            f"must be at most {MAX_EMBEDDING_CHARACTERS} characters, got {len(text)}",
        )
    body = {"inputText": text, **config.embedding}
    params: dict[str, Any] = {
        "modelId": config.model_id,
        "body": json.dumps(body, separators=(",", ":")),
        "contentType": "application/json",
        "accept": "application/json",
        # InvokeModel takes the map as one string (the X-Amzn-Bedrock-Request-Metadata
        # header): the same keys as Converse, JSON-encoded.
        "requestMetadata": json.dumps(request_metadata(config, request_id), separators=(",", ":")),
    }
    if config.guardrail is not None:
        params.update(config.guardrail)
    return params


def _check_fields(event: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise RequestError("$", f"the request must be a JSON object, got {type(event).__name__}")
    for key in event:
        if key not in allowed:
            raise RequestError(key, f"unknown field; allowed: {', '.join(allowed)}")
    return event


def _show(value: Any) -> str:
    """A bounded rendering of a caller's value for a message (a 400-digit integer, a
    huge list: never its full text)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {len(hex(abs(value))) - 2} hex digits"
    return reprlib.repr(value)


def _number(value: Any, path: str, *, low: float, high: float) -> float:
    # Integers are compared as integers: a huge one never becomes a float (OverflowError).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestError(path, f"must be a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise RequestError(path, f"must be a finite number, got {value}")
    if not low <= value <= high:
        raise RequestError(path, f"must be between {low:g} and {high:g}, got {_show(value)}")
    return value


def _decoded_blobs(event: dict[str, Any]) -> dict[str, Any]:
    """The request with the base64 text of every blob member decoded to bytes.

    Every blob of botocore's Converse input is decoded (``blobs.CONVERSE_BLOBS``:
    image, document, video and audio sources, those inside ``toolResult`` and
    ``guardContent``, ``reasoningContent.redactedContent``): a JSON caller can only
    send base64, and botocore encodes bytes itself, so passing the text on would
    send it encoded twice. The request's fields have the names and shapes of
    Converse's own, so the paths are the caller's. ``event`` is not changed (the
    audit record keeps what the caller sent).
    """
    try:
        return decoded(event, CONVERSE_BLOBS)
    except InvalidBlob as exc:
        raise RequestError(exc.field, "must be base64 text") from None


def _check_blocks(blocks: list[Any], where: str) -> list[Any]:
    """Each block a non-empty object whose ``text``, if any, is a string."""
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not block:
            raise RequestError(f"{where}[{i}]", "must be a non-empty object")
        if "text" in block and not isinstance(block["text"], str):
            raise RequestError(f"{where}[{i}].text", "must be a string")
    return list(blocks)


def _check_messages(messages: Any) -> list[dict[str, Any]]:
    """The messages, checked."""
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages", "must be a non-empty list of {role, content} objects")
    out = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise RequestError(where, f"must be an object, got {type(message).__name__}")
        unknown = sorted(set(message) - {"role", "content"})
        if unknown:
            raise RequestError(f"{where}.{unknown[0]}", "unknown field; allowed: role, content")
        if message.get("role") not in ROLES:
            raise RequestError(
                f"{where}.role", f"must be user or assistant, got {message.get('role')!r}"
            )
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise RequestError(f"{where}.content", "must be a non-empty list of content blocks")
        out.append({"role": message["role"], "content": _check_blocks(content, f"{where}.content")})
    return out


def _check_system(system: Any) -> list[dict[str, Any]]:
    if not isinstance(system, list):
        raise RequestError("system", "must be a list of {text} blocks")
    return _check_blocks(system, "system")


def _check_overrides(overrides: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(overrides, dict):
        raise RequestError("inferenceConfig", "must be an object")
    for key in overrides:
        if key not in allowed:
            allowed_text = ", ".join(allowed) if allowed else "none"
            raise RequestError(
                f"inferenceConfig.{key}",
                f"this alias does not allow overriding it (allowed: {allowed_text})",
            )
    path = "inferenceConfig."
    if "maxTokens" in overrides:
        value = overrides["maxTokens"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise RequestError(path + "maxTokens", f"must be an integer, got {_show(value)}")
        _number(value, path + "maxTokens", low=1, high=200000)
    for key in ("temperature", "topP"):
        if key in overrides:
            _number(overrides[key], path + key, low=0, high=1)
    if "stopSequences" in overrides:
        value = overrides["stopSequences"]
        if (
            not isinstance(value, list)
            or len(value) > MAX_STOP_SEQUENCES
            or not all(isinstance(s, str) and s for s in value)
        ):
            raise RequestError(path + "stopSequences", "must be a list of non-empty strings")
    return overrides
