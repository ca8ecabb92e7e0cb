"""What AWS Control Tower's proactive controls ask of the stacks, asserted on the
shipped templates: KMS grants, bucket lifecycle and events, encrypted environment
variables, traced waiters, dead-letter queues marked as such, and reserved concurrency."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from bedrock_lifecycle.versions import ModelVersion

pytestmark = pytest.mark.synth

DENY_GRANTS = {
    "Sid": "DenyGrantsOutsideAwsServices",
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "kms:CreateGrant",
    "Resource": "*",
    "Condition": {
        "BoolIfExists": {
            "kms:GrantIsForAWSResource": "false",
            "aws:PrincipalIsAWSService": "false",
        }
    },
}


def _of_type(template: Template, kind: str) -> dict:
    return template.find_resources(kind)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_key_refuses_grants_not_for_aws_resources(synthesized, env):
    keys = _of_type(synthesized.templates[env], "AWS::KMS::Key")
    assert len(keys) == 3
    for key in keys.values():
        assert DENY_GRANTS in key["Properties"]["KeyPolicy"]["Statement"]


def test_both_audit_buckets_expire_noncurrent_versions_after_the_retention(synthesized):
    prod = synthesized.templates["prod"]
    buckets = _of_type(prod, "AWS::S3::Bucket")
    assert len(buckets) == 2
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["LifecycleConfiguration"] == {
            "Rules": [
                {
                    "Id": "ExpireNoncurrentVersionsAfterRetention",
                    "Status": "Enabled",
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 400},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                }
            ]
        }
        assert props["NotificationConfiguration"] == {
            "EventBridgeConfiguration": {"EventBridgeEnabled": True}
        }
    # No custom resource does it: the property is on the bucket itself.
    assert not _of_type(prod, "Custom::S3BucketNotifications")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_environment_variables_are_encrypted_and_each_role_may_decrypt(synthesized, env):
    stack = synthesized.stacks[env]
    template = synthesized.templates[env]
    key = stack.resolve(stack.node.find_child("LogsKey").node.default_child.logical_id)
    functions = _of_type(template, "AWS::Lambda::Function")
    # Ours and the provider framework's own (provider_function_env_encryption).
    assert len([k for k in functions if "framework" in k]) == {"dev": 1, "prod": 4}[env]
    for function in functions.values():
        assert function["Properties"]["KmsKeyArn"] == {"Fn::GetAtt": [key, "Arn"]}
    # The routers' grants policy holds the decrypt statement (no default policy).
    router = stack.environment_stacks.alias_scope("summarizer/live")
    grants = stack.resolve(router.grants.node.default_child.logical_id)
    statements = template.to_json()["Resources"][grants]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert {
        "Action": "kms:Decrypt",
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [key, "Arn"]},
    } in (statements)


def test_the_waiter_state_machine_is_traced_and_may_write_traces(synthesized):
    prod = synthesized.templates["prod"]
    prod.has_resource_properties(
        "AWS::StepFunctions::StateMachine", {"TracingConfiguration": {"Enabled": True}}
    )
    waiter = {
        action
        for logical, policy in _of_type(prod, "AWS::IAM::Policy").items()
        if "waiterstatemachine" in logical
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Resource"] == "*"
        for action in statement["Action"]
    }
    assert {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    } <= waiter


def test_dead_letter_queues_say_they_are_ones(synthesized):
    queues = _of_type(synthesized.templates["prod"], "AWS::SQS::Queue")
    # The alarm topic's, the lifecycle watcher's and the continuous evaluator's.
    assert len(queues) == 3
    for queue in queues.values():
        assert queue["Properties"]["RedriveAllowPolicy"] == {"redrivePermission": "allowAll"}


def test_max_concurrency_reserves_the_routers_concurrency():
    from bedrock_lifecycle.config.schema import VersionSpec
    from bedrock_lifecycle.constructs.model_alias import ModelAlias

    version = ModelVersion.from_spec(
        "chat",
        "v1",
        VersionSpec.model_validate({"target": {"foundation_model": "amazon.nova-pro-v1:0"}}),
    )
    stack = cdk.Stack(
        cdk.App(), "S", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    ModelAlias(
        stack, "A", model_version=version, alias_name="live", environment="prod", max_concurrency=25
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function", {"ReservedConcurrentExecutions": 25}
    )
    with pytest.raises(ValueError, match="max_concurrency must be between 1 and"):
        ModelAlias(
            stack, "B", model_version=version, alias_name="b", environment="prod", max_concurrency=0
        )
