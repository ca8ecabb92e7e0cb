"""AliasStack: one share of a split environment's aliases, beside its main stack.

Each alias is built as in the main stack (router, version, alias, parameter,
deployment group, alarms); what they share lives in the main stack and is
reached by weak reference (:mod:`.shared_refs`):

- the CodeDeploy application of the alias stacks and the hooks, by their
  deterministic names (the Lambda alias's ``UpdatePolicy`` names them literally);
- the CodeDeploy service role, the alarm topic, the audit log group and the
  evaluation gate's role, from SSM parameters the main stack writes.

The gate invokes a version of a router here through a resource-based permission
on that version (``GateInvoke``), naming the gate's role: the main stack cannot
name the version (it is created here, after the main stack), and an identity
policy there naming it would make the stacks depend on each other.
"""

from __future__ import annotations

from collections.abc import Collection

import aws_cdk as cdk
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.aws_cloudwatch_actions import SnsAction
from constructs import Construct

from ..config import LifecycleConfig
from ..constructs.continuous_evaluation import ContinuousEvaluationAlarm, ContinuousEvaluator
from ..constructs.model_alias import ModelAlias
from ..constructs.rollout import AliasRollout
from ..names import (
    hook_function_name,
    router_function_name,
    shared_application_name,
)
from .builders import aliases_of_environment, rollout_props
from .environment_stack import LifecycleStack, prepare_environment_stack, version_manifest
from .operations import continuous_evaluation_of_stack, dashboard_of_stack
from .shared_refs import (
    ALARM_TOPIC_KEY,
    ANALYSIS_HOOK,
    AUDIT_LOG_GROUP_KEY,
    AUDIT_LOG_GROUP_NAME_KEY,
    DEPLOYMENT_ROLE_KEY,
    GATE_HOOK,
    GATE_ROLE_KEY,
    SharedRefs,
)


def alias_stack_name(main_name: str, group: int) -> str:
    """``BedrockLifecycle-<env>-Aliases<group>``: the id and name of an alias stack."""
    return f"{main_name}-Aliases{group}"


class ImportedAlarmTopic:
    """The main stack's alarm topic, by ARN: what ``AlarmTopic.notify`` does, elsewhere."""

    def __init__(self, scope: Construct, construct_id: str, topic_arn: str) -> None:
        self.topic = sns.Topic.from_topic_arn(scope, construct_id, topic_arn)
        self.action = SnsAction(self.topic)

    def notify(self, alarm: object) -> None:
        """Send ``alarm``'s ALARM and OK transitions to the topic."""
        alarm.add_alarm_action(self.action)  # type: ignore[attr-defined]
        alarm.add_ok_action(self.action)  # type: ignore[attr-defined]


class AliasStack(cdk.Stack):
    """The aliases of one stack group of a split environment.

    :param config: the validated lifecycle file.
    :param environment: the environment.
    :param group: the stack group (1 or more; 0 is the main stack).
    :param aliases: the ``family/alias`` names of the group.
    :param main: the environment's main stack: deployed before this one.

    Attributes: ``aliases`` (``family/alias`` -> ModelAlias), ``rollouts``
    (``family/alias`` -> AliasRollout), ``manifest``, ``group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LifecycleConfig,
        environment: str,
        group: int,
        aliases: Collection[str],
        main: LifecycleStack,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=main.spec_env,
            stack_name=construct_id,
            description=(
                f"bedrock-lifecycle: aliases of {config.file.project} in {environment}, "
                f"stack group {group} (shared parts in {main.stack_name})"
            ),
        )
        if group < 1:
            raise ValueError(f"an alias stack's group is 1 or more, got {group}")
        self.config = config
        self.environment_name = environment
        self.group = group
        project = config.file.project
        prepare_environment_stack(self, config, environment)
        self.add_stack_dependency(
            main, reason="its shared parts and the SSM parameters naming them"
        )
        refs = SharedRefs(self, "Shared", project=project, environment=environment)
        self.refs = refs
        self.aliases: dict[str, ModelAlias] = {}
        self.rollouts: dict[str, AliasRollout] = {}
        self.continuous_evaluation: ContinuousEvaluator | None = None
        self.continuous_alarms: dict[str, ContinuousEvaluationAlarm] = {}
        if not aliases:
            # Its last alias went: the stack stays, with its manifest only ({}), so that
            # deploying it deletes what the aliases had (lockfile.Lock.alias_stacks).
            self.manifest = version_manifest(
                self, self.aliases, f"manifest-aliases{group}", always=True
            )
            return
        log_group = logs.LogGroup.from_log_group_name(
            self, "AuditLogGroup", refs.value(AUDIT_LOG_GROUP_NAME_KEY)
        )
        self.aliases = aliases_of_environment(
            self,
            config=config,
            environment=environment,
            throughputs={},
            log_group=log_group,
            only=set(aliases),
            function_names={
                name: router_function_name(project, environment, *name.split("/"))
                for name in aliases
            },
            log_group_arn=refs.value(AUDIT_LOG_GROUP_KEY),
            deployment_group=group,
        )
        application = codedeploy.LambdaApplication.from_lambda_application_name(
            self, "Application", shared_application_name(project, environment)
        )
        role = iam.Role.from_role_arn(
            self, "DeploymentRole", refs.value(DEPLOYMENT_ROLE_KEY), mutable=False
        )
        topic = ImportedAlarmTopic(self, "AlarmTopic", refs.value(ALARM_TOPIC_KEY))
        parent = Construct(self, "Rollouts")
        for resolved in config.aliases_for(environment):
            name = resolved.qualified_name
            if name not in self.aliases:
                continue
            props = rollout_props(self.aliases[name], resolved)
            alias = self.aliases[name]
            rollout = AliasRollout(
                parent,
                construct_id_of(alias),
                model_alias=alias,
                policy=props.policy,
                alarms=props.alarms,
                canary_analysis=props.canary_analysis,
                evaluation=props.evaluation,
                alarm_topic=topic,  # type: ignore[arg-type]
                application=application,
                role=role,
            )
            self._attach_hooks(rollout, refs, project, environment)
            self.rollouts[name] = rollout
        self.manifest = version_manifest(
            self, self.aliases, f"manifest-aliases{group}", always=True
        )
        self.continuous_evaluation, self.continuous_alarms = continuous_evaluation_of_stack(
            self,
            config=config,
            environment=environment,
            aliases=self.aliases,
            alarm_topic=topic,  # type: ignore[arg-type]
            log_group=log_group,
            log_group_arn=refs.value(AUDIT_LOG_GROUP_KEY),
        )
        self.dashboard = dashboard_of_stack(
            self,
            config=config,
            environment=environment,
            group=group,
            aliases=self.aliases,
            rollouts=self.rollouts,
            continuous_alarms=self.continuous_alarms,
        )

    def _attach_hooks(
        self, rollout: AliasRollout, refs: SharedRefs, project: str, environment: str
    ) -> None:
        """The alias's ``UpdatePolicy`` with the main stack's hooks by name, and the
        gate's permission to invoke the version being rolled out."""
        alias = rollout.model_alias
        gated = rollout.evaluation is not None
        analysed = rollout.runs_canary_analysis
        cfn_alias = alias.alias.node.default_child
        assert isinstance(cfn_alias, lambda_.CfnAlias)
        group = rollout.deployment_group.node.default_child
        assert isinstance(group, codedeploy.CfnDeploymentGroup)
        cfn_alias.cfn_options.update_policy = cdk.CfnUpdatePolicy(
            code_deploy_lambda_alias_update=cdk.CfnCodeDeployLambdaAliasUpdate(
                application_name=shared_application_name(project, environment),
                deployment_group_name=group.ref,
                before_allow_traffic_hook=(
                    hook_function_name(project, environment, GATE_HOOK) if gated else None
                ),
                after_allow_traffic_hook=(
                    hook_function_name(project, environment, ANALYSIS_HOOK) if analysed else None
                ),
            )
        )
        if gated:
            permission = lambda_.CfnPermission(
                alias,
                "GateInvoke",
                action="lambda:InvokeFunction",
                function_name=alias.version.function_arn,
                principal=refs.value(GATE_ROLE_KEY),
            )
            # In place before the alias moves (and CodeDeploy runs the gate).
            alias.alias.node.add_dependency(permission)


def construct_id_of(alias: ModelAlias) -> str:
    """``<Family><Alias>``: as ``Rollouts`` names an alias's rollout."""
    from ..constructs.model_alias import pascal

    return pascal(f"{alias.model_version.family}-{alias.alias_name}")
