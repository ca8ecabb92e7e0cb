"""The project's own cdk-nag rules: one rule per module, each a pure function of one resource.

A rule sees a :class:`Resource`: the resource's type, its CloudFormation
properties (tokens resolved as far as they go), its deletion and update-replace
policies, its update policy, and the governance recorded on it or above it
(:mod:`bedrock_lifecycle.nag.governance`).
It returns a :class:`cdk_nag.NagRuleCompliance`. The pack in
:mod:`bedrock_lifecycle.nag.pack` turns them into findings named
``BedrockLifecycle-<RuleName>``, acknowledged like any other cdk-nag finding.
"""

from __future__ import annotations

from . import (
    alias_rollback_alarms,
    audit_bucket_object_lock,
    committed_throughput_retained,
    log_group_encrypted_retained,
    prod_evaluation_gate,
    router_bedrock_wildcard,
)
from .base import NagRule, Resource

__all__ = ["NagRule", "Resource", "rules"]


def rules() -> tuple[NagRule, ...]:
    """Every project rule, in the order they are documented (docs/governance.md)."""
    return (
        alias_rollback_alarms.RULE,
        prod_evaluation_gate.RULE,
        router_bedrock_wildcard.RULE,
        committed_throughput_retained.RULE,
        audit_bucket_object_lock.RULE,
        log_group_encrypted_retained.RULE,
    )
