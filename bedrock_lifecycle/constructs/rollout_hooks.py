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

from ..nag import acknowledge, finding_text, logical_id
from ..nag.acknowledgements import acknowledge_inline_policy
from ..props import CanaryAnalysis, Evaluation, RolloutPolicy
from ..shared import contract
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
        "analysis": rollout.canary_analysis.to_model().model_dump(mode="json"),
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
        if rollout.evaluation is not None:
            path = f"golden/{rollout.model_alias.model_version.family}.jsonl"
            files[f"{SETTINGS_DIR}/{path}"] = rollout.evaluation.golden_prompts.read_bytes()
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

    :param external: rollouts of other stacks (a split environment's alias stacks)
        that the hooks serve too: their settings go into the layer, and the hooks may
        read and report to every deployment group of ``external_application`` and read
        the configuration of every function named ``<external_prefix>*``. Their
        stacks attach the hooks by name and let the gate invoke each version
        (:class:`~bedrock_lifecycle.stacks.alias_stack.AliasStack`). Default: none.
    :param external_application: the CodeDeploy application name of ``external``.
        Default: none; required with ``external``.
    :param external_prefix: the function name prefix of ``external``'s routers.
        Default: none; required with ``external``.
    :param function_names: ``{"gate": name, "analysis": name}``: physical names of the
        hook functions, for stacks that name them before they exist. Default:
        CloudFormation names them.
    :param deployment_role: the CodeDeploy service role of ``external``'s groups,
        granted to invoke the hooks. Default: none.
    :param keep_both: build the gate and the analysis even when no rollout needs one.
        A split environment's alias stacks name the hooks literally in their aliases'
        ``UpdatePolicy``; the main stack deploys first, so a hook it dropped when its
        last user went would be gone when that user's stack rolls back to naming it.
        Default: false.

    Attributes: ``settings`` (the layer), ``gate`` and ``analysis``
    (:class:`LifecycleFunction`; None when no rollout needs it),
    ``settings_folder`` (the staged layer content).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rollouts: Sequence[HookedRollout],
        external: Sequence[HookedRollout] = (),
        external_application: str | None = None,
        external_prefix: str | None = None,
        function_names: dict[str, str] | None = None,
        deployment_role: iam.IRole | None = None,
        keep_both: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if not rollouts and not external:
            raise ValueError("rollouts must name at least one AliasRollout, got none")
        if external and (external_application is None or external_prefix is None):
            raise ValueError("external rollouts need external_application and external_prefix")
        names = [r.deployment_group_name for r in (*rollouts, *external)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"deployment group names must be unique, got {duplicates}")
        self._function_names = function_names or {}
        everything = [*rollouts, *external]
        self.settings_folder = stage_settings(self, everything)
        self.settings = lambda_.LayerVersion(
            self,
            "Settings",
            code=lambda_.Code.from_asset(str(self.settings_folder)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="bedrock-lifecycle rollout hook settings and golden prompts",
        )
        gated = [r for r in everything if r.evaluation is not None]
        self.gate: LifecycleFunction | None = None
        if gated or keep_both:
            self.gate = self._hook_function(
                "EvaluationGate",
                "app",
                "CodeDeploy BeforeAllowTraffic: golden prompts against the new version",
                GATE_TIMEOUT,
                self._function_names.get("gate"),
            )
        analysed = [r for r in everything if r.runs_canary_analysis]
        self.analysis: LifecycleFunction | None = None
        if analysed or keep_both:
            self.analysis = self._hook_function(
                "CanaryAnalysis",
                "canary_analysis",
                "CodeDeploy AfterAllowTraffic: the new version served enough, "
                "and no worse than the previous one",
                ANALYSIS_TIMEOUT,
                self._function_names.get("analysis"),
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
        acknowledged: set[object] = set()
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
            # The acknowledgements go on the role the grants land on (shared by the groups:
            # once per role and hook, not once per alias).
            role = group.role
            for hook in hooks:
                # jsii hands out one Python object per JavaScript object: identity is enough.
                key = (id(role), id(hook))
                if key in acknowledged:
                    continue
                acknowledged.add(key)
                acknowledge(
                    role,
                    f"AwsSolutions-IAM5[Resource::<{logical_id(hook.function)}.Arn>:*]",
                    "aws-cdk-lib lets CodeDeploy invoke the rollout hook function and its "
                    "versions; the hook is this stack's own function",
                )
            if hooks and id(role) not in acknowledged:
                acknowledged.add(id(role))
                acknowledge_inline_policy(
                    role,
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
        if external:
            assert external_application is not None and external_prefix is not None
            self._grant_external(
                external, external_application, external_prefix, deployment_role, keep_both
            )
        for function in (self.gate, self.analysis):
            if function is not None:
                acknowledge_inline_policy(
                    function.role,
                    "the hook role's policy names exact ARNs (deployment groups, router "
                    "versions, its log group), belongs to this one role and is deleted with it",
                )

    def _grant_external(
        self,
        external: Sequence[HookedRollout],
        application: str,
        prefix: str,
        deployment_role: iam.IRole | None,
        keep_both: bool = False,
    ) -> None:
        """What the hooks need for the groups of other stacks, without naming their tokens
        (a reference from here to them would make the stacks depend on each other).

        One statement per hook on the application's groups and the prefix's functions,
        not one ARN per alias: 1,000 groups' ARNs exceed what one role's policies hold.
        """
        stack = cdk.Stack.of(self)
        groups = stack.format_arn(
            service="codedeploy",
            resource="deploymentgroup",
            resource_name=f"{application}/*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        functions = stack.format_arn(
            service="lambda",
            resource="function",
            resource_name=f"{prefix}*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        # Kept hooks keep their grants too: a stack rolled back to a hook keeps using it.
        used = [
            (self.gate, keep_both or any(r.evaluation is not None for r in external)),
            (self.analysis, keep_both or any(r.runs_canary_analysis for r in external)),
        ]
        for hook, needed in used:
            if hook is None or not needed:
                continue
            hook.function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=[
                        *DEPLOYMENT_READ_ACTIONS,
                        "codedeploy:PutLifecycleEventHookExecutionStatus",
                    ],
                    resources=[groups],
                )
            )
            acknowledge(
                hook.role,
                f"AwsSolutions-IAM5[Resource::{finding_text(self, groups)}]",
                "the hook serves every deployment group of this environment's alias-stack "
                "CodeDeploy application, across its stacks; one ARN per group would outgrow "
                "a role's policies at 1,000 groups",
            )
            if deployment_role is not None:
                hook.function.grant_invoke(deployment_role)
                acknowledge(
                    deployment_role,
                    f"AwsSolutions-IAM5[Resource::<{logical_id(hook.function)}.Arn>:*]",
                    "aws-cdk-lib lets CodeDeploy invoke the rollout hook function and its "
                    "versions; the hook is this stack's own function",
                )
                acknowledge_inline_policy(
                    deployment_role,
                    "the CodeDeploy service role may invoke exactly this stack's hook "
                    "functions; the policy belongs to that one role and is deleted with it",
                )
        if self.analysis is not None and used[1][1]:
            self.analysis.function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["lambda:GetFunctionConfiguration"], resources=[functions]
                )
            )
            acknowledge(
                self.analysis.role,
                f"AwsSolutions-IAM5[Resource::{finding_text(self, functions)}]",
                "the canary analysis reads the configuration of the previous version of "
                "this environment's routers in its alias stacks, all named with this "
                "environment's own prefix",
            )
        for rollout in external:
            if rollout.evaluation is not None or rollout.runs_canary_analysis:
                rollout.model_alias.alias.node.add_dependency(self.settings)
                for hook in (self.gate, self.analysis):
                    if hook is not None:
                        rollout.model_alias.alias.node.add_dependency(hook)

    def _hook_function(
        self,
        construct_id: str,
        module: str,
        description: str,
        timeout: cdk.Duration,
        function_name: str | None = None,
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
            function_name=function_name,
        )
        hook.function.add_layers(self.settings)
        return hook
