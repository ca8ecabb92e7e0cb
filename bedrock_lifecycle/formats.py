"""Reading the project's own files: bounded in size, and the JSON ones (the lock, the
model catalog snapshot) one way.

Every reader here refuses what it cannot take with a ``ValueError`` whose message is
one line saying what is wrong, so the CLI prints it beside the file name and exits 2:
no file is read whole before its size is known, and no nesting reaches Python's
recursion limit.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

# The nesting the project's JSON files ever need is under 10; the deepest accepted.
MAX_JSON_DEPTH = 64
# The lock of a file at its largest (MAX_FILE_BYTES of YAML) stays far below this.
MAX_JSON_BYTES = 4 * 1024 * 1024


def read_text_bounded(path: Path, limit: int, *, expected: str = "a file") -> str:
    """The UTF-8 text of ``path``, reading at most ``limit`` + 1 bytes.

    :param limit: the largest size accepted, in bytes.
    :param expected: what the file should be, for the message about a folder. Default:
        "a file".
    :raises FileNotFoundError: when there is no such file (callers decide whether that is
        a problem).
    :raises ValueError: a folder, over ``limit`` bytes, not UTF-8, or unreadable.
    """
    try:
        # Non-blocking, so that a FIFO (or a device) is refused instead of waited on.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise ValueError(f"is a directory, expected {expected}") from None
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise ValueError(f"is a directory, expected {expected}")
        if not stat.S_ISREG(mode):
            raise ValueError(
                f"is not a regular file (a pipe, socket or device), expected {expected}"
            )
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise ValueError(f"is larger than {limit:,} bytes, the most accepted")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("is not UTF-8 text") from None


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets outside JSON strings nest deeper than ``limit``: one linear scan,
    run before ``json.loads`` (which recurses once per level)."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def loads_bounded(text: str, *, limit: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses nesting deeper than ``limit`` and numbers Python cannot
    hold (more than 4,300 digits), each as a one-line ``ValueError``."""
    if json_depth_exceeds(text, limit):
        raise ValueError(f"not valid here: JSON nested deeper than {limit} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError):
        # int() of over 4,300 digits (sys.int_info.str_digits_check_threshold).
        raise ValueError("not valid here: a JSON number has more than 4,300 digits") from None


def read_versioned_json(text: str, expected_format: int) -> dict[str, Any]:
    """A JSON object whose ``"format"`` is ``expected_format``.

    :raises ValueError: with what is wrong (not JSON, with line; nested too deeply; not
        an object of that format).
    """
    data = loads_bounded(text)
    if not isinstance(data, dict) or data.get("format") != expected_format:
        raise ValueError(f'expected a JSON object with "format": {expected_format}')
    return data
