"""What the handlers answer the provider framework: on_event answers and ThroughputError."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import contract

# CloudFormation rejects responses over 4096 bytes; messages are cut well below, in
# UTF-8 bytes (a character may take four).
MAX_MESSAGE_BYTES = contract.MAX_REASON_BYTES
# An on_event answer this large is refused here, not by CloudFormation.
MAX_ANSWER_BYTES = 3000


def shorten(text: str, limit: int = MAX_MESSAGE_BYTES) -> str:
    """``text`` on one line and cut to ``limit`` UTF-8 bytes (default 1,000), marked when cut."""
    return contract.cfn_reason(text, limit)


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
    if size >= MAX_ANSWER_BYTES:
        raise ThroughputError(
            f"the answer for physical id {contract.shown(physical_id)} would take {size} bytes, "
            f"more than the {MAX_ANSWER_BYTES} that leave room in CloudFormation's 4,096"
        )
    return out
