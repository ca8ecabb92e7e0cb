"""AliasRollbackAlarms: an alias's rollout (a Lambda deployment group) without alarm rollback.

CodeDeploy rolls an alias back on a regression only when its deployment group
watches alarms and stops on them. A deployment group with no alarms, with alarm
monitoring disabled, or whose automatic rollback does not include
``DEPLOYMENT_STOP_ON_ALARM`` shifts traffic to a broken version and keeps it.
"""

from __future__ import annotations

from cdk_nag import NagRuleCompliance

from .base import NagRule, Resource


def check(resource: Resource) -> NagRuleCompliance:
    alarms = resource.properties.get("AlarmConfiguration") or {}
    rollback = resource.properties.get("AutoRollbackConfiguration") or {}
    watched = alarms.get("Enabled") is True and len(alarms.get("Alarms") or []) > 0
    rolls_back = rollback.get("Enabled") is True and "DEPLOYMENT_STOP_ON_ALARM" in (
        rollback.get("Events") or []
    )
    return (
        NagRuleCompliance.COMPLIANT if watched and rolls_back else NagRuleCompliance.NON_COMPLIANT
    )


RULE = NagRule(
    name="AliasRollbackAlarms",
    resource_types=("AWS::CodeDeploy::DeploymentGroup",),
    info="The alias's deployment group does not roll back on alarms.",
    explanation="Without enabled alarms and DEPLOYMENT_STOP_ON_ALARM in its automatic rollback, "
    "CodeDeploy keeps shifting traffic to a model version that regresses.",
    check=check,
)
