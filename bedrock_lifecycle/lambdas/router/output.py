"""What the router writes and answers: audit fields, JSON-safe answers, EMF directives."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import contract

AUDIT_RECORD = "bedrock-lifecycle.router.audit"
AUDIT_SCHEMA = 1
# The audit line's ceiling, in UTF-8 bytes of the whole line. A CloudWatch Logs event
# holds at most 256 KiB (262,144 bytes, 26 of them the event's own overhead), and
# Lambda splits or cuts a longer line: one audit record per request must stay one event.
MAX_AUDIT_BYTES = 200 * 1024
# Fields whose text is shared out first when a record is over the ceiling
# (prompt_logging); every other field too long is cut to OTHER_FIELD_BYTES.
TEXT_FIELDS = ("request", "response")
OTHER_FIELD_BYTES = 1024
# What request and response may take of a cut record's line, together: a fixed room,
# so that the cut depends on them alone, never on the rest of the record (a latency
# of one more digit). The 16 KiB left hold the rest (well under 2 KB in practice).
TEXT_FIELD_BYTES = MAX_AUDIT_BYTES - 16 * 1024
# Also published per alias across its versions (ModelAlias.metric_all_versions).
ALIAS_WIDE_METRICS = contract.ALIAS_WIDE_METRICS
ALIAS_WIDE_DIMENSIONS = contract.ALIAS_WIDE_DIMENSIONS


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_json(value: Any) -> str:
    """sha256 of canonical JSON (sorted keys, no whitespace): stable across key order."""
    text = _canonical(value)
    # surrogatepass: a lone surrogate ("\\ud800" in the caller's JSON) is hashed, not fatal.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def compact_json(value: Any, *, sort_keys: bool = False) -> str:
    """One line of JSON, non-ASCII kept; never ``NaN`` or ``Infinity`` (JSON has neither:
    a non-finite number is written as its name, a string)."""
    try:
        return json.dumps(
            value,
            sort_keys=sort_keys,
            separators=(",", ":"),
            ensure_ascii=False,
            default=str,
            allow_nan=False,
        )
    except ValueError:
        return compact_json(_finite(value), sort_keys=sort_keys)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def audit_line(record: Mapping[str, Any]) -> str:
    """``record`` as one line of valid JSON of at most ``MAX_AUDIT_BYTES`` UTF-8 bytes.

    Under the ceiling the record is written as it is. Over it, fields are cut:
    the text of ``request`` and ``response`` (their canonical JSON: sorted keys,
    no spaces, the text ``request_sha256`` hashes) shares ``TEXT_FIELD_BYTES``
    (less, if the rest of the record leaves less), and one that fits in half of
    it is kept whole; any other field longer than ``OTHER_FIELD_BYTES`` is cut
    to that. The cut depends on the request and the answer alone. A cut field
    holds the start of its text, as a string; the record gets ``"truncated":
    true`` and ``"truncation"``: for each cut field, the UTF-8 bytes of its text
    and how many were kept. The hashes and sizes stay those of the full request
    and answer.
    """
    line = log_safe(compact_json(record))
    # At most 4 bytes a character: most records need no encoding to be measured.
    if len(line) * 4 <= MAX_AUDIT_BYTES or _utf8_size(line) <= MAX_AUDIT_BYTES:
        return line
    return _bounded(dict(record))


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _embedded_size(text: str) -> int:
    """Bytes ``text`` takes in the line as a JSON string, quotes included."""
    return _utf8_size(log_safe(compact_json(text)))


def _prefix(text: str, allowance: int) -> str:
    """The longest start of ``text`` that takes at most ``allowance`` bytes as a JSON string."""
    low, high = 0, min(len(text), max(allowance - 2, 0))  # each character takes a byte or more
    while low < high:
        middle = (low + high + 1) // 2
        if _embedded_size(text[:middle]) <= allowance:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def _bounded(record: dict[str, Any]) -> str:
    # The text of each field that may be cut: request and response as canonical JSON,
    # any other field over OTHER_FIELD_BYTES as itself (a string) or its JSON.
    texts: dict[str, str] = {}
    for key, value in record.items():
        if key in TEXT_FIELDS:
            if value is not None:
                # Exactly the text the hashes are of (NaN included: in a string it is text).
                texts[key] = _canonical(value)
        elif not isinstance(value, bool | int | float | type(None)):
            text = value if isinstance(value, str) else compact_json(value, sort_keys=True)
            if len(text) * 4 > OTHER_FIELD_BYTES and _embedded_size(text) > OTHER_FIELD_BYTES:
                texts[key] = text
    sizes = {key: _utf8_size(text) for key, text in texts.items()}
    # The frame: every candidate an empty string (2 bytes) and a truncation entry with
    # the largest numbers it can hold (kept <= size): it never measures less than the
    # final record without the candidates' text.
    frame = {**record, **dict.fromkeys(texts, "")}
    frame["truncated"] = True
    frame["truncation"] = {k: {"bytes": n, "kept_bytes": n} for k, n in sizes.items()}
    left = MAX_AUDIT_BYTES - _utf8_size(log_safe(compact_json(frame)))
    # Bytes each candidate may add to its 2: other fields a fixed share, then request
    # and response the rest, the smaller first (kept whole if it fits in half).
    allowances = {key: OTHER_FIELD_BYTES - 2 for key in texts if key not in TEXT_FIELDS}
    left = min(left - sum(allowances.values()), TEXT_FIELD_BYTES)
    shared = [key for key in TEXT_FIELDS if key in texts]
    # Kept whole, request or response takes what its JSON takes in the line.
    whole = {
        key: _utf8_size(log_safe(compact_json(record[key])))
        if len(texts[key]) <= left + 2
        else None
        for key in shared
    }
    keep: set[str] = set()
    order = sorted(shared, key=lambda k: (math.inf if whole[k] is None else whole[k], k))
    for i, key in enumerate(order):
        share = left // (len(order) - i)
        size = whole[key]
        if size is not None and size - 2 <= share:
            keep.add(key)
            left -= size - 2
        else:
            allowances[key] = share
            left -= share
    out = dict(record)
    truncation: dict[str, dict[str, int]] = {}
    for key, text in texts.items():
        if key in keep:
            continue
        kept = _prefix(text, allowances[key] + 2)
        out[key] = kept
        truncation[key] = {"bytes": sizes[key], "kept_bytes": _utf8_size(kept)}
    out["truncated"] = True
    out["truncation"] = truncation
    line = log_safe(compact_json(out))
    if _utf8_size(line) <= MAX_AUDIT_BYTES:
        return line
    return _minimal(record)  # a last guard: the frame was measured, so not reached


def _minimal(record: Mapping[str, Any]) -> str:
    """What always fits: the record's identity, hashes and outcome, nothing of the text."""
    keep = ("record", "schema", "request_sha256", "response_sha256", "request_bytes")
    out = {k: record.get(k) for k in keep}
    out["truncated"] = True
    out["truncation"] = {}
    return log_safe(compact_json(out))


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
