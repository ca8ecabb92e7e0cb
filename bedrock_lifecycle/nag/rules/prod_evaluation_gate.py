"""ProdEvaluationGate: a production alias that rolls out without an evaluation gate.

An alias that CodeDeploy rolls out (its ``UpdatePolicy`` has
``CodeDeployLambdaAliasUpdate``) in an environment that requires an evaluation
gate (``require_evaluation_gate``, or named prod/production) must run the
golden prompts first: a ``BeforeAllowTrafficHook``.
"""

from __future__ import annotations

from cdk_nag import NagRuleCompliance

from .base import NagRule, Resource


def check(resource: Resource) -> NagRuleCompliance:
    update = (resource.update_policy or {}).get("CodeDeployLambdaAliasUpdate")
    if not resource.requires_evaluation_gate or not update:
        return NagRuleCompliance.NOT_APPLICABLE
    if update.get("BeforeAllowTrafficHook"):
        return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT


RULE = NagRule(
    name="ProdEvaluationGate",
    resource_types=("AWS::Lambda::Alias",),
    info="The production alias rolls out without a BeforeAllowTraffic evaluation gate.",
    explanation="In an environment that requires an evaluation gate, a new model version must "
    "pass the family's golden prompts before any caller's traffic reaches it.",
    check=check,
    reads_governance=True,
)
