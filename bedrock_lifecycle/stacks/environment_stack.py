"""One CloudFormation stack per environment, built from the lifecycle file.

The stack is a composition: each part (throughputs, aliases, rollouts, audit,
lifecycle watcher, manifest) is a construct from
:mod:`bedrock_lifecycle.constructs`, so platform teams can build their own
stacks from the same pieces.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..config import LifecycleConfig
from ..constructs.alarm_topic import AlarmTopic
from ..constructs.provisioned_throughput import BUILT_IN_TAG_PRIORITY, TAG_PREFIX
from ..nag import declare_governance
from .builders import (
    aliases_of_environment,
    audit_for_environment,
    rollouts_of_environment,
    throughputs_of_environment,
    watcher_for_environment,
)

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

    An environment without ``account`` synthesizes environment-agnostic.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LifecycleConfig,
        environment: str,
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
        # What the project's rules need to know of this environment (nag/governance.py).
        declare_governance(
            self,
            environment=environment,
            requires_evaluation_gate=spec.require_evaluation_gate or None,
        )
        self._apply_tags(
            {
                f"{TAG_PREFIX}:project": config.file.project,
                f"{TAG_PREFIX}:environment": environment,
            },
            spec.tags,
        )

        # The parts, in dependency order. Each builder below owns one concern.
        self.alarm_topic = AlarmTopic(self, "AlarmTopic", emails=spec.alarm_emails)
        # -- throughputs (provisioned throughput) --
        self.throughputs = throughputs_of_environment(self, config=config, environment=environment)
        # -- audit (invocation audit trail) --
        self.audit = audit_for_environment(self, "Audit", config=config, environment=environment)
        # -- aliases (router functions) --
        self.aliases = aliases_of_environment(
            self,
            config=config,
            environment=environment,
            throughputs=self.throughputs,
            log_group=self.audit.log_group,
        )
        # -- rollouts (CodeDeploy, alarms, hooks) --
        self.rollouts = rollouts_of_environment(
            self,
            "Rollouts",
            config=config,
            environment=environment,
            aliases=self.aliases,
            alarm_topic=self.alarm_topic,
        )
        # -- watcher (Bedrock model lifecycle) --
        self.watcher = watcher_for_environment(
            self,
            "LifecycleWatcher",
            config=config,
            environment=environment,
            alarm_topic=self.alarm_topic,
        )
        self.manifest = self._version_manifest()

    def _apply_tags(self, built_in: dict[str, str], user: Mapping[str, str]) -> None:
        """Tag every taggable resource: the user's tags, then the built-in ones on top.

        A user tag under ``bedrock-lifecycle:`` is never applied (those keys are the
        project's: the environment, the audit bucket's purpose) and gets a warning;
        the built-in tags go on with :data:`BUILT_IN_TAG_PRIORITY`, so that they also
        win over a tag of the same key added later at the default priority.
        """
        reserved = sorted(k for k in user if k.lower().startswith(f"{TAG_PREFIX}:"))
        if reserved:
            cdk.Annotations.of(self).add_warning_v2(
                "bedrock-lifecycle:reserved-tag",
                f"tags {', '.join(reserved)} of environment {self.environment_name} are not "
                f"applied: keys under {TAG_PREFIX}: are set by bedrock-lifecycle itself",
            )
        for key, value in user.items():
            if key not in reserved:
                cdk.Tags.of(self).add(key, value)
        for key, value in built_in.items():
            cdk.Tags.of(self).add(key, value, priority=BUILT_IN_TAG_PRIORITY)

    def _version_manifest(self) -> ssm.StringParameter:
        """SSM parameter naming the version every alias serves; its history is the alias history.

        ``{"family/alias": {"version_id", "model_arn", "state"}}``, also a stack output.
        ``model_arn`` is the ARN the router sends requests to (a token for a throughput
        bought in this stack); ``state`` is the version's lifecycle state.
        """
        manifest = {
            alias.qualified_name: {
                "version_id": alias.version_id,
                "model_arn": self.aliases[alias.qualified_name].target.model_arn,
                "state": alias.version.lifecycle.state.value,
            }
            for alias in self.config.aliases_for(self.environment_name)
        }
        text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
        parameter = ssm.StringParameter(
            self,
            "VersionManifest",
            parameter_name=(
                f"/bedrock-lifecycle/{self.config.file.project}/{self.environment_name}/manifest"
            ),
            string_value=text,
            description="alias -> version id, model ARN and lifecycle state",
            tier=manifest_tier(text),
        )
        # The manifest says what serves: write it once every alias update (and its
        # rollout) has succeeded, never while a canary may still roll back.
        for alias in self.aliases.values():
            parameter.node.add_dependency(alias.alias)
        cdk.CfnOutput(
            self,
            "VersionManifestOutput",
            value=text,
            description="alias -> version id, model ARN and lifecycle state",
        )
        return parameter
