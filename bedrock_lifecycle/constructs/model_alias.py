"""ModelAlias: a stable name that serves one immutable model version through a router Lambda.

One router function per alias (design.md): a Lambda version snapshots exactly
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
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..nag import acknowledge, declare_governance
from ..shared import contract
from ..values import FamilyKind, InferenceOverride
from ..versions import ModelVersion, ResolvedTarget, check_grants_size
from .function import DEFAULT_LOG_RETENTION, LifecycleFunction

# What the router and this construct agree on is bedrock_lifecycle/shared/contract.py,
# which the router's asset carries as contract.py.
ROUTER_SOURCE = "router"
CONFIG_ENV = contract.ROUTER_CONFIG_ENV
METRIC_NAMESPACE = contract.ROUTER_NAMESPACE
LIVE_ALIAS_NAME = "live"
# Construct id prefix of the router's Bedrock grants; the digest of their content follows.
GRANTS_ID = "Grants"
GRANTS_DIGEST_LENGTH = 8
# The router retries 3 attempts of at most 3 s connect + 60 s read, with
# backoff between them: 4 minutes lets it always answer with a structured error.
ROUTER_TIMEOUT = cdk.Duration.minutes(4)
ROUTER_MEMORY_MIB = 256
# Lambda limits all environment variables of a function to 4 KB together.
LAMBDA_ENVIRONMENT_LIMIT = 4096
ENVIRONMENT_HEADROOM = 512  # Powertools variables and tokens resolved at deploy time
STANDARD_PARAMETER_LIMIT = 4096

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,15}$")

_UNITS = {"Count": cloudwatch.Unit.COUNT, "Milliseconds": cloudwatch.Unit.MILLISECONDS}
# Metric name -> (unit, default statistic). The router emits exactly these.
ROUTER_METRICS: dict[str, tuple[cloudwatch.Unit, str]] = {
    name: (_UNITS[unit], statistic) for name, (unit, statistic) in contract.ROUTER_METRICS.items()
}
# Also published per alias across all its versions.
ALIAS_WIDE_METRICS = contract.ALIAS_WIDE_METRICS
OVERRIDE_KEYS = {InferenceOverride(name): key for name, key in contract.OVERRIDE_KEYS.items()}


def pascal(name: str) -> str:
    """``pinned-v1`` -> ``PinnedV1``: construct ids from lifecycle names."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-._]", name) if part)


def router_config(
    model_version: ModelVersion,
    target: ResolvedTarget,
    *,
    environment: str,
    alias_name: str,
    allowed_overrides: Sequence[InferenceOverride] = (),
    prompt_logging: bool = False,
) -> dict[str, Any]:
    """The ``ROUTER_CONFIG`` object the router reads (see the router's ``RouterConfig``)."""
    inference = model_version.inference
    chat: dict[str, Any] = {}
    embedding: dict[str, Any] = {}
    if model_version.kind is FamilyKind.EMBEDDING:
        if inference.dimensions is not None:
            embedding["dimensions"] = inference.dimensions
        if inference.normalize is not None:
            embedding["normalize"] = inference.normalize
    else:
        if inference.max_tokens is not None:
            chat["maxTokens"] = inference.max_tokens
        if inference.temperature is not None:
            chat["temperature"] = inference.temperature
        if inference.top_p is not None:
            chat["topP"] = inference.top_p
        if inference.stop_sequences:
            chat["stopSequences"] = list(inference.stop_sequences)
    guardrail = model_version.guardrail
    return {
        "environment": environment,
        "family": model_version.family,
        "alias": alias_name,
        "kind": model_version.kind.value,
        "version_id": model_version.version_id,
        "model_id": target.model_id,
        "model_arn": target.model_arn,
        "inference": chat,
        "system": model_version.system_prompt,
        "guardrail": (
            {"guardrailIdentifier": guardrail.id, "guardrailVersion": guardrail.version}
            if guardrail is not None
            else None
        ),
        "embedding": embedding,
        "allowed_overrides": [OVERRIDE_KEYS[o] for o in allowed_overrides],
        "prompt_logging": prompt_logging,
    }


