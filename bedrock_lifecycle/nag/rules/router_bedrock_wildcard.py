"""RouterBedrockWildcard: an IAM policy that lets a role invoke Bedrock models by wildcard.

A router may call exactly the models of the version it serves. Non-compliant:
an allowed action pattern that covers Bedrock's invoke actions (``*``,
``bedrock:*``, ``bedrock:Invoke*``, ``bedrock:Converse*``), ``NotAction``, or an
invoke action on a resource containing ``*`` (``foundation-model/*``, ``*``).
Control-plane actions without resource-level permissions (invocation logging)
are not invoke actions and are not judged here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from cdk_nag import NagRuleCompliance

from .base import NagRule, Resource

INVOKE_ACTIONS = (
    "bedrock:invokemodel",
    "bedrock:invokemodelwithresponsestream",
    "bedrock:converse",
    "bedrock:conversestream",
)


def _documents(resource: Resource) -> Iterator[Mapping[str, Any]]:
    props = resource.properties
    if resource.type == "AWS::IAM::Role":
        for policy in props.get("Policies") or []:
            yield policy.get("PolicyDocument") or {}
    else:
        yield props.get("PolicyDocument") or {}


def _strings(value: Any) -> Iterator[str]:
    """Literal strings of a resolved value (``Fn::Join`` parts included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check(resource: Resource) -> NagRuleCompliance:
    judged = False
    for document in _documents(resource):
        for statement in _as_list(document.get("Statement") or []):
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement:
                return NagRuleCompliance.NON_COMPLIANT
            actions = [a.lower() for a in _as_list(statement.get("Action")) if isinstance(a, str)]
            if any("*" in a and any(fnmatchcase(i, a) for i in INVOKE_ACTIONS) for a in actions):
                return NagRuleCompliance.NON_COMPLIANT
            if not any(a in INVOKE_ACTIONS for a in actions):
                continue
            judged = True
            if "NotResource" in statement:
                return NagRuleCompliance.NON_COMPLIANT
            if any("*" in s for s in _strings(statement.get("Resource"))):
                return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT if judged else NagRuleCompliance.NOT_APPLICABLE


RULE = NagRule(
    name="RouterBedrockWildcard",
    resource_types=("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"),
    info="The policy allows Bedrock model invocation through a wildcard action or resource.",
    explanation="A router serves one immutable version; a wildcard would let it (or whoever "
    "controls it) call any model, breaking the tie between an alias and its version.",
    check=check,
)
