"""AliasRollout and Rollouts: CodeDeploy shifts each alias to its new version.

Each alias gets a ``LambdaDeploymentGroup`` with its rollout policy, regression
alarms and automatic rollback; ``Rollouts`` shares one CodeDeploy application,
one service role and the hooks among a stack's aliases. What a deploy, a shift
and a rollback do is in docs/rollouts.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..nag import acknowledge
from ..props import (
    DEFAULT_ROLLOUT,
    AlarmThresholds,
    CanaryAnalysis,
    Evaluation,
    FamilyKind,
    RolloutPolicy,
    RolloutStrategy,
    require_props,
)
from ..shared import golden
from ..values import policy_errors
from .alarm_topic import AlarmTopic
from .model_alias import ModelAlias, pascal
from .regression_alarms import MAX_ALARMS_PER_DEPLOYMENT_GROUP, RegressionAlarms
from .rollout_hooks import HookedRollout, RolloutHooks
from .singletons import stack_singleton

# CodeDeploy's predefined Lambda configurations, used when a policy has their
# shape: they cost nothing, while custom configurations count against a quota
# of 50 per account and region that cannot be raised.
_CONFIG = codedeploy.LambdaDeploymentConfig
PREDEFINED_CONFIGS: dict[tuple[RolloutStrategy, int, int], codedeploy.ILambdaDeploymentConfig] = {
    (RolloutStrategy.CANARY, 10, 5): _CONFIG.CANARY_10_PERCENT_5_MINUTES,
    (RolloutStrategy.CANARY, 10, 10): _CONFIG.CANARY_10_PERCENT_10_MINUTES,
    (RolloutStrategy.CANARY, 10, 15): _CONFIG.CANARY_10_PERCENT_15_MINUTES,
    (RolloutStrategy.CANARY, 10, 30): _CONFIG.CANARY_10_PERCENT_30_MINUTES,
    (RolloutStrategy.LINEAR, 10, 1): _CONFIG.LINEAR_10_PERCENT_EVERY_1_MINUTE,
    (RolloutStrategy.LINEAR, 10, 2): _CONFIG.LINEAR_10_PERCENT_EVERY_2_MINUTES,
    (RolloutStrategy.LINEAR, 10, 3): _CONFIG.LINEAR_10_PERCENT_EVERY_3_MINUTES,
    (RolloutStrategy.LINEAR, 10, 10): _CONFIG.LINEAR_10_PERCENT_EVERY_10_MINUTES,
}
CONFIGS_ID = "RolloutConfigs"


def validate_policy(policy: RolloutPolicy) -> None:
    """Raise ValueError naming every reason CodeDeploy could not run ``policy``."""
    require_props(policy=(policy, RolloutPolicy))
    errors = policy_errors(policy.to_model())
    if errors:
        raise ValueError(f"invalid rollout policy: {'; '.join(errors)}")


def deployment_config_for(
    scope: Construct, policy: RolloutPolicy
) -> codedeploy.ILambdaDeploymentConfig:
    """The CodeDeploy configuration of ``policy``, one per distinct shape in the stack.

    All at once and the shapes CodeDeploy predefines use the predefined
    configuration; any other percent and interval becomes one
    ``LambdaDeploymentConfig`` under ``<stack>/RolloutConfigs``, shared by
    every alias of the stack with that shape.

    :raises ValueError: when the policy cannot run (percent outside 1-99,
        interval below 1 minute, a linear policy longer than 48 hours).
    """
    validate_policy(policy)
    if policy.strategy is RolloutStrategy.ALL_AT_ONCE:
        return codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE
    assert policy.percent is not None and policy.interval_minutes is not None
    key = (policy.strategy, policy.percent, policy.interval_minutes)
    if key in PREDEFINED_CONFIGS:
        return PREDEFINED_CONFIGS[key]
    container = stack_singleton(
        scope, CONFIGS_ID, Construct, lambda stack: Construct(stack, CONFIGS_ID)
    )
    if policy.strategy is RolloutStrategy.CANARY:
        shape = f"Canary{policy.percent}Percent{policy.interval_minutes}Minutes"
        routing: codedeploy.TrafficRouting = codedeploy.TimeBasedCanaryTrafficRouting(
            percentage=policy.percent, interval=cdk.Duration.minutes(policy.interval_minutes)
        )
    else:
        shape = f"Linear{policy.percent}PercentEvery{policy.interval_minutes}Minutes"
        routing = codedeploy.TimeBasedLinearTrafficRouting(
            percentage=policy.percent, interval=cdk.Duration.minutes(policy.interval_minutes)
        )
    existing = container.node.try_find_child(shape)
    if existing is not None:
        return existing  # type: ignore[return-value]
    return codedeploy.LambdaDeploymentConfig(container, shape, traffic_routing=routing)


class AliasRollout(Construct):
    """How one alias moves to a new version: CodeDeploy group, policy and regression alarms.

    Creates a ``LambdaDeploymentGroup`` (``Resource``) for the alias's ``live``
    Lambda alias with the policy's deployment configuration, automatic
    rollback on a failed deployment, a stopped deployment and an alarm, and
    :class:`RegressionAlarms` (``Alarms``: ``Regression`` and ``LambdaErrors``). The hooks
    (evaluation gate, canary analysis) are shared by the stack and attached by
    :class:`~bedrock_lifecycle.constructs.rollout_hooks.RolloutHooks`.

    :param model_alias: the alias to roll out.
    :param policy: how traffic moves. Default: canary 10 % for 10 minutes.
    :param alarms: regression alarm thresholds. Default: ``AlarmThresholds()``.
    :param canary_analysis: what the AfterAllowTraffic hook requires. Default:
        ``CanaryAnalysis()`` (20 requests, 2 points of error rate, 25 % of p99).
    :param evaluation: the golden-prompt file and pass rate of the BeforeAllowTraffic
        gate; the file is read and checked now. Default: no golden prompts (the gate
        passes).
    :param alarm_topic: notified by every alarm. Default: no notification.
    :param application: the CodeDeploy application. Default: a new one.
    :param deployment_group_name: the group's name, which the shared hooks use
        to find this alias's settings. Default: ``<family>.<alias>``.
    :param role: the CodeDeploy service role of the group (``Rollouts`` shares one
        among all groups of a stack). Default: a new role for this group, as
        aws-cdk-lib makes it.

    Attributes: ``deployment_group``, ``deployment_config``, ``alarms`` (every
    alarm the group watches), ``regression_alarms``, ``policy``, ``model_alias``,
    ``deployment_group_name``, ``thresholds``, ``canary_analysis``, ``evaluation``
    (the props as applied, defaults filled in).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_alias: ModelAlias,
        policy: RolloutPolicy | None = None,
        alarms: AlarmThresholds | None = None,
        canary_analysis: CanaryAnalysis | None = None,
        evaluation: Evaluation | None = None,
        alarm_topic: AlarmTopic | None = None,
        application: codedeploy.ILambdaApplication | None = None,
        deployment_group_name: str | None = None,
        role: iam.IRole | None = None,
    ) -> None:
        require_props(model_alias=(model_alias, ModelAlias))
        policy = policy if policy is not None else DEFAULT_ROLLOUT
        family = model_alias.model_version.family
        group_name = (
            deployment_group_name
            if deployment_group_name is not None
            else f"{family}.{model_alias.alias_name}"
        )
        require_props(
            policy=(policy, RolloutPolicy),
            alarms=(alarms, AlarmThresholds),
            canary_analysis=(canary_analysis, CanaryAnalysis),
            evaluation=(evaluation, Evaluation),
        )
        _validate(model_alias, policy, evaluation, group_name)
        super().__init__(scope, construct_id)  # after the props' own checks
        self.model_alias = model_alias
        self.policy = policy
        self.thresholds = alarms if alarms is not None else AlarmThresholds()
        self.canary_analysis = canary_analysis if canary_analysis is not None else CanaryAnalysis()
        self.evaluation = evaluation
        self.deployment_group_name = group_name
        self.deployment_config = deployment_config_for(self, policy)
        self.regression_alarms = RegressionAlarms(
            self,
            "Alarms",
            model_alias=model_alias,
            thresholds=self.thresholds,
            alarm_topic=alarm_topic,
        )
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "Resource",
            alias=model_alias.alias,
            application=application,
            deployment_config=self.deployment_config,
            deployment_group_name=group_name,
            role=role,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        self._alarms: list[cloudwatch.IAlarm] = []
        for alarm in self.regression_alarms.alarms:
            self.add_alarm(alarm)
        # The group (with its alarms) must be in place before CloudFormation
        # updates the alias, which is what starts a deployment.
        model_alias.alias.node.add_dependency(self.deployment_group)
        if role is not None:
            # A role shared by several groups is not below this group: its policy (which
            # lets CodeDeploy invoke the hooks) must exist before the alias moves too.
            model_alias.alias.node.add_dependency(role)
        else:
            acknowledge_codedeploy_role(self.deployment_group)

    @property
    def alarms(self) -> tuple[cloudwatch.IAlarm, ...]:
        """Every alarm the deployment group watches."""
        return tuple(self._alarms)

    def add_alarm(self, alarm: cloudwatch.IAlarm) -> None:
        """Watch one more alarm during deployments; CodeDeploy allows 10 per group.

        :raises ValueError: on the eleventh alarm.
        """
        if len(self._alarms) >= MAX_ALARMS_PER_DEPLOYMENT_GROUP:
            raise ValueError(
                f"a deployment group watches at most {MAX_ALARMS_PER_DEPLOYMENT_GROUP} alarms, "
                f"got {len(self._alarms) + 1} for {self.model_alias.qualified_name}"
            )
        self._alarms.append(alarm)
        self.deployment_group.add_alarm(alarm)

    @property
    def runs_canary_analysis(self) -> bool:
        """All at once leaves no window to analyse: the AfterAllowTraffic hook is left out."""
        return self.policy.strategy is not RolloutStrategy.ALL_AT_ONCE