def _validate(
    model_version: ModelVersion,
    target: ResolvedTarget,
    *,
    alias_name: str,
    environment: str,
    allowed_overrides: Sequence[InferenceOverride],
    prompt_logging: bool,
    parameter_name: str | None,
) -> tuple[dict[str, Any], str]:
    """Every prop check, before any resource exists; returns the router configuration
    and its JSON text (checked last: building it needs valid overrides)."""
    if not _NAME.match(alias_name):
        raise ValueError(f"alias_name must match {_NAME.pattern}, got {alias_name!r}")
    if not _ENVIRONMENT.match(environment):
        raise ValueError(f"environment must match {_ENVIRONMENT.pattern}, got {environment!r}")
    # Family and version id travel in Bedrock's requestMetadata and as metric dimensions.
    if not _NAME.match(model_version.family):
        raise ValueError(
            f"the version's family must match {_NAME.pattern}, got {model_version.family!r}"
        )
    if not contract.METADATA_VALUE.fullmatch(model_version.version_id):
        raise ValueError(
            "the version id must be at most 256 letters, digits, spaces and :_@$#=/+,-. "
            f"(Bedrock's requestMetadata), got {model_version.version_id!r}"
        )
    for override in allowed_overrides:
        if not isinstance(override, InferenceOverride):
            allowed = ", ".join(o.value for o in InferenceOverride)
            raise ValueError(
                f"allowed_overrides must be InferenceOverride ({allowed}), got {override!r}"
            )
    if allowed_overrides and model_version.kind is FamilyKind.EMBEDDING:
        raise ValueError(
            "allowed_overrides applies to chat families only, got "
            f"{', '.join(o.value for o in allowed_overrides)} for embedding family "
            f"{model_version.family}"
        )
    if len(set(allowed_overrides)) != len(allowed_overrides):
        raise ValueError(
            f"allowed_overrides has duplicates: {', '.join(o.value for o in allowed_overrides)}"
        )
    if (
        parameter_name is not None
        and not cdk.Token.is_unresolved(parameter_name)
        and not re.match(r"^/[a-zA-Z0-9_.\-/]{1,1010}$", parameter_name)
    ):
        raise ValueError(
            "parameter_name must start with / and hold only letters, digits, _ . - /, "
            f"got {parameter_name!r}"
        )
    config = router_config(
        model_version,
        target,
        environment=environment,
        alias_name=alias_name,
        allowed_overrides=allowed_overrides,
        prompt_logging=prompt_logging,
    )
    config_text = json.dumps(config, separators=(",", ":"), ensure_ascii=False)
    size = len(CONFIG_ENV) + len(config_text.encode("utf-8"))
    if size > LAMBDA_ENVIRONMENT_LIMIT - ENVIRONMENT_HEADROOM:
        raise ValueError(
            f"version {model_version.version_id} of {model_version.family} needs {size} bytes of "
            f"router configuration, at most {LAMBDA_ENVIRONMENT_LIMIT - ENVIRONMENT_HEADROOM} fit "
            "in Lambda's 4 KB environment; shorten the system prompt"
        )
    return config, config_text


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


