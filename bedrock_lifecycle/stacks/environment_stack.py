"""One CloudFormation stack per environment, built from the lifecycle file.

The stack is a composition: each part (throughputs, aliases, rollouts, audit,
lifecycle watcher, manifest) is a construct from
:mod:`bedrock_lifecycle.constructs`, so platform teams can build their own
stacks from the same pieces.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..config import LifecycleConfig
from ..constructs.alarm_topic import AlarmTopic
from ..constructs.network import ServiceEndpoints, network_of, use_network
from ..constructs.provisioned_throughput import BUILT_IN_TAG_PRIORITY, TAG_PREFIX
from ..constructs.rollout_hooks import HookedRollout
from ..nag import declare_governance
from ..nag.control_tower import excuse_control_tower_rule
from ..names import (
    PARAMETER_PREFIX,
    environment_prefix,
    hook_function_name,
    shared_application_name,
)
from .builders import (
    aliases_of_environment,
    audit_for_environment,
    customizations_of_environment,
    rollouts_of_environment,
    throughputs_of_environment,
    watcher_for_environment,
)
from .operations import audit_locations, continuous_evaluation_of_stack, dashboard_of_stack
from .shared_refs import ANALYSIS_HOOK, GATE_HOOK, GATE_ROLE_KEY, SharedParts

STACK_PREFIX = "BedrockLifecycle"


def stack_name(environment: str) -> str:
    """``BedrockLifecycle-<environment>``: the stack id and name."""
    return f"{STACK_PREFIX}-{environment}"


# SSM standard parameters hold at most 4 KB. Tokens in the manifest (the ARN of a throughput
# bought in the stack, the partition and region of an environment-agnostic stack) are shorter
# here ("${Token[TOKEN.123]}") than what they become at deploy time: count each as 128
# characters, more than a provisioned model's whole ARN takes.
STANDARD_PARAMETER_LIMIT = 4096
TOKEN_ALLOWANCE = 128


def manifest_tier(text: str) -> ssm.ParameterTier:
    """STANDARD while the manifest surely fits in 4 KB once deployed, else ADVANCED."""
    tokens = len(cdk.Tokenization.reverse_string(text).tokens)
    worst_case = len(text) + tokens * TOKEN_ALLOWANCE
    if worst_case > STANDARD_PARAMETER_LIMIT:
        return ssm.ParameterTier.ADVANCED
    return ssm.ParameterTier.STANDARD


class LifecycleStack(cdk.Stack):
    """Everything one environment of a lifecycle file declares.

    :param config: the validated lifecycle file.
    :param environment: which of its environments this stack is.
    :param split: the environment spans several stacks (:mod:`.environment`): this
        main stack holds the aliases of group 0 and the parts every stack shares,
        and tells the alias stacks where those are (:class:`SharedParts`). Its hooks
        come with :meth:`add_hooks`, once the alias stacks exist. Default: false.

    An environment without ``account`` synthesizes environment-agnostic.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LifecycleConfig,
        environment: str,
        split: bool = False,
        **kwargs: object,
    ) -> None:
        spec = config.file.environments[environment]
        env = (
            cdk.Environment(account=spec.account, region=spec.region)
            if spec.account is not None or spec.region is not None
            else None
        )
        super().__init__(
            scope,
            construct_id,
            env=env,
            stack_name=stack_name(environment),
            description=(
                f"bedrock-lifecycle: Amazon Bedrock model versions, aliases and rollouts of "
                f"{config.file.project} in {environment}"
            ),
            **kwargs,  # type: ignore[arg-type]
        )
        self.config = config
        self.environment_name = environment
        self.spec = spec
        self.split = split
        self.spec_env = env
        # Set by stacks.environment.build_environment: every stack of the environment.
        self.environment_stacks: Any = None
        groups = config.stack_groups(environment)
        held = {name for name, group in groups.items() if group == 0}
        prepare_environment_stack(self, config, environment)
        network = network_of(self)
        # -- network (the VPC endpoints the functions of every stack of the environment use)
        self.endpoints = (
            ServiceEndpoints(
                self,
                "Endpoints",
                network=network,
                route_table_ids=spec.network.route_table_ids,
                subnet_ids=spec.network.endpoint_subnet_ids,
            )
            if network is not None and spec.network is not None and spec.network.create_endpoints
            else None
        )

        # The parts, in dependency order. Each builder below owns one concern.
        self.alarm_topic = AlarmTopic(self, "AlarmTopic", emails=spec.alarm_emails)
        # -- throughputs (provisioned throughput) --
        self.throughputs = throughputs_of_environment(self, config=config, environment=environment)
        # -- audit (invocation audit trail) --
        self.audit = audit_for_environment(self, "Audit", config=config, environment=environment)
        # -- customizations (the job roles customize start uses) --
        self.customizations = customizations_of_environment(
            self, config=config, environment=environment, audit=self.audit
        )
        # -- aliases (router functions) --
        self.aliases = aliases_of_environment(
            self,
            config=config,
            environment=environment,
            throughputs=self.throughputs,
            log_group=self.audit.log_group,
            only=held,
        )
        # -- rollouts (CodeDeploy, alarms, hooks) --
        self.rollouts = rollouts_of_environment(
            self,
            "Rollouts",
            config=config,
            environment=environment,
            aliases=self.aliases,
            alarm_topic=self.alarm_topic,
            with_hooks=not split,
        )
        # -- watcher (Bedrock model lifecycle) --
        self.watcher = watcher_for_environment(
            self,
            "LifecycleWatcher",
            config=config,
            environment=environment,
            alarm_topic=self.alarm_topic,
        )
        self.manifest = version_manifest(self, self.aliases, MANIFEST_SUFFIX)
        # -- operations (continuous evaluation, where the audit trail is) --
        self.continuous_evaluation, self.continuous_alarms = continuous_evaluation_of_stack(
            self,
            config=config,
            environment=environment,
            aliases=self.aliases,
            alarm_topic=self.alarm_topic,
            log_group=self.audit.log_group,
        )
        self.audit_locations = audit_locations(
            self, project=config.file.project, environment=environment, audit=self.audit
        )
        environment_alarms = list(self.watcher.alarms.values())
        if self.continuous_evaluation is not None:
            environment_alarms += self.continuous_evaluation.alarms.values()
        self.dashboard = dashboard_of_stack(
            self,
            config=config,
            environment=environment,
            group=0,
            aliases=self.aliases,
            rollouts=self.rollouts.rollouts,
            continuous_alarms=self.continuous_alarms,
            environment_alarms=environment_alarms,
            other_groups=range(1, config.alias_stack_count(environment) + 1),
        )
        self.shared = SharedParts(self) if split else None

    def add_hooks(self, external: Sequence[HookedRollout]) -> None:
        """The hooks of a split environment: this stack's rollouts and ``external`` ones
        (its alias stacks'), with the names the alias stacks attach them by."""
        project, env = self.config.file.project, self.environment_name
        hooks = self.rollouts.add_hooks(
            external=external,
            external_application=shared_application_name(project, env),
            external_prefix=f"{environment_prefix(project, env)}-",
            function_names={
                "gate": hook_function_name(project, env, GATE_HOOK),
                "analysis": hook_function_name(project, env, ANALYSIS_HOOK),
            },
        )
        if self.shared is not None and hooks is not None and hooks.gate is not None:
            self.shared.publish(GATE_ROLE_KEY, hooks.gate.role.role_arn)