def acknowledge_codedeploy_role(scope: Construct) -> None:
    """The managed policy aws-cdk-lib attaches to a Lambda deployment group's role."""
    acknowledge(
        scope,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSCodeDeployRoleForLambdaLimited]",
        "CodeDeploy's own service-role policy for Lambda deployments, which aws-cdk-lib "
        "attaches to every Lambda deployment group; AWS maintains it for this one use",
    )


def _validate(
    model_alias: ModelAlias,
    policy: RolloutPolicy,
    evaluation: Evaluation | None,
    group_name: str,
) -> None:
    validate_policy(policy)
    if evaluation is not None:
        path = evaluation.golden_prompts
        if not path.is_file():
            raise ValueError(f"evaluation.golden_prompts {path}: no such file")
        errors = golden.file_errors(path, FamilyKind(model_alias.model_version.kind).value)
        if errors:
            raise ValueError(f"{path}: {errors[0]}")
    if not re.fullmatch(r"[A-Za-z0-9.\-_+=,@]{1,100}", group_name):
        raise ValueError(
            "deployment_group_name must be 1-100 letters, digits or . _ - + = , @, "
            f"got {group_name!r}"
        )
    cfn_alias = model_alias.alias.node.default_child
    if isinstance(cfn_alias, lambda_.CfnAlias) and (
        cfn_alias.provisioned_concurrency_config is not None
    ):
        raise ValueError(
            f"{model_alias.qualified_name}: CodeDeploy shifts this alias with weights, and an "
            "alias with weights cannot use provisioned concurrency; remove it"
        )


