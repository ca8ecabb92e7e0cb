"""RolloutHooks: the stack's CodeDeploy hooks, one function each, shared by every alias.

``EvaluationGate`` (BeforeAllowTraffic) runs the family's golden prompts
against the new Lambda version; ``CanaryAnalysis`` (AfterAllowTraffic) compares
the new version's router metrics with the previous one's. Both come from the
Lambda asset ``lambdas/evaluation_gate`` and read their per-alias settings and
golden prompts from a layer built at synth (:func:`stage_settings`); why a
layer, and what each hook checks, is in docs/rollouts.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import aws_cdk as cdk
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..nag import acknowledge, logical_id
from ..nag.acknowledgements import acknowledge_inline_policy
from ..shared import contract
from ..values import CanaryAnalysis, Evaluation, RolloutPolicy
from .function import ARCHITECTURE, RUNTIME, LifecycleFunction
from .model_alias import CONFIG_ENV, ModelAlias
from .staging import stage_files

# The one Lambda asset of both hooks: app.py (gate), canary_analysis.py, hook.py.
HOOKS_ASSET = "evaluation_gate"
SETTINGS_DIR = "rollout"  # under /opt, the layer root
SETTINGS_FILE = f"/opt/{SETTINGS_DIR}/settings.json"
GATE_TIMEOUT = cdk.Duration.minutes(10)
# Longer than the analysis's bounded calls (lambdas/evaluation_gate/canary_analysis.py).
ANALYSIS_TIMEOUT = cdk.Duration.minutes(3)
# Read what CodeDeploy says about a deployment of the group. Granted on the
# deployment group's ARN (arn:<partition>:codedeploy:<region>:<account>:
# deploymentgroup:<application>/<group>), as aws-cdk-lib grants the hooks
# codedeploy:PutLifecycleEventHookExecutionStatus (LambdaDeploymentGroup.add_pre_hook)
# and as CodeDeploy's own permissions reference lists for all four actions. (IAM's
# service authorization reference lists a resource type for GetDeployment only.)
DEPLOYMENT_READ_ACTIONS = (
    "codedeploy:GetDeployment",
    "codedeploy:ListDeploymentTargets",
    "codedeploy:GetDeploymentTarget",
)


class HookedRollout(Protocol):
    """What the hooks need of an alias's rollout: ``AliasRollout`` satisfies it."""

    @property
    def model_alias(self) -> ModelAlias: ...
    @property
    def policy(self) -> RolloutPolicy: ...
    @property
    def canary_analysis(self) -> CanaryAnalysis: ...
    @property
    def evaluation(self) -> Evaluation | None: ...
    @property
    def evaluation_file(self) -> Path | None: ...
    @property
    def deployment_group(self) -> codedeploy.LambdaDeploymentGroup: ...
    @property
    def deployment_group_name(self) -> str: ...
    @property
    def runs_canary_analysis(self) -> bool: ...


def hook_settings(rollout: HookedRollout, evaluation_path: str | None) -> dict[str, Any]:
    """What the shared hooks need to know of one alias's rollout (keyed by group name).

    The one place that writes the settings format the hooks read
    (``lambdas/evaluation_gate/hook.py``).

    :param evaluation_path: where the golden prompts sit in the settings layer,
        relative to the settings file. Default: none (no golden prompts).
    """
    alias = rollout.model_alias
    version_id = alias.model_version.version_id
    invocations = alias.metric_invocations()
    dimensions = dict(invocations.dimensions or {})
    version_keys = [k for k, v in dimensions.items() if v == version_id]
    if len(version_keys) != 1:
        raise ValueError(
            f"the router metrics of {alias.qualified_name} must name the version in exactly "
            f"one dimension, got {dimensions}"
        )
    version_key = version_keys[0]
    del dimensions[version_key]
    return {
        "environment": alias.environment_name,
        "family": alias.model_version.family,
        "alias": alias.alias_name,
        "kind": alias.model_version.kind.value,
        "version_id": version_id,
        "strategy": rollout.policy.strategy.value,
        "evaluation": (
            {"file": evaluation_path, "pass_rate": rollout.evaluation.pass_rate}
            if rollout.evaluation is not None and evaluation_path is not None
            else None
        ),
        "analysis": rollout.canary_analysis.model_dump(mode="json"),
        "metrics": {
            "namespace": invocations.namespace,
            "dimensions": dimensions,
            "version_dimension": version_key,
            "invocations": invocations.metric_name,
            "server_errors": alias.metric_server_errors().metric_name,
            "throttles": alias.metric_throttles().metric_name,
            "latency": alias.metric_latency().metric_name,
        },
        # Where the previous Lambda version names the model version it serves.
        "previous_version": {"variable": CONFIG_ENV, "key": "version_id"},
    }


def stage_settings(scope: Construct, rollouts: Sequence[HookedRollout]) -> Path:
    """Write the settings layer's content to a private folder named by its hash.

    The folder (under the app's output directory, see :mod:`.staging`) is
    deterministic, so repeated synths reuse it and the asset hash changes only
    when a setting or a golden prompt changes.
    """
    files: dict[str, bytes] = {}
    groups = {}
    for rollout in rollouts:
        path = None
        if rollout.evaluation_file is not None:
            path = f"golden/{rollout.model_alias.model_version.family}.jsonl"
            files[f"{SETTINGS_DIR}/{path}"] = rollout.evaluation_file.read_bytes()
        groups[rollout.deployment_group_name] = hook_settings(rollout, path)
    files[f"{SETTINGS_DIR}/settings.json"] = json.dumps(
        {"groups": groups}, indent=1, sort_keys=True, ensure_ascii=False
    ).encode()
    return stage_files(scope, "rollout-settings", files)


