"""Renderings of a template diff: plain text, Markdown (for a PR comment) and JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .compare import ACTIONS, ResourceChange

NO_CHANGES = "no template changes"
_PAST = {"add": "added", "modify": "modified", "replace": "replaced", "remove": "removed"}


def _stacks(changes: Sequence[ResourceChange]) -> list[str]:
    return list(dict.fromkeys(c.stack for c in changes))


def _counts(changes: Sequence[ResourceChange], stack: str) -> str:
    mine = [c for c in changes if c.stack == stack]
    return ", ".join(f"{sum(c.action == a for c in mine)} {_PAST[a]}" for a in ACTIONS)


def _replaced_summary(changes: Sequence[ResourceChange], code: str = "") -> str:
    replaced = [c for c in changes if c.action == "replace"]
    if not replaced:
        return "CloudFormation would replace no resource"
    noun = "resource" if len(replaced) == 1 else "resources"
    named = "; ".join(
        f"{code}{c.stack}/{c.logical_id}{code} ({c.resource_type}, by {', '.join(c.replaced_by)})"
        for c in replaced
    )
    return f"CloudFormation would replace {len(replaced)} {noun}: {named}"


def _detail(change: ResourceChange, strong: str = "") -> str:
    """The changed properties, forcing ones marked, then the note."""
    parts = []
    for name in change.properties:
        shown = f"{strong}{name}{strong}" if name in change.replaced_by else name
        if name in change.replaced_by:
            shown += " (forces replacement)"
        if name in change.asset_only:
            shown += " (asset)"
        parts.append(shown)
    text = ", ".join(parts)
    if change.note:
        text = f"{text}; {change.note}" if text else change.note
    return text


def render_text(changes: Sequence[ResourceChange]) -> list[str]:
    """One header per stack, then one line per changed resource.

    A property marked "(asset)" differs only by a CDK asset hash: the code or files
    behind it changed. Identical templates give exactly ``["no template changes"]``.
    """
    if not changes:
        return [NO_CHANGES]
    lines = [_replaced_summary(changes)]
    for stack in _stacks(changes):
        lines.append(f"{stack}: {_counts(changes, stack)}")
        for c in (c for c in changes if c.stack == stack):
            detail = _detail(c)
            lines.append(
                f"  {c.action:<8}{c.resource_type} {c.logical_id}"
                + (f": {detail}" if detail else "")
            )
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(changes: Sequence[ResourceChange]) -> list[str]:
    """The replacement summary, then a table per stack (no heading: the caller's)."""
    if not changes:
        return [NO_CHANGES]
    lines = [f"**{_replaced_summary(changes, '`')}**"]
    for stack in _stacks(changes):
        lines += [
            "",
            f"**{stack}**: {_counts(changes, stack)}",
            "",
            "| change | logical id | type | properties |",
            "| --- | --- | --- | --- |",
        ]
        for c in (c for c in changes if c.stack == stack):
            lines.append(
                f"| {c.action} | `{c.logical_id}` | `{c.resource_type}` | "
                f"{_cell(_detail(c, strong='**'))} |"
            )
    return lines


def changes_json(changes: Sequence[ResourceChange]) -> list[dict[str, Any]]:
    """Each change as a JSON object with the fields of :class:`ResourceChange` (tuples as
    lists)."""
    return [
        {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(c).items()}
        for c in changes
    ]
