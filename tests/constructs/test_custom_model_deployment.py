"""Custom model deployments and customization job roles, as synthesized: exact IAM."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from bedrock_lifecycle.constructs.custom_model_deployment import (
    RESOURCE_TYPE,
    CustomModelDeployment,
)
from bedrock_lifecycle.constructs.customization_role import (
    CustomizationJobRole,
    InvocationLogSource,
)
from tests.conftest import new_app

pytestmark = pytest.mark.synth

ACCOUNT = "111111111111"
MODEL_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/amazon.nova-lite-v1:0/94df003c0293"
DEPLOYMENTS = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model-deployment/*"
OWNED = {"StringEquals": {"aws:ResourceTag/bedrock-lifecycle:environment": ["staging"]}}


def _resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return template.find_resources(kind)


def _policy_of(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    (policy,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for lid, r in _resources(template, "AWS::IAM::Policy").items()
        if lid.startswith(role_prefix)
    ]
    return policy


def _bedrock(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if str(s["Action"]).startswith("bedrock:")]


def test_staging_deploys_the_fine_tuned_model_on_demand(synthesized):
    template = synthesized.template("staging")
    (deployment,) = _resources(template, RESOURCE_TYPE).values()
    props = deployment["Properties"]
    assert props["ModelArn"] == MODEL_ARN
    assert props["DeploymentName"].endswith("-summarizer-lite")
    assert {"Key": "bedrock-lifecycle:environment", "Value": "staging"} in props["Tags"]
    assert deployment["DeletionPolicy"] == "Delete"
    for env in ("dev", "prod"):
        other = synthesized.template(env)
        other.resource_count_is(RESOURCE_TYPE, 0)
        assert not [
            lid
            for lid in other.find_resources("AWS::Lambda::Function")
            if lid.startswith("CustomModelDeploymentProvider")
        ]


def test_the_handlers_may_deploy_only_the_declared_model_and_delete_only_their_own(
    synthesized,
):
    template = synthesized.template("staging")
    assert _bedrock(_policy_of(template, "CustomModelDeploymentProviderOnEventRole")) == [
        {
            "Action": "bedrock:GetCustomModelDeployment",
            "Effect": "Allow",
            "Resource": DEPLOYMENTS,
            "Sid": "ReadDeployments",
        },
        {
            "Action": "bedrock:DeleteCustomModelDeployment",
            "Condition": OWNED,
            "Effect": "Allow",
            "Resource": DEPLOYMENTS,
            "Sid": "DeleteOwnedDeployments",
        },
        {
            "Action": "bedrock:CreateCustomModelDeployment",
            "Condition": {
                "StringEquals": {"aws:RequestTag/bedrock-lifecycle:environment": ["staging"]}
            },
            "Effect": "Allow",
            "Resource": [DEPLOYMENTS, MODEL_ARN],
            "Sid": "DeployDeclaredModelsWithTheOwnerTag",
        },
    ]
    assert _bedrock(_policy_of(template, "CustomModelDeploymentProviderIsCompleteRole")) == [
        {
            "Action": "bedrock:GetCustomModelDeployment",
            "Effect": "Allow",
            "Resource": DEPLOYMENTS,
            "Sid": "ReadDeployments",
        },
        {
            "Action": "bedrock:DeleteCustomModelDeployment",
            "Condition": OWNED,
            "Effect": "Allow",
            "Resource": DEPLOYMENTS,
            "Sid": "DeleteOwnedDeployments",
        },
    ]


def test_the_router_calls_and_is_granted_the_deployment(synthesized):
    template = synthesized.template("staging")
    (lid,) = _resources(template, RESOURCE_TYPE)
    functions = _resources(template, "AWS::Lambda::Function")
    (live,) = [f for name, f in functions.items() if name.startswith("AliasesSummarizerLive")]
    config = live["Properties"]["Environment"]["Variables"]["ROUTER_CONFIG"]["Fn::Join"][1]
    assert {"Ref": lid} in config
    grants = [
        r["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
        for name, r in _resources(template, "AWS::IAM::ManagedPolicy").items()
        if name.startswith("AliasesSummarizerLiveGrants")
    ]
    assert grants and all({"Ref": lid} in resources for resources in grants)


def test_the_job_role_trusts_bedrock_for_this_accounts_jobs_only(synthesized):
    template = synthesized.template("staging")
    roles = {
        lid: r
        for lid, r in _resources(template, "AWS::IAM::Role").items()
        if lid.startswith("Customizations")
    }
    (role,) = roles.values()
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {
                    "aws:SourceArn": (
                        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-customization-job/*"
                    )
                },
            },
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
        }
    ]
    bucket = "arn:aws:s3:::acme-genai-training-111111111111"
    (policy,) = [
        r["Properties"]
        for lid, r in _resources(template, "AWS::IAM::ManagedPolicy").items()
        if lid.startswith("Customizations")
    ]
    assert policy["Roles"] == [{"Ref": next(iter(roles))}]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": [
                f"{bucket}/summarizer/train.jsonl",
                f"{bucket}/summarizer/validation.jsonl",
            ],
            "Sid": "ReadTrainingData",
        },
        {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Resource": f"{bucket}/summarizer/output/*",
            "Sid": "WriteOutput",
        },
        {
            "Action": "s3:ListBucket",
            "Condition": {
                "StringLike": {
                    "s3:prefix": [
                        "summarizer/train.jsonl",
                        "summarizer/validation.jsonl",
                        "summarizer/output",
                        "summarizer/output/*",
                    ]
                }
            },
            "Effect": "Allow",
            "Resource": bucket,
        },
    ]
    (parameter,) = [
        r["Properties"]
        for lid, r in _resources(template, "AWS::SSM::Parameter").items()
        if lid.startswith("Customizations")
    ]
    assert (
        parameter["Name"] == "/bedrock-lifecycle/acme-genai/staging/custom-models/summarizer-lite"
    )
    assert parameter["Value"] == {
        "Fn::Join": ["", ['{"role_arn":"', {"Fn::GetAtt": [next(iter(roles)), "Arn"]}, '"}']]
    }


def _stack(tmp_path) -> cdk.Stack:
    return cdk.Stack(
        new_app(tmp_path),
        "Test",
        env=cdk.Environment(account=ACCOUNT, region="us-east-1"),
    )


def test_a_distillation_role_reads_the_invocation_logs_and_uses_the_key(tmp_path):
    stack = _stack(tmp_path)
    bucket = s3.Bucket(stack, "Audit")
    audit_key = kms.Key(stack, "AuditKey")
    model_key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    job = CustomizationJobRole(
        stack,
        "Job",
        parameter_name="/p",
        reads=[],
        output_uri="s3://acme-out/metrics",
        kms_key_arn=model_key,
        invocation_logs=InvocationLogSource(bucket, "invocation-logs", audit_key),
        subnet_ids=["subnet-0a1b2c3d4e5f60711"],
    )
    template = Template.from_stack(stack)
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    bucket_arn = {"Fn::GetAtt": [stack.resolve(bucket.node.default_child.logical_id), "Arn"]}
    assert sorted(map(json.dumps, statements["ReadInvocationLogs"]["Resource"])) == sorted(
        json.dumps({"Fn::Join": ["", [bucket_arn, f"/{prefix}/*"]]})
        for prefix in ("invocation-logs", "invocation-logs-large-data")
    )
    assert statements["ListInvocationLogs"]["Condition"] == {
        "StringLike": {"s3:prefix": ["invocation-logs/*", "invocation-logs-large-data/*"]}
    }
    assert statements["DecryptInvocationLogs"]["Action"] == "kms:Decrypt"
    assert statements["UseTheModelKey"] == {
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
        "Effect": "Allow",
        "Resource": model_key,
        "Sid": "UseTheModelKey",
    }
    assert statements["WriteOutput"]["Resource"] == "arn:aws:s3:::acme-out/metrics/*"
    assert "subnet/subnet-0a1b2c3d4e5f60711" in json.dumps(statements["JobNetworkInterfaces"])
    (parameter,) = template.find_resources("AWS::SSM::Parameter").values()
    value = json.dumps(parameter["Properties"]["Value"])
    assert job.role is not None
    assert "invocation_logs" in value and "invocation-logs/" in value


def test_a_role_named_in_the_file_is_used_not_made(tmp_path):
    stack = _stack(tmp_path)
    named = f"arn:aws:iam::{ACCOUNT}:role/platform-customization"
    CustomizationJobRole(
        stack, "Job", parameter_name="/p", reads=[], output_uri="s3://acme-out/", role_arn=named
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Role", 0)
    template.has_resource_properties(
        "AWS::SSM::Parameter", {"Value": json.dumps({"role_arn": named}, separators=(",", ":"))}
    )


def test_bad_props_are_refused_at_once_with_every_problem(tmp_path):
    stack = _stack(tmp_path)
    with pytest.raises(ValueError) as caught:
        CustomModelDeployment(
            stack,
            "D",
            model_arn="arn:aws:bedrock:us-east-1:111111111111:provisioned-model/x",
            deployment_name="bad--name",
            description="",
            tags={"aws:x": "y"},
        )
    message = str(caught.value)
    for part in ("model_arn must be", "deployment_name must be", "description must be", "aws:"):
        assert part in message, message
    assert stack.node.try_find_child("D") is None


def test_every_property_is_in_the_replacement_key(tmp_path):
    stack = _stack(tmp_path)
    keys = {
        CustomModelDeployment(stack, f"D{i}", **kwargs).purchase_key.replace(f"D{i}", "D")
        for i, kwargs in enumerate(
            [
                {"model_arn": MODEL_ARN, "deployment_name": "x"},
                {"model_arn": MODEL_ARN + "2", "deployment_name": "x"},
                {"model_arn": MODEL_ARN, "deployment_name": "y"},
                {"model_arn": MODEL_ARN, "deployment_name": "x", "description": "d"},
                {"model_arn": MODEL_ARN, "deployment_name": "x", "tags": {"k": "v"}},
            ]
        )
    }
    assert len(keys) == 5
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Resource": [DEPLOYMENTS, MODEL_ARN, MODEL_ARN + "2"]})]
                )
            }
        },
    )


def test_a_distillation_in_a_vpc_passes_every_gate(tmp_path):
    """The job role of a distillation from the invocation logs, run in a VPC, with the
    nag packs on: each wildcard it needs is acknowledged where it is, nothing else."""
    from bedrock_lifecycle.constructs.invocation_audit import (
        INVOCATION_LOG_PREFIX,
        InvocationAudit,
    )
    from bedrock_lifecycle.nag import register_packs

    app = new_app(tmp_path)
    register_packs(app)
    stack = cdk.Stack(app, "Distil", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    audit = InvocationAudit(stack, "Audit", invocation_logging=False)
    job = CustomizationJobRole(
        stack,
        "Job",
        parameter_name="/p",
        reads=["s3://acme-data/validation/"],
        output_uri="s3://acme-out/distilled/",
        invocation_logs=InvocationLogSource(audit.bucket, INVOCATION_LOG_PREFIX, audit.key),
        subnet_ids=["subnet-0a1b2c3d4e5f60711"],
        security_group_ids=["sg-0a1b2c3d4e5f60733"],
    )
    app.synth()  # an unacknowledged finding raises here
    statements = {
        s.get("Sid"): s
        for s in Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy")[
            stack.resolve(job.node.find_child("Policy").node.default_child.logical_id)
        ]["Properties"]["PolicyDocument"]["Statement"]
    }
    assert len(statements["ReadInvocationLogs"]["Resource"]) == 2  # and the large data
    assert (
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-0a1b2c3d4e5f60733"
        in statements["JobNetworkInterfaces"]["Resource"]
    )
    assert statements["TagJobNetworkInterfaces"]["Condition"]["ForAllValues:StringEquals"] == {
        "aws:TagKeys": ["BedrockManaged"]
    }
