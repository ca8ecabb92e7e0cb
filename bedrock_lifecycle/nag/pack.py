"""BedrockLifecycleChecks: the project's own rules as a cdk-nag 3.x NagPack.

cdk-nag 3 packs implement ``IPolicyValidationPlugin``: registered with
``Validations.of(app).add_plugins(...)`` beside the AWS packs, every synth
runs them and an unacknowledged finding fails it. Findings are named
``BedrockLifecycle-<RuleName>`` and acknowledged with
:func:`bedrock_lifecycle.nag.acknowledge`, like the AWS packs' findings.

The pack is a jsii subclass of ``cdk_nag.NagPack`` written in Python: cdk-nag
walks the tree and calls ``checkResource`` for each ``CfnResource``; the pack
applies the rules registered for that resource type (one jsii round trip for
resources no rule judges).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import cdk_nag
import jsii
from constructs import IConstruct

from .governance import Governance, governance_of
from .rules import NagRule, Resource, rules

PACK_NAME = "BedrockLifecycle"
_PASSED = (cdk_nag.NagRuleCompliance.COMPLIANT, cdk_nag.NagRuleCompliance.NOT_APPLICABLE)

_POLICIES = {
    cdk.CfnDeletionPolicy.RETAIN: "Retain",
    cdk.CfnDeletionPolicy.DELETE: "Delete",
    cdk.CfnDeletionPolicy.SNAPSHOT: "Snapshot",
    cdk.CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE: "RetainExceptOnCreate",
}


# The resource types CloudFormation takes an UpdatePolicy on: reading the options of
# every other resource for one would cost round trips to Node.js for nothing.
UPDATE_POLICY_TYPES = frozenset(
    {
        "AWS::AppStream::Fleet",
        "AWS::AutoScaling::AutoScalingGroup",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::Elasticsearch::Domain",
        "AWS::Lambda::Alias",
        "AWS::OpenSearchService::Domain",
    }
)


def _update_policy(node: cdk.CfnResource, resource_type: str) -> dict[str, Any] | None:
    if resource_type not in UPDATE_POLICY_TYPES:
        return None
    policy = node.cfn_options.update_policy
    if policy is None:
        return None
    alias_update = policy.code_deploy_lambda_alias_update
    if alias_update is None:
        return {}
    stack = cdk.Stack.of(node)
    # The hooks are lazy values that produce nothing when no hook is set: resolve them.
    return {
        "CodeDeployLambdaAliasUpdate": {
            "ApplicationName": stack.resolve(alias_update.application_name),
            "DeploymentGroupName": stack.resolve(alias_update.deployment_group_name),
            "BeforeAllowTrafficHook": stack.resolve(alias_update.before_allow_traffic_hook),
            "AfterAllowTrafficHook": stack.resolve(alias_update.after_allow_traffic_hook),
        }
    }


def resource_of(node: cdk.CfnResource, *, governance: bool = True) -> Resource:
    """What the rules see of ``node``: type, resolved properties, policies, and the
    governance recorded on it or above it (:mod:`.governance`).

    :param governance: read the governance (walks the tree up). Default: true.
    """
    stack = cdk.Stack.of(node)
    # Resolve first (lazy values become plain structures), then render to CloudFormation case.
    properties = node._render_properties(stack.resolve(node._cfn_properties))
    recorded = governance_of(node) if governance else Governance()
    options = node.cfn_options
    resource_type = node.cfn_resource_type
    return Resource(
        type=resource_type,
        properties=properties if isinstance(properties, Mapping) else {},
        deletion_policy=_POLICIES.get(options.deletion_policy),  # type: ignore[arg-type]
        update_replace_policy=_POLICIES.get(options.update_replace_policy),  # type: ignore[arg-type]
        update_policy=_update_policy(node, resource_type),
        environment=recorded.environment,
        requires_evaluation_gate=recorded.requires_evaluation_gate,
    )


@jsii.implements(cdk_nag.IApplyRule)
class _Application:
    """One rule applied to one resource, in the shape ``NagPack.applyRule`` takes."""

    def __init__(self, rule: NagRule, node: cdk.CfnResource, seen: dict[str, Resource]) -> None:
        self._rule, self._node, self._seen = rule, node, seen

    # Read-only properties: jsii calls them as getters (plain attributes are not seen).
    @property
    def rule_suffix_override(self) -> str | None:
        return self._rule.name

    @property
    def info(self) -> str:
        return self._rule.info

    @property
    def explanation(self) -> str:
        return self._rule.explanation

    @property
    def level(self) -> cdk_nag.NagMessageLevel:
        return cdk_nag.NagMessageLevel.ERROR

    @property
    def node(self) -> cdk.CfnResource:
        return self._node

    def rule(self, node: cdk.CfnResource) -> cdk_nag.NagRuleCompliance:
        # Built here, not in checkResource: if a property cannot be read, applyRule
        # reports a finding ("rule threw an error") instead of the synth crashing.
        if "resource" not in self._seen:
            self._seen["resource"] = resource_of(self.node)
        return self._rule.check(self._seen["resource"])


class BedrockLifecycleChecks(cdk_nag.NagPack):
    """The project's own rules (see docs/governance.md for what each catches).

    :param scope: the app, as for the AWS packs. Default: none (``validate_scope`` only).
    """

    def __init__(self, scope: IConstruct | None = None) -> None:
        super().__init__(scope)
        self._pack_name = PACK_NAME
        self._by_type: dict[str, list[NagRule]] = {}
        for rule in rules():
            for resource_type in rule.resource_types:
                self._by_type.setdefault(resource_type, []).append(rule)

    @property
    def name(self) -> str:
        return PACK_NAME

    @jsii.member(jsii_name="checkResource")
    def _check_resource(self, node: cdk.CfnResource) -> None:
        applicable = self._by_type.get(node.cfn_resource_type)
        if not applicable:
            return
        seen: dict[str, Resource] = {}  # the resource, read once for all its rules
        # Judged here first, in Python: cdk-nag is told only of the rules a resource does
        # not pass (each applyRule costs several round trips between Node.js and Python,
        # which made the pack cost more than the synth it judges). If the resource cannot
        # be read, every rule goes to applyRule, which reports the error as a finding.
        pending = applicable
        try:
            seen["resource"] = resource_of(
                node, governance=any(rule.reads_governance for rule in applicable)
            )
            pending = [rule for rule in applicable if rule.check(seen["resource"]) not in _PASSED]
        except Exception:  # applyRule reports it, with the rule's name
            seen.clear()
        for rule in pending:
            # IApplyRule declares settable properties; jsii only ever reads them.
            self._apply_rule(_Application(rule, node, seen))  # type: ignore[arg-type]