@dataclass(frozen=True)
class AliasRolloutProps:
    """One alias and how it rolls out: the props of one :class:`AliasRollout`.

    :param model_alias: the alias to roll out.
    :param policy: how traffic moves. Default: canary 10 % for 10 minutes.
    :param alarms: regression alarm thresholds. Default: ``AlarmThresholds()``.
    :param canary_analysis: what the AfterAllowTraffic hook requires. Default:
        ``CanaryAnalysis()``.
    :param evaluation: the golden-prompt file and pass rate of the gate. Default: no
        golden prompts (the gate passes).
    """

    model_alias: ModelAlias
    policy: RolloutPolicy | None = None
    alarms: AlarmThresholds | None = None
    canary_analysis: CanaryAnalysis | None = None
    evaluation: Evaluation | None = None


class Rollouts(Construct):
    """Every alias rollout of a stack, with one CodeDeploy application and shared hooks.

    :param rollouts: each alias with its rollout settings (construct id
        ``<Family><Alias>`` from the alias's names).
    :param alarm_topic: notified by every alarm. Default: no notification.
    :param with_hooks: build the hooks now. False leaves them to :meth:`add_hooks`,
        once the rollouts of other stacks that share them exist. Default: true.

    Attributes: ``application``, ``rollouts`` (``family/alias`` -> AliasRollout),
    ``hooks`` (:class:`RolloutHooks`), ``role`` (the CodeDeploy service role every
    group shares: one role instead of a role and a policy per alias).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rollouts: Sequence[AliasRolloutProps],
        alarm_topic: AlarmTopic | None = None,
        with_hooks: bool = True,
    ) -> None:
        names = [r.model_alias.qualified_name for r in rollouts]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"rollouts must name each alias once, got {', '.join(duplicates)} twice"
            )
        super().__init__(scope, construct_id)
        self.application = codedeploy.LambdaApplication(self, "Application")
        self.role = iam.Role(
            self,
            "DeploymentRole",
            assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
            description="CodeDeploy: shifts the stack's router aliases and invokes its hooks",
            # What aws-cdk-lib attaches for each deployment group, attached here too: a
            # split environment's groups may all be in its alias stacks, which import the
            # role and cannot attach anything to it.
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSCodeDeployRoleForLambdaLimited"
                )
            ],
        )
        acknowledge_codedeploy_role(self.role)
        self.rollouts: dict[str, AliasRollout] = {}
        for props in rollouts:
            alias = props.model_alias
            self.rollouts[alias.qualified_name] = AliasRollout(
                self,
                pascal(f"{alias.model_version.family}-{alias.alias_name}"),
                model_alias=alias,
                policy=props.policy,
                alarms=props.alarms,
                canary_analysis=props.canary_analysis,
                evaluation=props.evaluation,
                alarm_topic=alarm_topic,
                application=self.application,
                role=self.role,
            )
        self.hooks: RolloutHooks | None = None
        if with_hooks and self.rollouts:
            self.hooks = RolloutHooks(self, "Hooks", rollouts=list(self.rollouts.values()))

    def add_hooks(
        self,
        *,
        external: Sequence[HookedRollout],
        external_application: str,
        external_prefix: str,
        function_names: dict[str, str],
    ) -> RolloutHooks | None:
        """The hooks of this construct's rollouts and of ``external`` ones (the alias
        stacks of a split environment), named ``function_names``; see
        :class:`RolloutHooks`. None when there is no rollout at all."""
        if self.hooks is not None:
            raise ValueError("the hooks exist already (with_hooks=True)")
        if not self.rollouts and not external:
            return None
        self.hooks = RolloutHooks(
            self,
            "Hooks",
            rollouts=list(self.rollouts.values()),
            external=external,
            external_application=external_application,
            external_prefix=external_prefix,
            function_names=function_names,
            deployment_role=self.role,
            keep_both=True,
        )
        return self.hooks
