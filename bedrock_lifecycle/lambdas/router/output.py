"""What the router writes and answers: audit fields, JSON-safe answers, EMF directives."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import contract

AUDIT_RECORD = "bedrock-lifecycle.router.audit"
AUDIT_SCHEMA = 1
# Also published per alias across its versions (ModelAlias.metric_all_versions).
ALIAS_WIDE_METRICS = contract.ALIAS_WIDE_METRICS
ALIAS_WIDE_DIMENSIONS = contract.ALIAS_WIDE_DIMENSIONS


def sha256_json(value: Any) -> str:
    """sha256 of canonical JSON (sorted keys, no whitespace): stable across key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    # surrogatepass: a lone surrogate ("\\ud800" in the caller's JSON) is hashed, not fatal.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def log_safe(line: str) -> str:
    """``line`` as valid UTF-8: a lone surrogate inside a JSON string becomes its escape
    (``\\ud800``), which is what JSON means by it; standard output would refuse it."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return line.encode("utf-8", "backslashreplace").decode("utf-8")
    return line


def call_fields(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The audit fields of one Bedrock call, from its ``ResponseMetadata``."""
    return {
        "bedrock_request_id": meta.get("RequestId"),
        "retry_attempts": meta.get("RetryAttempts", 0),
    }


def json_safe(value: Any) -> Any:
    """Blobs (for example redacted reasoning) as base64 text, timestamps as ISO 8601: Lambda
    returns JSON only."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def with_alias_wide_metrics(document: dict[str, Any]) -> dict[str, Any]:
    """Add a second EMF directive: ``ALIAS_WIDE_METRICS`` without the Version dimension.

    The same values, published once more per alias across all versions, which
    the alias-wide rollout alarm watches: during a canary the version still
    serving most callers must stay healthy too, and its id is not known when the
    alarm is synthesized. Values are shared by both directives (EMF).
    """
    directives = document.get("_aws", {}).get("CloudWatchMetrics") or []
    if not directives:
        return document
    first = directives[0]
    wide = [m for m in first.get("Metrics", []) if m.get("Name") in ALIAS_WIDE_METRICS]
    if wide:
        directives.append(
            {
                "Namespace": first["Namespace"],
                "Dimensions": [list(ALIAS_WIDE_DIMENSIONS)],
                "Metrics": wide,
            }
        )
    return document
