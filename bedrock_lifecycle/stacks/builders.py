"""Builders: the resolved lifecycle file in, one construct per concern out.

Each builder takes the :class:`~bedrock_lifecycle.config.LifecycleConfig`, the
environment and what it needs from earlier builders, explicitly, and turns the
file's resolved settings into a construct's props. The constructs themselves
never read the lifecycle file (docs/architecture.md); a platform team's own
stack calls them with props of its own.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from aws_cdk import aws_logs as logs
from constructs import Construct

from .. import props
from ..config import LifecycleConfig, ResolvedAlias
from ..config.models import target_model_ids
from ..constructs.alarm_topic import AlarmTopic
from ..constructs.custom_model_deployment import CustomModelDeployment
from ..constructs.customization_role import CustomizationJobRole, InvocationLogSource
from ..constructs.invocation_audit import INVOCATION_LOG_PREFIX, InvocationAudit, log_retention
from ..constructs.lifecycle_watcher import LifecycleWatcher
from ..constructs.model_alias import (
    ModelAlias,
    alias_construct_id,
    alias_parameter_name,
)
from ..constructs.provisioned_throughput import TAG_PREFIX, ProvisionedThroughput
from ..constructs.rollout import AliasRolloutProps, Rollouts
from ..names import (
    PARAMETER_PREFIX,
    customization_parameter_name,
    deployment_name,
    throughput_name,
)
from ..values import VersionSpec
from ..versions import ModelVersion


def throughputs_of_environment(
    scope: Construct, *, config: LifecycleConfig, environment: str
) -> dict[str, ProvisionedThroughput]:
    """Every throughput ``config`` buys in ``environment``, keyed by its name in the file.

    Each is named ``<project>-<environment>-<name>`` in Bedrock and tagged with the
    families and versions whose target it is. Construct path: ``Throughputs/<name>``.
    """
    specs = config.throughputs_for(environment)
    if not specs:
        return {}
    parent = Construct(scope, "Throughputs")
    out: dict[str, ProvisionedThroughput] = {}
    for name, spec in specs.items():
        users = [
            (family_name, label)
            for family_name, family in config.file.families.items()
            for label, version in family.versions.items()
            if version.target.provisioned_throughput == name
        ]
        families = " ".join(sorted({f for f, _ in users}))
        versions = " ".join(sorted(f"{f}/{label}" for f, label in users))
        out[name] = ProvisionedThroughput(
            parent,
            name,
            model=config.throughput_model(name, environment),
            model_units=spec.model_units,
            provisioned_model_name=throughput_name(config.file.project, environment, name),
            commitment=spec.commitment,
            allow_replacement=spec.allow_replacement,
            tags={
                **config.file.environments[environment].tags,
                f"{TAG_PREFIX}:project": config.file.project,
            },
            family=families[:256] if families else None,
            version=versions[:256] if versions else None,
            environment=environment,
        )
    return out


def audit_for_environment(
    scope: Construct, construct_id: str, *, config: LifecycleConfig, environment: str
) -> InvocationAudit:
    """The audit trail an environment declares (its ``audit`` and ``prompt_logging``)."""
    spec = config.file.environments[environment]
    return InvocationAudit(
        scope,
        construct_id,
        object_lock_mode=spec.audit.object_lock_mode,
        retention_days=spec.audit.retention_days,
        log_retention_days=spec.audit.log_retention_days,
        invocation_logging=spec.audit.invocation_logging,
        text_data_delivery=spec.prompt_logging,
    )


def aliases_of_environment(
    scope: Construct,
    *,
    config: LifecycleConfig,
    environment: str,
    throughputs: Mapping[str, Any],
    log_group: logs.ILogGroup | None = None,
    only: Collection[str] | None = None,
    function_names: Mapping[str, str] | None = None,
    log_group_arn: str | None = None,
    deployment_group: int = 0,
) -> dict[str, ModelAlias]:
    """Every alias of every family ``config`` declares in ``environment``, by ``family/alias``.

    :param throughputs: the environment's provisioned throughputs by name (objects
        with ``provisioned_model_arn`` and, optionally, ``purchase_key``), for versions that
        target one.
    :param log_group: where every router logs its audit records. Default: each
        router's own log group, kept for the environment's ``log_retention_days``.
    :param only: the ``family/alias`` names to build (one stack of a split
        environment). Default: every alias of the environment.
    :param function_names: ``family/alias`` -> router function name. Default:
        CloudFormation names them.
    :param log_group_arn: the ARN to grant log writes on, with a ``log_group``
        imported from another stack. Default: ``log_group``'s.
    :param deployment_group: the stack group of ``scope`` (0: the main stack), part of
        the Bedrock name of each custom model deployment it makes. Default: 0.

    A version that targets a ``custom_model`` is served by an on-demand deployment of
    it (``CustomModelDeployments/<name>``), one per stack and custom model, made for
    the aliases of that stack that serve or may move to such a version.

    Construct path: ``Aliases/<Family><Alias>``, for example ``Aliases/SummarizerPinnedV1``.
    SSM parameter: ``/bedrock-lifecycle/<project>/<environment>/aliases/<family>/<alias>``.
    """
    resolved = [
        a for a in config.aliases_for(environment) if only is None or a.qualified_name in only
    ]
    if not resolved:
        return {}
    spec = config.file.environments[environment]
    names = function_names or {}
    ids: dict[str, str] = {}
    for alias in resolved:
        construct_id = alias_construct_id(alias.family, alias.name)
        if construct_id in ids:
            raise ValueError(
                f"aliases {ids[construct_id]} and {alias.qualified_name} both make construct id "
                f"{construct_id}; rename one"
            )
        ids[construct_id] = alias.qualified_name
        for label, version in ((alias.version_label, alias.version), *alias.standby):
            target = version.target
            if target.provisioned_throughput is not None and target.value not in throughputs:
                role = "serves" if label == alias.version_label else "may move to"
                raise ValueError(
                    f"{alias.qualified_name} in {environment} {role} {alias.family}/{label}, "
                    f"which targets provisioned throughput {target.value!r}; none is built in "
                    f"{environment} (built: {', '.join(sorted(throughputs)) or 'none'})"
                )
    deployments = _DeploymentsOf(scope, config, environment, deployment_group)
    parent = Construct(scope, "Aliases")
    out: dict[str, ModelAlias] = {}
    for alias in resolved:

        def model_version_of(
            label: str, spec: VersionSpec, alias: ResolvedAlias = alias
        ) -> ModelVersion:
            """``label`` of the alias's family; a throughput target takes its ARN and purchase,
            a custom model its deployment's."""
            throughput = (
                throughputs[spec.target.value]
                if spec.target.provisioned_throughput is not None
                else None
            )
            deployment = (
                deployments.of(spec.target.custom_model)
                if spec.target.custom_model is not None
                else None
            )
            served = throughput if throughput is not None else deployment
            return ModelVersion.from_spec(
                alias.family,
                label,
                spec,
                kind=alias.family_kind,
                provisioned_model_arn=(
                    throughput.provisioned_model_arn if throughput is not None else None
                ),
                purchase_key=getattr(served, "purchase_key", None),
                deployment_arn=deployment.deployment_arn if deployment is not None else None,
            )

        model_version = model_version_of(alias.version_label, alias.version)
        # A version on a custom model not made here yet cannot be called: not granted
        # (validate refuses it where an alias serves it).
        standby = [
            model_version_of(label, other)
            for label, other in alias.standby
            if other.target.custom_model is None
            or config.custom_model_arn(other.target.custom_model, environment) is not None
        ]
        out[alias.qualified_name] = ModelAlias(
            parent,
            alias_construct_id(alias.family, alias.name),
            model_version=model_version,
            alias_name=alias.name,
            environment=environment,
            allowed_overrides=alias.allowed_overrides,
            prompt_logging=spec.prompt_logging,
            log_group=log_group,
            log_retention=log_retention(spec.audit.log_retention_days),
            parameter_name=alias_parameter_name(
                environment,
                alias.family,
                alias.name,
                prefix=f"{PARAMETER_PREFIX}/{config.file.project}",
            ),
            standby_versions=standby,
            function_name=names.get(alias.qualified_name),
            log_group_arn=log_group_arn,
            max_concurrency=alias.max_concurrency,
        )
    return out


def watched_models(config: LifecycleConfig, environment: str) -> dict[str, tuple[str, ...]]:
    """``family/alias`` -> the foundation model ids it runs on in ``environment``."""
    return {
        alias.qualified_name: target_model_ids(alias.version.target, config.file)
        for alias in config.aliases_for(environment)
    }


def invoked_model_ids(config: LifecycleConfig, environment: str) -> list[str]:
    """``ModelId`` values Bedrock's metrics carry for the environment's on-demand calls.

    The foundation models, plus the ids of system inference profiles (calls
    through a profile are counted under the profile's id).
    """
    ids: dict[str, None] = {}
    for alias in config.aliases_for(environment):
        ids.update(dict.fromkeys(target_model_ids(alias.version.target, config.file)))
        if alias.version.target.inference_profile is not None:
            ids[alias.version.target.inference_profile] = None
    return list(ids)


def watcher_for_environment(
    scope: Construct,
    construct_id: str,
    *,
    config: LifecycleConfig,
    environment: str,
    alarm_topic: AlarmTopic | None,
) -> LifecycleWatcher:
    """The watcher of one environment: its aliases' models, its threshold, its topic."""
    return LifecycleWatcher(
        scope,
        construct_id,
        environment=environment,
        aliases=watched_models(config, environment),
        invoked_model_ids=invoked_model_ids(config, environment),
        end_of_life_warning_days=(
            config.file.environments[environment].lifecycle_watcher.end_of_life_warning_days
        ),
        alarm_topic=alarm_topic,
    )


def rollout_props(model_alias: ModelAlias, resolved: ResolvedAlias) -> AliasRolloutProps:
    """The rollout props of ``model_alias`` from its resolved alias in the file."""
    return AliasRolloutProps(
        model_alias=model_alias,
        policy=props.RolloutPolicy.from_model(resolved.rollout),
        alarms=props.AlarmThresholds.from_model(resolved.alarms),
        canary_analysis=props.CanaryAnalysis.from_model(resolved.canary_analysis),
        evaluation=(
            props.Evaluation(
                golden_prompts=resolved.evaluation_file, pass_rate=resolved.evaluation.pass_rate
            )
            if resolved.evaluation is not None and resolved.evaluation_file is not None
            else None
        ),
    )


def rollouts_of_environment(
    scope: Construct,
    construct_id: str,
    *,
    config: LifecycleConfig,
    environment: str,
    aliases: Mapping[str, ModelAlias],
    alarm_topic: AlarmTopic | None,
    with_hooks: bool = True,
) -> Rollouts:
    """Every alias's rollout: each ``ModelAlias`` paired with its resolved settings.

    :param aliases: the aliases of this stack (all of the environment's, or one
        stack's share of a split environment).
    :param with_hooks: build the hooks now (see ``Rollouts``). Default: true.
    """
    return Rollouts(
        scope,
        construct_id,
        rollouts=[
            rollout_props(aliases[alias.qualified_name], alias)
            for alias in config.aliases_for(environment)
            if alias.qualified_name in aliases
        ],
        alarm_topic=alarm_topic,
        with_hooks=with_hooks,
    )


class _DeploymentsOf:
    """The on-demand deployments of custom models one stack makes, on first use."""

    def __init__(
        self, scope: Construct, config: LifecycleConfig, environment: str, group: int
    ) -> None:
        self._scope, self._config, self._environment, self._group = (
            scope,
            config,
            environment,
            group,
        )
        self._parent: Construct | None = None
        self._made: dict[str, CustomModelDeployment] = {}

    def of(self, name: str) -> CustomModelDeployment:
        if name in self._made:
            return self._made[name]
        config, environment = self._config, self._environment
        arn = config.custom_model_arn(name, environment)
        if arn is None:
            raise ValueError(
                f"custom model {name} has no model in {environment} yet: run "
                f"`bedrock-lifecycle customize status {name}` once its job has completed "
                "(docs/fine-tuning.md)"
            )
        if self._parent is None:
            self._parent = Construct(self._scope, "CustomModelDeployments")
        project = config.file.project
        self._made[name] = CustomModelDeployment(
            self._parent,
            name,
            model_arn=arn,
            deployment_name=deployment_name(project, environment, name, self._group),
            # Not the file's description: editing free text must not replace a deployment.
            description=f"bedrock-lifecycle {project}/{environment}: {name}",
            tags={
                **config.file.environments[environment].tags,
                f"{TAG_PREFIX}:project": project,
                f"{TAG_PREFIX}:custom-model": name,
            },
            environment=environment,
        )
        return self._made[name]


def customizations_of_environment(
    scope: Construct, *, config: LifecycleConfig, environment: str, audit: InvocationAudit
) -> dict[str, CustomizationJobRole]:
    """The job role (or the file's ``role_arn``) and the SSM parameter of every
    customization the file runs in ``environment``, by custom model name.

    Construct path: ``Customizations/<name>``. SSM parameter:
    ``/bedrock-lifecycle/<project>/<environment>/custom-models/<name>``.
    """
    jobs = {
        name: spec.customization
        for name, spec in config.file.custom_models.items()
        if spec.customization is not None and environment in spec.customization.environments
    }
    if not jobs:
        return {}
    parent = Construct(scope, "Customizations")
    out: dict[str, CustomizationJobRole] = {}
    for name, job in jobs.items():
        training = job.training_data
        out[name] = CustomizationJobRole(
            parent,
            name,
            parameter_name=customization_parameter_name(config.file.project, environment, name),
            reads=[u for u in (training.s3_uri, *job.validation_data) if u is not None],
            output_uri=job.output_uri,
            kms_key_arn=job.kms_key,
            invocation_logs=(
                InvocationLogSource(audit.bucket, INVOCATION_LOG_PREFIX, audit.key)
                if training.invocation_logs is not None
                else None
            ),
            subnet_ids=job.network.subnet_ids if job.network is not None else (),
            security_group_ids=job.network.security_group_ids if job.network is not None else (),
            role_arn=job.role_arn,
        )
    return out
