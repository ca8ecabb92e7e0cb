"""The project's NagPack on real constructs: it finds each violation and fails synth."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from bedrock_lifecycle.constructs import AliasRollout, ModelAlias
from bedrock_lifecycle.nag import acknowledge, declare_governance, governance_of, register_packs
from bedrock_lifecycle.nag.pack import BedrockLifecycleChecks
from bedrock_lifecycle.values import Target, VersionSpec
from bedrock_lifecycle.versions import ModelVersion
from tests.conftest import new_app


class ProdStack(cdk.Stack):
    """A stack that records the environment prod, as a LifecycleStack of prod does."""

    def __init__(self, scope, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        declare_governance(self, environment="prod")


def _violating_stack(app: cdk.App) -> cdk.Stack:
    stack = ProdStack(app, "Violations")
    logs.LogGroup(stack, "PlainLogs", retention=logs.RetentionDays.ONE_WEEK)
    bucket = s3.Bucket(stack, "AuditWithoutLock", enforce_ssl=True)
    bucket.node.default_child.tags.set_tag("bedrock-lifecycle:purpose", "invocation-audit")
    cdk.CustomResource(
        stack,
        "Throughput",
        service_token="arn:aws:lambda:us-east-1:111111111111:function:provider",
        resource_type="Custom::BedrockProvisionedThroughput",
        properties={"CommitmentDuration": "OneMonth"},
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    role = iam.Role(stack, "RouterRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=["*"]))
    function = lambda_.Function(
        stack,
        "Router",
        log_group=logs.LogGroup.from_log_group_name(stack, "RouterLogs", "/shared/router"),
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): return e"),
        role=role,
    )
    alias = lambda_.Alias(stack, "Live", alias_name="live", version=function.current_version)
    codedeploy.LambdaDeploymentGroup(
        stack,
        "Rollout",
        alias=alias,
        deployment_config=codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
    )
    return stack


EXPECTED = {
    "BedrockLifecycle-LogGroupEncryptedRetained": "Violations/PlainLogs/Resource",
    "BedrockLifecycle-AuditBucketObjectLock": "Violations/AuditWithoutLock/Resource",
    "BedrockLifecycle-CommittedThroughputRetained": "Violations/Throughput/Default",
    "BedrockLifecycle-RouterBedrockWildcard": "Violations/RouterRole/DefaultPolicy/Resource",
    "BedrockLifecycle-ProdEvaluationGate": "Violations/Live/Resource",
    "BedrockLifecycle-AliasRollbackAlarms": "Violations/Rollout/Resource",
}


@pytest.fixture(scope="module")
def violations(tmp_path_factory):
    app = new_app(tmp_path_factory.mktemp("nag"))
    pack = BedrockLifecycleChecks(app)
    cdk.Validations.of(app).add_plugins(pack)
    stack = _violating_stack(app)
    return app, pack, stack


def test_each_rule_finds_its_violation(violations):
    _, pack, stack = violations
    report = pack.validate_scope(stack)
    found = {
        v.rule_name: [r.construct_path for r in v.violating_resources] for v in report.violations
    }
    # Every rule finds exactly the one resource built to break it.
    assert found == {rule: [path] for rule, path in EXPECTED.items()}
    assert {v.severity for v in report.violations} == {"error"}


def test_a_violation_fails_synth(violations):
    app, _, _ = violations
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        app.synth()
    for rule in EXPECTED:
        assert f"Acknowledge with 'BedrockLifecycle::{rule}'" in str(raised.value)


def test_an_acknowledgement_silences_exactly_one_finding(tmp_path):
    app = new_app(tmp_path)
    pack = BedrockLifecycleChecks(app)
    stack = cdk.Stack(app, "S")
    group = logs.LogGroup(stack, "Plain")
    acknowledge(group, "BedrockLifecycle-LogGroupEncryptedRetained", "a test of the mechanism")
    logs.LogGroup(stack, "Other")
    report = pack.validate_scope(stack)
    assert [
        (v.rule_name, [r.construct_path for r in v.violating_resources]) for v in report.violations
    ] == [("BedrockLifecycle-LogGroupEncryptedRetained", ["S/Other/Resource"])]


def test_registered_beside_the_four_aws_packs(tmp_path):
    packs = register_packs(new_app(tmp_path))
    assert [p.read_pack_name for p in packs] == [
        "AwsSolutions",
        "Serverless",
        "NIST.800.53.R5",
        "HIPAA.Security",
        "BedrockLifecycle",
    ]


def test_the_shipped_app_passes_the_project_rules(synthesized):
    (pack,) = [p for p in synthesized.packs if isinstance(p, BedrockLifecycleChecks)]
    findings = [
        f"{v.rule_name} {r.construct_path}"
        for stack in synthesized.stacks.values()
        for v in pack.validate_scope(stack).violations
        for r in v.violating_resources
    ]
    assert findings == []


def test_the_shipped_app_is_actually_judged(synthesized):
    """The rules see the shipped resources as they are (not silently NOT_APPLICABLE)."""
    from bedrock_lifecycle.nag.pack import resource_of
    from bedrock_lifecycle.nag.rules import audit_bucket_object_lock, prod_evaluation_gate

    prod = synthesized.stacks["prod"]
    bucket = prod.audit.bucket.node.default_child
    assert audit_bucket_object_lock.check(resource_of(bucket)).name == "COMPLIANT"
    aliases = [
        c
        for c in prod.node.find_all()
        if isinstance(c, cdk.CfnResource) and c.cfn_resource_type == "AWS::Lambda::Alias"
    ]
    judged = [prod_evaluation_gate.check(resource_of(a)).name for a in aliases]
    assert "COMPLIANT" in judged


# -- which environments need a gate: the name prod/production, or require_evaluation_gate --------


class EnvironmentStack(cdk.Stack):
    """A stack that records its environment as a LifecycleStack does: its name, and
    ``require_evaluation_gate`` when the file sets it."""

    def __init__(self, scope, construct_id: str, *, name: str, require_gate: bool) -> None:
        super().__init__(scope, construct_id)
        declare_governance(self, environment=name, requires_evaluation_gate=require_gate or None)
        function = lambda_.Function(
            self,
            "Router",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(e, c): return e"),
        )
        alias = lambda_.Alias(self, "Live", alias_name="live", version=function.current_version)
        codedeploy.LambdaDeploymentGroup(
            self,
            "Rollout",
            alias=alias,
            deployment_config=codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
        )


@pytest.fixture(scope="module")
def gate_findings(tmp_path_factory) -> dict[str, list[str]]:
    app = new_app(tmp_path_factory.mktemp("gate"))
    pack = BedrockLifecycleChecks()
    cases = {
        "staging-requires": ("staging", True),
        "production-by-name": ("production", False),
        "dev": ("dev", False),
        "preprod-by-name-only": ("preprod", False),
    }
    out = {}
    for case, (name, require_gate) in cases.items():
        stack = EnvironmentStack(app, case, name=name, require_gate=require_gate)
        out[case] = sorted(
            v.rule_name
            for v in pack.validate_scope(stack).violations
            if v.rule_name == "BedrockLifecycle-ProdEvaluationGate"
        )
    return out


def test_gate_required_by_the_environments_setting_or_its_production_name(gate_findings):
    assert gate_findings == {
        "staging-requires": ["BedrockLifecycle-ProdEvaluationGate"],
        "production-by-name": ["BedrockLifecycle-ProdEvaluationGate"],
        "dev": [],
        "preprod-by-name-only": [],  # the exact names prod and production, nothing else
    }


# -- a platform team's own stack: no lifecycle file, no LifecycleStack ------------------------


def _own_stack(app: cdk.App, name: str, environment: str, **alias_props) -> cdk.Stack:
    """A plain cdk.Stack with one ModelAlias rolled out without golden prompts."""
    stack = cdk.Stack(app, name, env=cdk.Environment(account="111111111111", region="us-east-1"))
    version = ModelVersion.from_spec(
        "answers",
        "v1",
        VersionSpec(target=Target(foundation_model="amazon.nova-pro-v1:0")),
    )
    alias = ModelAlias(
        stack,
        "Answers",
        model_version=version,
        alias_name="live",
        environment=environment,
        **alias_props,
    )
    AliasRollout(stack, "Rollout", model_alias=alias)
    return stack


def _gate_findings(stack: cdk.Stack) -> list[str]:
    return sorted(
        v.rule_name
        for v in BedrockLifecycleChecks().validate_scope(stack).violations
        if v.rule_name == "BedrockLifecycle-ProdEvaluationGate"
    )


def test_a_platform_teams_own_prod_alias_without_a_gate_is_refused(tmp_path):
    app = new_app(tmp_path)
    assert _gate_findings(_own_stack(app, "OwnProd", "prod")) == [
        "BedrockLifecycle-ProdEvaluationGate"
    ]
    assert _gate_findings(_own_stack(app, "OwnDev", "dev")) == []
    # The alias can ask for the gate itself, in an environment of any name ...
    assert _gate_findings(_own_stack(app, "OwnEu", "eu-live", requires_evaluation_gate=True)) == [
        "BedrockLifecycle-ProdEvaluationGate"
    ]


def test_a_construct_cannot_lift_what_its_stack_requires(tmp_path):
    app = new_app(tmp_path)
    stack = _own_stack(app, "Lifted", "staging", requires_evaluation_gate=False)
    declare_governance(stack, environment="staging", requires_evaluation_gate=True)
    assert _gate_findings(stack) == ["BedrockLifecycle-ProdEvaluationGate"]
    governance = governance_of(stack.node.find_child("Answers"))
    assert (governance.environment, governance.requires_evaluation_gate) == ("staging", True)


def test_an_alias_cannot_lift_the_gate_of_an_environment_named_prod(tmp_path):
    app = new_app(tmp_path)
    stack = _own_stack(app, "Lift", "prod", requires_evaluation_gate=False)
    assert _gate_findings(stack) == ["BedrockLifecycle-ProdEvaluationGate"]


def test_governance_needs_an_environment_name():
    with pytest.raises(ValueError, match=r"^environment must be a non-empty name, got ''$"):
        declare_governance(cdk.Stack(), environment="")


@pytest.mark.parametrize("literals", [False, True], ids=["partition-token", "partition-literal"])
def test_an_acknowledgement_built_from_tokens_matches_in_any_app(tmp_path, literals):
    """Whether ``stack.partition`` is a token depends on the app's context: the same
    acknowledgement must silence the finding either way."""
    import cdk_nag
    from aws_cdk import aws_iam as iam

    app = cdk.App(outdir=str(tmp_path), context={"@aws-cdk/core:enablePartitionLiterals": literals})
    pack = cdk_nag.AwsSolutionsChecks()
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="111111111111", region="us-east-1"))
    objects = f"arn:{stack.partition}:s3:::team-bucket/data/*"
    assert cdk.Token.is_unresolved(objects) != literals

    def role(name: str) -> iam.Role:
        made = iam.Role(stack, name, assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
        made.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[objects]))
        return made

    acknowledge(role("Acknowledged"), f"AwsSolutions-IAM5[Resource::{objects}]", "a test")
    role("Plain")
    found = [
        r.construct_path
        for v in pack.validate_scope(stack).violations
        if v.rule_name.startswith("AwsSolutions-IAM5")
        for r in v.violating_resources
    ]
    assert found == ["S/Plain/DefaultPolicy/Resource"]