def prepare_environment_stack(stack: cdk.Stack, config: LifecycleConfig, environment: str) -> None:
    """What every stack of an environment carries: its governance declaration (read by
    the project's rules, nag/governance.py) and its tags."""
    spec = config.file.environments[environment]
    if spec.network is None or not spec.network.functions_in_vpc:
        excuse_control_tower_rule(stack, "lambda_inside_vpc_check")
    if spec.network is not None:
        use_network(
            stack,
            vpc_id=spec.network.vpc_id,
            subnet_ids=spec.network.subnet_ids,
            security_group_ids=spec.network.security_group_ids,
            functions_inside=spec.network.functions_in_vpc,
        )
    declare_governance(
        stack,
        environment=environment,
        requires_evaluation_gate=spec.require_evaluation_gate or None,
    )
    apply_tags(
        stack,
        environment,
        {
            f"{TAG_PREFIX}:project": config.file.project,
            f"{TAG_PREFIX}:environment": environment,
        },
        spec.tags,
    )


def apply_tags(
    stack: cdk.Stack, environment: str, built_in: dict[str, str], user: Mapping[str, str]
) -> None:
    """Tag every taggable resource: the user's tags, then the built-in ones on top.

    A user tag under ``bedrock-lifecycle:`` is never applied (those keys are the
    project's: the environment, the audit bucket's purpose) and gets a warning;
    the built-in tags go on with :data:`BUILT_IN_TAG_PRIORITY`, so that they also
    win over a tag of the same key added later at the default priority.
    """
    reserved = sorted(k for k in user if k.lower().startswith(f"{TAG_PREFIX}:"))
    if reserved:
        cdk.Annotations.of(stack).add_warning_v2(
            "bedrock-lifecycle:reserved-tag",
            f"tags {', '.join(reserved)} of environment {environment} are not "
            f"applied: keys under {TAG_PREFIX}: are set by bedrock-lifecycle itself",
        )
    for key, value in user.items():
        if key not in reserved:
            cdk.Tags.of(stack).add(key, value)
    for key, value in built_in.items():
        cdk.Tags.of(stack).add(key, value, priority=BUILT_IN_TAG_PRIORITY)


MANIFEST_SUFFIX = "manifest"


def version_manifest(
    stack: cdk.Stack, aliases: Mapping[str, Any], suffix: str, *, always: bool = False
) -> ssm.StringParameter | None:
    """SSM parameter naming the version every alias of ``stack`` serves; its history is the
    alias history. None for a stack without aliases, unless ``always`` (an alias stack
    whose last alias went keeps its manifest, ``{}``: a stack needs one resource).

    ``{"family/alias": {"version_id", "model_arn", "state"}}`` at
    ``/bedrock-lifecycle/<project>/<env>/<suffix>``, also a stack output.
    ``model_arn`` is the ARN the router sends requests to (a token for a throughput
    bought in this stack); ``state`` is the version's lifecycle state.
    """
    if not aliases and not always:
        return None
    config: LifecycleConfig = stack.config  # type: ignore[attr-defined]
    environment: str = stack.environment_name  # type: ignore[attr-defined]
    manifest = {
        alias.qualified_name: {
            "version_id": alias.version_id,
            "model_arn": aliases[alias.qualified_name].target.model_arn,
            "state": alias.version.lifecycle.state.value,
        }
        for alias in config.aliases_for(environment)
        if alias.qualified_name in aliases
    }
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    parameter = ssm.StringParameter(
        stack,
        "VersionManifest",
        parameter_name=f"{PARAMETER_PREFIX}/{config.file.project}/{environment}/{suffix}",
        string_value=text,
        description="alias -> version id, model ARN and lifecycle state",
        tier=manifest_tier(text),
    )
    # The manifest says what serves: write it once every alias update (and its
    # rollout) has succeeded, never while a canary may still roll back.
    for alias in aliases.values():
        parameter.node.add_dependency(alias.alias)
    cdk.CfnOutput(
        stack,
        "VersionManifestOutput",
        value=text,
        description="alias -> version id, model ARN and lifecycle state",
    )
    return parameter
