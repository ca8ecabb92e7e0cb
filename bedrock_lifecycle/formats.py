"""The project's own JSON files (the lock, the model catalog snapshot): one way to read them."""

from __future__ import annotations

import json
from typing import Any


def read_versioned_json(text: str, expected_format: int) -> dict[str, Any]:
    """A JSON object whose ``"format"`` is ``expected_format``.

    :raises ValueError: with what is wrong (not JSON, with line; not an object of that format).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != expected_format:
        raise ValueError(f'expected a JSON object with "format": {expected_format}')
    return data