class ModelAlias(Construct):
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
        ``/bedrock-lifecycle/<environment>/aliases/<family>/<alias>``.
    :param description: shown on the function. Default: names alias and version.
    :param standby_versions: other versions of the same family that the alias may
        be shifted from or rolled back to. The router's role may call their
        targets and guardrails too, so that moving between them changes no
        permission (docs/rollouts.md, "The grant rule"). Default: none: every move
        then writes a new grants policy, created seconds before the evaluation
        gate calls the new version (the old one stays until the deploy succeeded).
    :param requires_evaluation_gate: a rollout of this alias must run the evaluation
        gate first; the project's cdk-nag rule ``ProdEvaluationGate`` refuses one that
        does not. A stack's own requirement (``declare_governance``) applies as well.
        Default: true in an environment named prod or production.

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
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        target = model_version.resolve(
            partition=stack.partition, region=stack.region, account=stack.account
        )
        standby = tuple(standby_versions)
        _validate_standby(model_version, standby)
        config, config_text = _validate(
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
        )
        self.function: lambda_.Function = self.router.function
        self.grants = self._grants(stack)
        for finding in ("NIST.800.53.R5-IAMNoInlinePolicy", "HIPAA.Security-IAMNoInlinePolicy"):
            acknowledge(
                self.router.role,
                finding,
                "the router role's default policy (writing its log group and X-Ray traces) "
                "belongs to this one role and is deleted with it",
            )
        default_policy = self.router.role.node.try_find_child("DefaultPolicy")
        if default_policy is not None:
            # A role whose Bedrock grants lived in its default policy (before they had a
            # policy of their own) keeps them until the new policy exists.
            default_policy.node.add_dependency(self.grants)
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
                else f"/bedrock-lifecycle/{environment}/aliases/{model_version.family}/{alias_name}"
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
        return iam.ManagedPolicy(
            self,
            f"{GRANTS_ID}{digest}",
            description=f"{self.qualified_name} in {self.environment_name}: Bedrock grants",
            statements=statements,
            roles=[self.router.role],
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` invoke the alias ``live`` (``lambda:InvokeFunction`` on its ARN)."""
        return self.alias.grant_invoke(grantee)

    # -- metrics -----------------------------------------------------------

    def metric_dimensions(self, version_id: str | None = None) -> dict[str, str]:
        """The router's metric dimensions for ``version_id``. Default: the current version."""
        return {
            "Environment": self.environment_name,
            "Family": self.model_version.family,
            "Alias": self.alias_name,
            "Version": version_id if version_id is not None else self.model_version.version_id,
        }

    def metric(
        self, metric_name: str, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """A router metric of this alias (namespace ``BedrockLifecycle/Router``).

        :param metric_name: one of ``ROUTER_METRICS``.
        :param version_id: whose requests. Default: the version this alias serves now.
        :param metric_options: ``cloudwatch.Metric`` options. Default: period 1 minute,
            the metric's unit, statistic Sum (Average for Latency).
        """
        if metric_name not in ROUTER_METRICS:
            raise ValueError(
                f"metric_name must be one of {', '.join(ROUTER_METRICS)}, got {metric_name!r}"
            )
        unit, statistic = ROUTER_METRICS[metric_name]
        options: dict[str, Any] = {
            "period": cdk.Duration.minutes(1),
            "statistic": statistic,
            "unit": unit,
            **metric_options,
        }
        return cloudwatch.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name=metric_name,
            dimensions_map=self.metric_dimensions(version_id),
            **options,
        )

    def metric_all_versions(self, metric_name: str, **metric_options: Any) -> cloudwatch.Metric:
        """A router metric of this alias across every version it serves (no Version dimension).

        What callers of the alias see, whichever Lambda version answered them: during a
        canary mostly the version still serving. Routers built before this metric existed
        do not publish it.

        :param metric_name: one of ``ALIAS_WIDE_METRICS``.
        :param metric_options: ``cloudwatch.Metric`` options. Default: period 1 minute,
            statistic Sum, the metric's unit.
        """
        if metric_name not in ALIAS_WIDE_METRICS:
            raise ValueError(
                f"metric_name must be one of {', '.join(ALIAS_WIDE_METRICS)}, got {metric_name!r}"
            )
        unit, statistic = ROUTER_METRICS[metric_name]
        options: dict[str, Any] = {
            "period": cdk.Duration.minutes(1),
            "statistic": statistic,
            "unit": unit,
            **metric_options,
        }
        dimensions = self.metric_dimensions()
        del dimensions["Version"]
        return cloudwatch.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name=metric_name,
            dimensions_map=dimensions,
            **options,
        )

    def metric_invocations(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Requests received (every request, valid or not). Default: Sum per minute."""
        return self.metric("Invocations", version_id=version_id, **metric_options)

    def metric_client_errors(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Requests refused as the caller's fault (malformed, Bedrock ValidationException)."""
        return self.metric("ClientErrors", version_id=version_id, **metric_options)

    def metric_server_errors(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Requests that failed after retries for any reason but the caller's or throttling."""
        return self.metric("ServerErrors", version_id=version_id, **metric_options)

    def metric_throttles(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Requests Bedrock still throttled after the router's retries."""
        return self.metric("Throttles", version_id=version_id, **metric_options)

    def metric_latency(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Milliseconds in the router for requests that reached Bedrock. Default: Average."""
        return self.metric("Latency", version_id=version_id, **metric_options)

    def metric_input_tokens(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Input tokens of successful requests, as Bedrock counted them."""
        return self.metric("InputTokens", version_id=version_id, **metric_options)

    def metric_output_tokens(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Output tokens of successful chat requests (embeddings emit none)."""
        return self.metric("OutputTokens", version_id=version_id, **metric_options)


def alias_construct_id(family: str, alias_name: str) -> str:
    """``summarizer`` + ``pinned-v1`` -> ``SummarizerPinnedV1``: stable, public."""
    return pascal(family) + pascal(alias_name)
