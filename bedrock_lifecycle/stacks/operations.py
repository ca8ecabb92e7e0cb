"""What the people on call read: continuous evaluation, dashboards, where the audit is.

Builders, like :mod:`.builders`: each turns the resolved lifecycle file into construct
props for one stack. Every stack of an environment (the main stack and each alias
stack) evaluates and shows its own aliases, so that no stack names another's resources.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..config import LifecycleConfig
from ..constructs.alarm_topic import AlarmTopic
from ..constructs.continuous_evaluation import (
    ContinuousEvaluationAlarm,
    ContinuousEvaluator,
    EvaluatedAlias,
)
from ..constructs.dashboard import AliasPanel, LifecycleDashboard
from ..constructs.invocation_audit import INVOCATION_LOG_PREFIX, InvocationAudit
from ..constructs.model_alias import ModelAlias
from ..constructs.rollout import AliasRollout
from ..names import audit_parameter_name, dashboard_name
from .builders import watched_models

PASS_RATE_ALARM_ID = "ContinuousPassRate"  # noqa: S105 (a construct id)


def evaluated_aliases(
    config: LifecycleConfig, environment: str, aliases: Mapping[str, ModelAlias]
) -> list[EvaluatedAlias]:
    """The aliases of ``aliases`` whose family's golden prompts run continuously in
    ``environment`` (``evaluation.continuous``), in file order."""
    out = []
    for resolved in config.aliases_for(environment):
        alias = aliases.get(resolved.qualified_name)
        evaluation = config.file.families[resolved.family].evaluation
        if alias is None or evaluation is None or not evaluation.continuous.runs_in(environment):
            continue
        out.append(
            EvaluatedAlias(
                model_alias=alias,
                golden_prompts=config.base_dir / evaluation.golden_prompts,
                pass_rate=evaluation.pass_rate,
                schedule=evaluation.continuous.schedule,
                sample=evaluation.continuous.sample,
            )
        )
    return out


def continuous_evaluation_of_stack(
    scope: Construct,
    *,
    config: LifecycleConfig,
    environment: str,
    aliases: Mapping[str, ModelAlias],
    alarm_topic: AlarmTopic | None,
    log_group: logs.ILogGroup | None,
    log_group_arn: str | None = None,
) -> tuple[ContinuousEvaluator | None, dict[str, ContinuousEvaluationAlarm]]:
    """The evaluator of one stack's aliases (construct id ``ContinuousEvaluation``) and
    each alias's pass-rate alarm (``<alias>/ContinuousPassRate``); ``(None, {})`` when no
    alias of the stack is evaluated."""
    evaluated = evaluated_aliases(config, environment, aliases)
    if not evaluated:
        return None, {}
    evaluator = ContinuousEvaluator(
        scope,
        "ContinuousEvaluation",
        environment=environment,
        aliases=evaluated,
        log_group=log_group,
        log_group_arn=log_group_arn,
        alarm_topic=alarm_topic,
    )
    alarms = {
        item.qualified_name: ContinuousEvaluationAlarm(
            item.model_alias,
            PASS_RATE_ALARM_ID,
            model_alias=item.model_alias,
            pass_rate=item.pass_rate,
            alarm_topic=alarm_topic,
        )
        for item in evaluated
    }
    return evaluator, alarms


def audit_locations(
    scope: Construct, *, project: str, environment: str, audit: InvocationAudit
) -> ssm.StringParameter:
    """The SSM parameter ``bedrock-lifecycle audit`` reads to find the trail:
    ``{"log_group", "bucket", "invocation_log_prefix"}`` at
    ``/bedrock-lifecycle/<project>/<environment>/audit``."""
    value = json.dumps(
        {
            "log_group": audit.log_group.log_group_name,
            "bucket": audit.bucket.bucket_name,
            "invocation_log_prefix": INVOCATION_LOG_PREFIX,
        },
        separators=(",", ":"),
    )
    return ssm.StringParameter(
        scope,
        "AuditLocations",
        parameter_name=audit_parameter_name(project, environment),
        string_value=value,
        description="where the audit trail of this environment is (bedrock-lifecycle audit)",
    )


def dashboard_of_stack(
    scope: Construct,
    *,
    config: LifecycleConfig,
    environment: str,
    group: int,
    aliases: Mapping[str, ModelAlias],
    rollouts: Mapping[str, AliasRollout],
    continuous_alarms: Mapping[str, ContinuousEvaluationAlarm],
    environment_alarms: Sequence[cloudwatch.IAlarm] = (),
    other_groups: Sequence[int] = (),
) -> LifecycleDashboard:
    """The dashboard of one stack (construct id ``Dashboard``): its aliases in file
    order; the main stack's (group 0) first page is the environment's overview, linking
    to ``other_groups``' dashboards and showing ``environment_alarms`` (the watcher's,
    the evaluators') and the days until end of life of every model the environment runs.
    """
    project = config.file.project
    models = watched_models(config, environment)
    panels = []
    for resolved in config.aliases_for(environment):
        name = resolved.qualified_name
        if name not in aliases:
            continue
        alarms: list[cloudwatch.IAlarm] = list(rollouts[name].alarms) if name in rollouts else []
        if name in continuous_alarms:
            alarms.append(continuous_alarms[name].alarm)
        panels.append(
            AliasPanel(model_alias=aliases[name], alarms=alarms, model_ids=models.get(name, ()))
        )
    every_model = list(dict.fromkeys(m for ids in models.values() for m in ids))
    return LifecycleDashboard(
        scope,
        "Dashboard",
        dashboard_name=dashboard_name(project, environment, group),
        environment=environment if group == 0 else f"{environment}, alias stack {group}",
        panels=panels,
        links=[(f"alias stack {n}", dashboard_name(project, environment, n)) for n in other_groups]
        if group == 0
        else [("environment overview", dashboard_name(project, environment))],
        alarms=environment_alarms,
        model_ids=every_model if group == 0 else (),
    )
