"""CommittedThroughputRetained: a committed provisioned throughput that is not retained.

A ``Custom::BedrockProvisionedThroughput`` with ``CommitmentDuration``
``OneMonth`` or ``SixMonths`` is paid for the whole term and cannot be deleted
before it ends: its ``DeletionPolicy`` must be ``Retain`` or
``RetainExceptOnCreate`` (which still lets the rollback of a failed creation
delete it) and its ``UpdateReplacePolicy`` ``Retain``, so that no stack change
tries to delete it (and fails, or loses track of it).
"""

from __future__ import annotations

from cdk_nag import NagRuleCompliance

from .base import NagRule, Resource

COMMITTED = ("OneMonth", "SixMonths")
RETAINED_ON_DELETE = ("Retain", "RetainExceptOnCreate")


def check(resource: Resource) -> NagRuleCompliance:
    if resource.properties.get("CommitmentDuration") not in COMMITTED:
        return NagRuleCompliance.NOT_APPLICABLE
    if (
        resource.deletion_policy in RETAINED_ON_DELETE
        and resource.update_replace_policy == "Retain"
    ):
        return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT


RULE = NagRule(
    name="CommittedThroughputRetained",
    resource_types=("Custom::BedrockProvisionedThroughput",),
    info="The committed provisioned throughput is not retained on delete and replacement.",
    explanation="A throughput with a commitment term is billed until the term ends and cannot "
    "be deleted before; DeletionPolicy must be Retain or RetainExceptOnCreate and "
    "UpdateReplacePolicy Retain.",
    check=check,
)
