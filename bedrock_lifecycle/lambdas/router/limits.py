"""The request ceiling: how large and how deeply nested a request may be, measured once.

The size is that of the request's canonical JSON (UTF-8, sorted keys, no
whitespace), the same text the audit record's ``request_sha256`` hashes: one
serialization gives both. It is the smallest encoding of the request, so it
never exceeds what arrived on the wire (except for a few float spellings such
as ``1e5``, which Python writes as ``100000.0``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from request import RequestError

# Lambda's synchronous Invoke payload limit (6 MB = 6 MiB, 6,291,456 bytes). A
# larger request never reaches the router through Invoke (Lambda refuses it);
# the same ceiling holds every other path (in-process callers, the evaluation
# gate, asynchronous invocation) to what Invoke allows. Not lower on purpose:
# Converse accepts documents of up to 4.5 MB, which are 6,000,000 base64 characters.
MAX_REQUEST_BYTES = 6 * 1024 * 1024
# Nesting of arrays and objects. A Converse request needs about 8 levels (tool
# results and tool inputs carry caller JSON deeper); 64 leaves room for that and
# keeps every recursive step after it (botocore's validation and serialization,
# the audit record) far from Python's recursion limit.
MAX_DEPTH = 64

TOO_LARGE = "RequestTooLarge"
TOO_DEEP = "RequestTooDeep"


class RequestTooLarge(RequestError):
    """The request is over ``MAX_REQUEST_BYTES`` or ``MAX_DEPTH``; Bedrock is not called."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__("$", message)
        self.code = code


@dataclass(frozen=True)
class Measured:
    """A request's canonical JSON size in bytes and its sha256 (None: it was too deep)."""

    size: int | None
    sha256: str | None


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, non-ASCII kept: stable across key order and escaping."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def measure(event: Any) -> Measured:
    """Size and hash of ``event`` from one serialization; never raises."""
    try:
        data = canonical_json(event).encode("utf-8", "surrogatepass")
    except (RecursionError, ValueError):
        # Nested deeper than the interpreter can serialize (a circular in-process
        # value also ends here): too deep, refused by check().
        return Measured(size=None, sha256=None)
    return Measured(size=len(data), sha256=hashlib.sha256(data).hexdigest())


def check(event: Any, measured: Measured) -> None:
    """Refuse a request over the ceiling, naming the limit and what was received."""
    if measured.size is None:
        raise RequestTooLarge(TOO_DEEP, f"is nested more than {MAX_DEPTH} levels deep")
    if measured.size > MAX_REQUEST_BYTES:
        raise RequestTooLarge(
            TOO_LARGE,
            f"the request is {measured.size} bytes as compact JSON, "
            f"more than the {MAX_REQUEST_BYTES} allowed",
        )
    depth = nesting(event, MAX_DEPTH + 1)
    if depth > MAX_DEPTH:
        raise RequestTooLarge(TOO_DEEP, f"is nested more than {MAX_DEPTH} levels deep")


def nesting(value: Any, stop: int) -> int:
    """Levels of arrays and objects in ``value``, counted up to ``stop`` (iteratively)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list):
            continue
        deepest = max(deepest, depth)
        if deepest >= stop:
            return deepest
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest
