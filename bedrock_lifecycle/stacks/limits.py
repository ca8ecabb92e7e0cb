"""The limits a synthesized environment must stay within, checked on its templates.

Each is a limit of the service that would refuse the deploy, with the way out:

- CloudFormation: 500 resources, 200 outputs and 200 parameters per stack, and a
  template body of at most 1,000,000 bytes (through S3, where the CDK CLI puts
  every template larger than 50 KB);
- CodeDeploy: 1,000 deployment groups per application, 10 alarms per group;
- SSM Parameter Store: a value of 4 KB (standard tier) or 8 KB (advanced).

``validate`` (its dry build) and synth both run :func:`template_problems`, on the
same templates, so they refuse the same environments. The values are the
documented defaults; a quota raised for an account does not raise them here.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

MAX_STACK_RESOURCES = 500
MAX_STACK_OUTPUTS = 200
MAX_STACK_PARAMETERS = 200
MAX_TEMPLATE_BYTES = 1_000_000
MAX_GROUPS_PER_APPLICATION = 1000
MAX_ALARMS_PER_GROUP = 10
PARAMETER_LIMITS = {"Standard": 4096, "Advanced": 8192}
# A token in a value ("${Token[...]}" at synth, an ARN at deploy) counts as this many bytes.
TOKEN_ALLOWANCE = 128

_SPLIT_HINT = (
    "an environment spans several stacks by itself (docs/architecture.md), so this is "
    "the size of its aliases"
)


def template_problems(templates: Mapping[str, dict[str, Any]]) -> list[str]:
    """Every limit the templates (CloudFormation stack name -> template) exceed, one line
    each, naming the stack, the limit and the way out; ``[]`` when all fit."""
    problems: list[str] = []
    groups_per_application: Counter[str] = Counter()
    for stack, template in templates.items():
        resources = template.get("Resources", {})
        problems += _stack_problems(stack, template)
        for logical, resource in resources.items():
            kind = resource.get("Type")
            props = resource.get("Properties", {})
            if kind == "AWS::CodeDeploy::DeploymentGroup":
                groups_per_application[_application_key(stack, props.get("ApplicationName"))] += 1
                alarms = (props.get("AlarmConfiguration") or {}).get("Alarms") or []
                if len(alarms) > MAX_ALARMS_PER_GROUP:
                    problems.append(
                        f"stack {stack}: deployment group {logical} watches {len(alarms)} "
                        f"alarms, more than CodeDeploy's {MAX_ALARMS_PER_GROUP} per group; "
                        "declare fewer alarm thresholds for its alias"
                    )
            elif kind == "AWS::SSM::Parameter":
                problems += _parameter_problems(stack, logical, props)
    for application, count in groups_per_application.items():
        if count > MAX_GROUPS_PER_APPLICATION:
            problems.append(
                f"CodeDeploy application {application}: {count} deployment groups, more than "
                f"the {MAX_GROUPS_PER_APPLICATION} CodeDeploy allows per application; give "
                "some aliases another environment (each has its own applications)"
            )
    return problems


def template_bytes(template: dict[str, Any]) -> int:
    """Bytes of ``template`` as the CDK CLI uploads it: the file it writes into ``cdk.out``
    (``JSON.stringify(template, undefined, 1)``: one space of indent, UTF-8), not a
    compact rendering, which is a third smaller."""
    return len(json.dumps(template, indent=1, ensure_ascii=False).encode("utf-8"))


def _stack_problems(stack: str, template: dict[str, Any]) -> list[str]:
    problems = []
    counts = (
        ("resources", len(template.get("Resources", {})), MAX_STACK_RESOURCES),
        ("outputs", len(template.get("Outputs", {})), MAX_STACK_OUTPUTS),
        ("parameters", len(template.get("Parameters", {})), MAX_STACK_PARAMETERS),
    )
    for what, count, limit in counts:
        if count > limit:
            problems.append(
                f"stack {stack}: {count} {what}, more than the {limit} CloudFormation allows "
                f"per stack; {_SPLIT_HINT}, or of its provisioned throughputs (every alias on "
                "one lives in the main stack): use fewer throughputs, or another environment"
            )
    size = template_bytes(template)
    if size > MAX_TEMPLATE_BYTES:
        problems.append(
            f"stack {stack}: a template of {size} bytes, more than the {MAX_TEMPLATE_BYTES} "
            "CloudFormation accepts; shorten system prompts, or retire the versions no alias "
            "may move to any more (each is in its router's grants)"
        )
    return problems


def _application_key(stack: str, name: object) -> str:
    """A deployment group's application: its literal name, or the stack and the reference."""
    if isinstance(name, str):
        return name
    return f"{json.dumps(name, sort_keys=True)} of {stack}"


def _parameter_problems(stack: str, logical: str, props: dict[str, Any]) -> list[str]:
    tier = props.get("Tier", "Standard")
    limit = PARAMETER_LIMITS.get(tier if isinstance(tier, str) else "Standard", 4096)
    size = _value_bytes(props.get("Value"))
    if size <= limit:
        return []
    name = props.get("Name")
    shown = name if isinstance(name, str) else logical
    return [
        f"stack {stack}: SSM parameter {shown} needs {size} bytes, more than the {limit} of "
        f"the {tier} tier (8192 at most); shorten the alias's system prompt or inference "
        "settings, or, for a version manifest, use shorter family and alias names"
    ]


def _value_bytes(value: object) -> int:
    """The bytes a parameter value takes once deployed, a token counted generously."""
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return sum(_value_bytes(p) for p in parts) + len(separator) * max(len(parts) - 1, 0)
    return TOKEN_ALLOWANCE
