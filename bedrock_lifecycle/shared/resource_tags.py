"""The ``Tags`` property of the project's custom resources, parsed once for every handler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import contract


def parse_tags(raw: Any, problems: list[str]) -> tuple[tuple[str, str], ...]:
    """The tags as sorted ``(key, value)`` pairs; each problem is added to ``problems``.

    Each tag is checked by ``contract.tag_errors``, the package's one tag check.
    """
    if not isinstance(raw, list):
        problems.append(f"Tags must be a list of {{Key, Value}}, got {contract.shown(raw)}")
        return ()
    if len(raw) > contract.MAX_TAGS:
        problems.append(f"Tags must hold at most {contract.MAX_TAGS} tags, got {len(raw)}")
        return ()
    out: dict[str, str] = {}
    for item in raw:
        if not (isinstance(item, Mapping) and set(item) == {"Key", "Value"}):
            problems.append(f"each tag must be {{Key, Value}}, got {contract.shown(item)}")
            continue
        key, value = item["Key"], item["Value"]
        errors = contract.tag_errors(key, value)
        if errors:
            problems.extend(errors)
            continue
        if key in out:
            problems.append(f"tag {contract.shown(key)} is given twice")
        out[key] = value
    return tuple(sorted(out.items()))
