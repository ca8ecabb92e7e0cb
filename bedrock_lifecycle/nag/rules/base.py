"""What a rule sees of a resource, and what a rule is: the types every rule module uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cdk_nag import NagRuleCompliance


@dataclass(frozen=True)
class Resource:
    """One CloudFormation resource as a rule sees it.

    :ivar properties: the ``Properties`` block, CloudFormation-cased.
    :ivar deletion_policy: ``Retain``, ``Delete``, ``Snapshot``... or None when unset
        (CloudFormation then deletes).
    :ivar update_replace_policy: like ``deletion_policy``, for replacements.
    :ivar update_policy: the ``UpdatePolicy`` block, CloudFormation-cased, or None.
    :ivar environment: the environment recorded on the resource or above it, or None.
    :ivar requires_evaluation_gate: a record above requires an evaluation gate
        (``require_evaluation_gate``, or an environment named prod or production).
    """

    type: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    deletion_policy: str | None = None
    update_replace_policy: str | None = None
    update_policy: Mapping[str, Any] | None = None
    environment: str | None = None
    requires_evaluation_gate: bool = False

    def tag(self, key: str) -> str | None:
        """The value of tag ``key`` in ``Properties.Tags`` (list or map form), or None."""
        tags = self.properties.get("Tags")
        if isinstance(tags, Mapping):
            value = tags.get(key)
            return value if isinstance(value, str) else None
        for tag in tags if isinstance(tags, list) else ():
            if isinstance(tag, Mapping) and tag.get("Key") == key:
                value = tag.get("Value")
                return value if isinstance(value, str) else None
        return None


@dataclass(frozen=True)
class NagRule:
    """A rule: which resource types it judges, what it says, and the check itself.

    :ivar reads_governance: the check reads ``Resource.environment`` or
        ``requires_evaluation_gate`` (found by walking the construct tree up, the
        costliest part of reading a resource: only done for rules that need it).
    """

    name: str
    resource_types: tuple[str, ...]
    info: str
    explanation: str
    check: Callable[[Resource], NagRuleCompliance] = field(compare=False)
    reads_governance: bool = False