class RolloutHooks(Construct):
    """The evaluation gate and canary analysis functions of a stack, attached to each rollout.

    :param rollouts: the alias rollouts to hook. Each one with golden prompts
        gets the gate (without them there is nothing to evaluate, and an
        environment that requires a gate refuses the alias at synth); each one
        that does not roll out all at once gets the analysis.

    Grants, each on exact ARNs: both hooks may read their own deployment groups'
    deployments and report to them; the gate may invoke exactly the Lambda
    version each alias rolls out; the analysis may read the configuration of
    the router functions' versions (to learn the previous model version id) and
    call ``cloudwatch:GetMetricData`` (which has no resource-level permission).

    Attributes: ``settings`` (the layer), ``gate`` and ``analysis``
    (:class:`LifecycleFunction`; None when no rollout needs it),
    ``settings_folder`` (the staged layer content).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, rollouts: Sequence[HookedRollout]
    ) -> None:
        super().__init__(scope, construct_id)
        if not rollouts:
            raise ValueError("rollouts must name at least one AliasRollout, got none")
        names = [r.deployment_group_name for r in rollouts]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"deployment group names must be unique, got {duplicates}")
        self.settings_folder = stage_settings(self, rollouts)
        self.settings = lambda_.LayerVersion(
            self,
            "Settings",
            code=lambda_.Code.from_asset(str(self.settings_folder)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="bedrock-lifecycle rollout hook settings and golden prompts",
        )
        gated = [r for r in rollouts if r.evaluation is not None]
        self.gate: LifecycleFunction | None = None
        if gated:
            self.gate = self._hook_function(
                "EvaluationGate",
                "app",
                "CodeDeploy BeforeAllowTraffic: golden prompts against the new version",
                GATE_TIMEOUT,
            )
        analysed = [r for r in rollouts if r.runs_canary_analysis]
        self.analysis: LifecycleFunction | None = None
        if analysed:
            self.analysis = self._hook_function(
                "CanaryAnalysis",
                "canary_analysis",
                "CodeDeploy AfterAllowTraffic: the new version served enough, "
                "and no worse than the previous one",
                ANALYSIS_TIMEOUT,
            )
            metrics_policy = iam.Policy(
                self,
                "ReadRouterMetrics",
                statements=[
                    iam.PolicyStatement(
                        actions=["cloudwatch:GetMetricData"],
                        resources=["*"],
                    )
                ],
                roles=[self.analysis.role],
            )
            acknowledge(
                metrics_policy,
                "AwsSolutions-IAM5[Resource::*]",
                "cloudwatch:GetMetricData has no resource-level permissions; this policy "
                "holds only that read-only action",
            )
            acknowledge_inline_policy(
                metrics_policy,
                "the canary analysis's one read-only metric action, attached to its own role "
                "only and deleted with it",
            )
        for rollout in rollouts:
            group = rollout.deployment_group
            alias = rollout.model_alias
            hooks = []
            if rollout.evaluation is not None and self.gate is not None:
                group.add_pre_hook(self.gate.function)
                hooks.append(self.gate)
                alias.version.grant_invoke(self.gate.function)
            if rollout.runs_canary_analysis and self.analysis is not None:
                group.add_post_hook(self.analysis.function)
                hooks.append(self.analysis)
                self.analysis.function.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=["lambda:GetFunctionConfiguration"],
                        resources=[f"{alias.function.function_arn}:*"],
                    )
                )
            for hook in hooks:
                hook.function.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=list(DEPLOYMENT_READ_ACTIONS),
                        resources=[group.deployment_group_arn],
                    )
                )
                # The alias update starts the deployment: the hooks, their
                # permissions and their settings must be updated before it.
                alias.alias.node.add_dependency(hook)
            if hooks:
                alias.alias.node.add_dependency(self.settings)
            # aws-cdk-lib grants the deployment group's role lambda:InvokeFunction on each
            # hook and its versions (<arn>:*).
            # The acknowledgements go on the role the grants land on (shared by the groups).
            for hook in hooks:
                acknowledge(
                    group.role,
                    f"AwsSolutions-IAM5[Resource::<{logical_id(hook.function)}.Arn>:*]",
                    "aws-cdk-lib lets CodeDeploy invoke the rollout hook function and its "
                    "versions; the hook is this stack's own function",
                )
            if hooks:
                acknowledge_inline_policy(
                    group.role,
                    "the CodeDeploy service role may invoke exactly this stack's hook functions; "
                    "the policy belongs to that one role and is deleted with it",
                )
            if rollout.runs_canary_analysis and self.analysis is not None:
                acknowledge(
                    self.analysis.role,
                    f"AwsSolutions-IAM5[Resource::<{logical_id(alias.function)}.Arn>:*]",
                    "the canary analysis reads the configuration of the router's previous "
                    "version, whose number is only known during the deployment",
                )
        for function in (self.gate, self.analysis):
            if function is not None:
                acknowledge_inline_policy(
                    function.role,
                    "the hook role's policy names exact ARNs (deployment groups, router "
                    "versions, its log group), belongs to this one role and is deleted with it",
                )

    def _hook_function(
        self, construct_id: str, module: str, description: str, timeout: cdk.Duration
    ) -> LifecycleFunction:
        """One hook: a handler module of the ``evaluation_gate`` asset (both share its
        ``hook.py``), reading the settings layer."""
        hook = LifecycleFunction(
            self,
            construct_id,
            source=HOOKS_ASSET,
            handler=f"{module}.handler",
            service_name=HOOKS_ASSET if module == "app" else module,
            description=description,
            environment={contract.ROLLOUT_SETTINGS_ENV: SETTINGS_FILE},
            timeout=timeout,
        )
        hook.function.add_layers(self.settings)
        return hook
