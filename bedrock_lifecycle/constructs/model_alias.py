"""ModelAlias: a stable name that serves one immutable model version through a router Lambda.

One router function per alias (docs/architecture.md): a Lambda version snapshots exactly
one configuration, CodeDeploy shifts one Lambda alias per deployment group, and
each alias then rolls out, rolls back, is granted and is alarmed on its own.
The version served is written into the function's environment
(``ROUTER_CONFIG``), so a new model version makes a new Lambda version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..nag import declare_governance
from ..names import PARAMETER_PREFIX
from ..props import require_props
from ..shared import contract
from ..values import MAX_RESERVED_CONCURRENCY, InferenceOverride
from ..versions import ModelVersion, ResolvedTarget, check_grants_size
from .alias_metrics import ALIAS_WIDE_METRICS, METRIC_NAMESPACE, ROUTER_METRICS, RouterMetrics
from .function import DEFAULT_LOG_RETENTION, LifecycleFunction, acknowledge_xray
from .router_config import (
    CONFIG_ENV,
    ENVIRONMENT_HEADROOM,
    OVERRIDE_KEYS,
    router_config,
    validate_alias_props,
)

__all__ = [
    "ALIAS_WIDE_METRICS",
    "CONFIG_ENV",
    "LIVE_ALIAS_NAME",
    "METRIC_NAMESPACE",
    "OVERRIDE_KEYS",
    "ROUTER_METRICS",
    "ROUTER_TIMEOUT",
    "ModelAlias",
    "alias_construct_id",
    "alias_parameter_name",
    "pascal",
    "router_config",
]

# What the router and this construct agree on is bedrock_lifecycle/shared/contract.py,
# which the router's asset carries as contract.py (router_config.py, alias_metrics.py).
ROUTER_SOURCE = "router"
LIVE_ALIAS_NAME = contract.LIVE_ALIAS
# Construct id prefix of the router's Bedrock grants; the digest of their content follows.
GRANTS_ID = "Grants"
GRANTS_DIGEST_LENGTH = 8
# The router retries 3 attempts of at most 3 s connect + 60 s read, with
# backoff between them: 4 minutes lets it always answer with a structured error.
ROUTER_TIMEOUT = cdk.Duration.minutes(4)
ROUTER_MEMORY_MIB = 256
STANDARD_PARAMETER_LIMIT = 4096


def pascal(name: str) -> str:
    """``pinned-v1`` -> ``PinnedV1``: construct ids from lifecycle names."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-._]", name) if part)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _validate_standby(model_version: ModelVersion, standby: Sequence[ModelVersion]) -> None:
    for other in standby:
        if not isinstance(other, ModelVersion):
            raise ValueError(f"standby_versions must be ModelVersion, got {other!r}")
        if other.family != model_version.family or other.kind is not model_version.kind:
            raise ValueError(
                f"standby_versions must be {model_version.kind.value} versions of family "
                f"{model_version.family} (one router serves one family), got "
                f"{other.qualified_name} ({other.kind.value})"
            )


