"""A plan as text (for a terminal or a CI log), Markdown (for a pull-request comment)
or JSON (``"format": 1``, described by ``plan.schema.json`` beside this module).

Identical inputs render as exactly ``no lifecycle changes`` in text (and the heading
then ``no lifecycle changes`` in Markdown): nothing else, warnings neither. Otherwise
every environment's lifecycle warnings are shown, changed or not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .model import Change, Plan, Risk

JSON_FORMAT = 1
SCHEMA_PATH = Path(__file__).with_name("plan.schema.json")
NO_CHANGES = "no lifecycle changes"


def text_lines(plan: Plan) -> list[str]:
    """One line per change (``<env>: <what>``), per lifecycle warning
    (``<env>: warning: ...``), then one per risk flag (``risk <code>: <env>: ...``)."""
    if not plan.changed:
        return [NO_CHANGES]
    lines = [f"note: {_not_found(plan.base_not_found)}"] if plan.base_not_found else []
    for env in plan.environments:
        if not env.changes:
            lines.append(f"{env.name}: {NO_CHANGES}")
        lines += [f"{env.name}: {change.text}" for change in env.changes]
        lines += [f"{env.name}: warning: {warning}" for warning in env.warnings]
    lines += [f"risk {risk.line()}" for risk in plan.risks]
    return lines


def _not_found(label: str) -> str:
    return f"base {label} not found: everything is new"


def _md(text: str) -> str:
    """``text`` safe inside a Markdown list item or table cell: nothing in it can open
    a link, an HTML tag, code, emphasis or a new cell."""
    for char in ("\\", "`", "*", "[", "]", "<", "|"):
        text = text.replace(char, "\\" + char)
    return text


def markdown_lines(plan: Plan) -> list[str]:
    """A PR comment: a heading, the risk flags first (a table), then per environment a
    list of its changes and its lifecycle warnings."""
    if plan.base is not None:
        against = f"`{_code(plan.base)}`"
    elif plan.base_not_found is not None:
        against = f"nothing: `{_code(plan.base_not_found)}` not found (everything is new)"
    else:
        against = "nothing (everything is new)"
    lines = [
        "## Lifecycle plan",
        "",
        f"`{_code(plan.head)}` against {against}; lifecycle as of {plan.today.isoformat()}.",
        "",
    ]
    if not plan.changed:
        return [*lines, NO_CHANGES]
    risks = plan.risks
    if risks:
        lines += [
            f"### :warning: Risks ({len(risks)})",
            "",
            "| risk | environment | object | why |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| `{r.code.value}` | {_md(r.environment)} | {_md(r.object)} | {_md(r.message)} |"
            for r in risks
        ]
        lines.append("")
    else:
        lines += ["No risk flags.", ""]
    for env in plan.environments:
        lines += [f"### {env.name} ({env.status})", ""]
        if not env.changes:
            lines.append(NO_CHANGES)
        lines += [f"- {_md(change.text)}" for change in env.changes]
        if env.warnings:
            lines += ["", "Lifecycle warnings:", ""]
            lines += [f"- {_md(warning)}" for warning in env.warnings]
        lines.append("")
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _code(text: str) -> str:
    return text.replace("`", "'")


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "kind": change.kind.value,
        "object": change.object,
        "action": change.action,
        "text": change.text,
        "before": dict(change.before),
        "after": dict(change.after),
    }


def _risk_json(risk: Risk) -> dict[str, Any]:
    return {
        "code": risk.code.value,
        "environment": risk.environment,
        "object": risk.object,
        "message": risk.message,
    }


def plan_json(plan: Plan, templates: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The plan as a JSON document of ``"format": 1`` (``plan.schema.json``).

    :param templates: the offline CloudFormation diff (``template_diff.changes_json``),
        included as ``templates`` when given. Default: none (the key is left out).
    """
    doc: dict[str, Any] = {
        "format": JSON_FORMAT,
        "head": plan.head,
        "base": plan.base,
        "base_not_found": plan.base_not_found,
        "today": plan.today.isoformat(),
        "changed": plan.changed,
        "risks": [_risk_json(r) for r in plan.risks],
        "environments": [
            {
                "name": env.name,
                "status": env.status,
                "changes": [_change_json(c) for c in env.changes],
                "risks": [_risk_json(r) for r in env.risks],
                "warnings": list(env.warnings),
            }
            for env in plan.environments
        ],
    }
    if templates is not None:
        doc["templates"] = list(templates)
    return doc


def render_json(plan: Plan, templates: Sequence[dict[str, Any]] | None = None) -> str:
    """:func:`plan_json` as indented JSON text."""
    return json.dumps(plan_json(plan, templates), indent=2)


def schema() -> dict[str, Any]:
    """The JSON Schema of :func:`plan_json`'s documents."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded
