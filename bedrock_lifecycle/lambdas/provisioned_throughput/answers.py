"""What the handlers answer the provider framework: on_event answers and ThroughputError."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# CloudFormation rejects responses over 4096 bytes; messages are cut well below.
MAX_MESSAGE_CHARS = 1000


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 15] + " ...(truncated)"


class ThroughputError(Exception):
    """A failure CloudFormation shows to the person deploying; the message says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(shorten(message))


def on_event_answer(
    physical_id: str,
    *,
    wait: str | None = None,
    desired_model: str | None = None,
    data: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An on_event answer. ``Wait`` and ``DesiredModel`` travel to is_complete only."""
    out: dict[str, Any] = {"PhysicalResourceId": physical_id}
    if data:
        out["Data"] = {k: shorten(v) for k, v in data.items()}
    if wait is not None:
        out["Wait"] = wait
    if desired_model is not None:
        out["DesiredModel"] = desired_model
    size = len(json.dumps(out).encode())
    assert size < 3000, f"answer of {size} bytes is too close to the 4096-byte limit"
    return out