class ModelAlias(RouterMetrics, Construct):
    """A stable alias (``family/alias``) serving one model version through a router function.

    Creates the router function (``Function``, a :class:`LifecycleFunction`),
    its Lambda version for the current configuration, the Lambda alias
    ``live`` (``Resource``) that callers invoke and CodeDeploy shifts, an SSM
    parameter with the current target (``Parameter``) for callers that call
    Bedrock directly, and an output with the alias ARN (``AliasArn``).

    :param model_version: the version the alias serves now.
    :param alias_name: the alias name within its family, for example ``live``.
    :param environment: the environment name, stamped into requests, metrics and audit.
    :param allowed_overrides: inference settings callers may override per request.
        Default: none (chat families only).
    :param prompt_logging: audit records keep the request and response text.
        Default: false (hashes and token counts only).
    :param log_group: where the router logs its audit records and metrics, for
        example a shared, retained, KMS-encrypted audit log group. Default: the
        function's own log group, KMS-encrypted, kept for ``log_retention``.
    :param log_retention: retention of the function's own log group (ignored with
        ``log_group``). Default: one year.
    :param parameter_name: SSM parameter holding the current target. Default:
        :func:`alias_parameter_name`, ``/bedrock-lifecycle/<environment>/aliases/<family>/<alias>``.
    :param description: shown on the function. Default: names alias and version.
    :param standby_versions: other versions of the same family that the alias may
        be shifted from or rolled back to. The router's role may call their
        targets and guardrails too, so that moving between them changes no
        permission (docs/rollouts.md, "The grant rule"). Default: none: every move
        then writes a new grants policy, created seconds before the evaluation
        gate calls the new version (the old one stays until the deploy succeeded).
    :param requires_evaluation_gate: a rollout of this alias must run the evaluation
        gate first; the project's cdk-nag rule ``ProdEvaluationGate`` refuses one that
        does not. It can only add the requirement: in an environment named prod or
        production, and under a stack that declares it (``declare_governance``), the
        gate is required whatever this says. Default: only there.
    :param function_name: the router function's physical name, for an alias whose
        function another stack must name (the hooks of a split environment).
        Default: CloudFormation names it.
    :param log_group_arn: with a ``log_group`` imported from another stack: the ARN
        its writes are granted on (the group's ``Arn`` attribute). Default: the log
        group's own ARN.
    :param max_concurrency: reserved concurrency of the router: the most requests the
        alias serves at once, which caps its share of the account's Bedrock quota
        (reserved concurrency works with a weighted alias; provisioned concurrency does
        not). Default: unreserved.

    Attributes: ``function`` (the router ``lambda_.Function``), ``router`` (its
    LifecycleFunction), ``version`` (``lambda_.Version`` of the current
    configuration), ``alias`` (``lambda_.Alias`` ``live``), ``model_version``,
    ``target`` (resolved model id and ARNs), ``parameter``, ``qualified_name``
    (``family/alias``), ``alias_name``, ``environment_name``, ``standby_versions``,
    ``granted_targets`` (the resolved targets of the current and standby versions,
    current first: what the role may call), ``grants`` (the ``iam.ManagedPolicy`` holding
    them, construct id ``Grants<digest of its content>``: a change of grants is a new
    policy).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_version: ModelVersion,
        alias_name: str,
        environment: str,
        allowed_overrides: Sequence[InferenceOverride] = (),
        prompt_logging: bool = False,
        log_group: logs.ILogGroup | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        parameter_name: str | None = None,
        description: str | None = None,
        standby_versions: Sequence[ModelVersion] = (),
        requires_evaluation_gate: bool | None = None,
        function_name: str | None = None,
        log_group_arn: str | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        standby_versions = tuple(standby_versions)  # read once: any iterable will do
        require_props(
            model_version=(model_version, ModelVersion),
            **{f"standby_versions[{i}]": (v, ModelVersion) for i, v in enumerate(standby_versions)},
        )
        if max_concurrency is not None and not (1 <= max_concurrency <= MAX_RESERVED_CONCURRENCY):
            raise ValueError(
                f"max_concurrency must be between 1 and {MAX_RESERVED_CONCURRENCY}, "
                f"got {max_concurrency}"
            )
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        target = model_version.resolve(
            partition=stack.partition, region=stack.region, account=stack.account
        )
        standby = tuple(standby_versions)
        _validate_standby(model_version, standby)
        config, config_text = validate_alias_props(
            model_version,
            target,
            alias_name=alias_name,
            environment=environment,
            allowed_overrides=tuple(allowed_overrides),
            prompt_logging=prompt_logging,
            parameter_name=parameter_name,
        )
        # The project's rules read this: a rollout here without a gate is a finding.
        declare_governance(
            self, environment=environment, requires_evaluation_gate=requires_evaluation_gate
        )
        self.model_version = model_version
        self.target = target
        self.alias_name = alias_name
        self.environment_name = environment
        self.qualified_name = f"{model_version.family}/{alias_name}"
        self.standby_versions = standby
        self.granted_targets: tuple[ResolvedTarget, ...] = (
            target,
            *(
                v.resolve(partition=stack.partition, region=stack.region, account=stack.account)
                for v in standby
            ),
        )

        self.router = LifecycleFunction(
            self,
            "Function",
            source=ROUTER_SOURCE,
            description=(
                description
                if description is not None
                else f"{environment} {self.qualified_name}: serves {model_version.version_id}"
            ),
            environment={CONFIG_ENV: config_text},
            timeout=ROUTER_TIMEOUT,
            memory_size=ROUTER_MEMORY_MIB,
            service_name="router",
            log_retention=log_retention,
            log_group=log_group,
            # Its log and X-Ray statements go into the grants policy: no default policy.
            role_policy="caller",
            log_group_arn=log_group_arn,
            function_name=function_name,
            # Not part of a version: a change applies at once, to every version.
            reserved_concurrent_executions=max_concurrency,
        )
        self.function: lambda_.Function = self.router.function
        self.grants = self._grants(stack)
        if model_version.purchase_key is not None:
            # A replaced throughput keeps its logical id, so the template shows no change
            # of ARN: publish a new Lambda version (and CodeDeploy shifts to it) anyway.
            # Resolved first: the key may hold tokens (units from a parameter, an import).
            self.function.invalidate_version_based_on(
                json.dumps(stack.resolve(model_version.purchase_key), sort_keys=True)
            )
        self.version: lambda_.Version = self.function.current_version
        self.alias = lambda_.Alias(
            self,
            "Resource",
            alias_name=LIVE_ALIAS_NAME,
            version=self.version,
            description=f"{self.qualified_name} in {environment}",
        )
        # Widened before the alias moves (and the gate invokes the new version).
        self.alias.node.add_dependency(self.grants)

        parameter_value = json.dumps(
            {
                "alias": self.qualified_name,
                "version_id": model_version.version_id,
                "model_id": target.model_id,
                "model_arn": target.model_arn,
                "inference": config["inference"] or config["embedding"],
                "system": model_version.system_prompt,
                "guardrail": config["guardrail"],
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
        self.parameter = ssm.StringParameter(
            self,
            "Parameter",
            parameter_name=(
                parameter_name
                if parameter_name is not None
                else alias_parameter_name(environment, model_version.family, alias_name)
            ),
            string_value=parameter_value,
            description=f"{self.qualified_name} in {environment}: current model target",
            tier=(
                ssm.ParameterTier.ADVANCED
                if len(parameter_value.encode("utf-8")) + ENVIRONMENT_HEADROOM
                > STANDARD_PARAMETER_LIMIT
                else ssm.ParameterTier.STANDARD
            ),
        )
        # Direct callers follow the parameter with no canary: update it only once the
        # alias update (and with it CodeDeploy's rollout) has succeeded, so that a rollout
        # that rolls back never moved them.
        self.parameter.node.add_dependency(self.alias)
        cdk.CfnOutput(
            self,
            "AliasArn",
            value=self.alias.function_arn,
            description=f"{self.qualified_name} in {environment}: invoke this Lambda alias",
        )

    # -- grants ------------------------------------------------------------

    def _grants(self, stack: cdk.Stack) -> iam.ManagedPolicy:
        """The role's Bedrock permissions, in a managed policy named by the digest of its content.

        Why a new policy per content instead of an update in place: CloudFormation
        creates the new one before the alias moves and deletes the old one only in
        the clean-up after the whole deploy (rollouts included) has succeeded, or,
        when the deploy fails, deletes the new one only after the rollback has put
        every alias back. So at every moment of a rollout and of its rollback, the
        union of both grant sets is live, including for a version retired or a
        throughput replaced in the same change. A customer-managed policy, not an
        inline one: old and new are attached side by side during a deploy, and
        inline policies share one 10,240-character budget per role.
        """
        invoke_arns = _unique(a for t in self.granted_targets for a in t.invoke_arns)
        guardrail_arns = _unique(
            t.guardrail_arn for t in self.granted_targets if t.guardrail_arn is not None
        )
        check_grants_size(self.qualified_name, (self.model_version, *self.standby_versions))
        purchases = [
            v.purchase_key
            for v in (self.model_version, *self.standby_versions)
            if v.purchase_key is not None
        ]
        # Order-free: which version is current does not change what the role may call.
        content = json.dumps(
            [
                sorted(json.dumps(item, sort_keys=True) for item in stack.resolve(list(group)))
                for group in (invoke_arns, guardrail_arns, purchases)
            ]
        )
        digest = hashlib.sha256(content.encode()).hexdigest()[:GRANTS_DIGEST_LENGTH]
        statements = [
            iam.PolicyStatement(
                sid="InvokeTheFamilysVersions",
                actions=["bedrock:InvokeModel"],
                resources=list(invoke_arns),
            )
        ]
        if guardrail_arns:
            statements.append(
                iam.PolicyStatement(
                    sid="ApplyTheFamilysGuardrails",
                    actions=["bedrock:ApplyGuardrail"],
                    resources=list(guardrail_arns),
                )
            )
        # What the router needs to run (its log group, X-Ray) rides along, outside the
        # digest: the same in every version, and no default policy per router.
        policy = iam.ManagedPolicy(
            self,
            f"{GRANTS_ID}{digest}",
            description=f"{self.qualified_name} in {self.environment_name}: Bedrock grants",
            statements=[*statements, *self.router.base_statements()],
            roles=[self.router.role],
        )
        acknowledge_xray(policy)
        return policy

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` invoke the alias ``live`` (``lambda:InvokeFunction`` on its ARN)."""
        return self.alias.grant_invoke(grantee)


def alias_parameter_name(
    environment: str, family: str, alias_name: str, *, prefix: str = PARAMETER_PREFIX
) -> str:
    """``<prefix>/<environment>/aliases/<family>/<alias>``: the SSM parameter of an alias.

    :param prefix: Default: ``/bedrock-lifecycle``; the lifecycle file's stacks add
        the project (``/bedrock-lifecycle/<project>``).
    """
    return f"{prefix}/{environment}/aliases/{family}/{alias_name}"


def alias_construct_id(family: str, alias_name: str) -> str:
    """``summarizer`` + ``pinned-v1`` -> ``SummarizerPinnedV1``: stable, public."""
    return pascal(family) + pascal(alias_name)
