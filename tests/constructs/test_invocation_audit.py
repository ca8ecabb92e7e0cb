"""InvocationAudit: the retained, locked, encrypted trail, per environment and in isolation."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from bedrock_lifecycle.config.schema import ObjectLockMode
from bedrock_lifecycle.constructs.invocation_audit import (
    RESOURCE_TYPE,
    InvocationAudit,
    log_retention,
    logical_id,
)
from tests.conftest import new_app

# -- the shipped example, per environment -----------------------------------------------------


@pytest.mark.parametrize(
    ("env", "mode", "days"),
    [("dev", "GOVERNANCE", 30), ("staging", "GOVERNANCE", 90), ("prod", "COMPLIANCE", 400)],
)
def test_bucket_object_lock_follows_the_environment(synthesized, env, mode, days):
    template = synthesized.template(env)
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "ObjectLockEnabled": True,
                "ObjectLockConfiguration": {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": mode, "Days": days}},
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "LoggingConfiguration": {
                    "DestinationBucketName": Match.any_value(),
                    "LogFilePrefix": "audit-bucket/",
                },
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        Match.object_like(
                            {
                                "ServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": Match.any_value(),
                                }
                            }
                        )
                    ]
                },
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


@pytest.mark.parametrize(("env", "days"), [("dev", 30), ("staging", 90), ("prod", 400)])
def test_audit_log_group_is_encrypted_retained_and_kept(synthesized, env, days):
    template = synthesized.template(env)
    groups = template.find_resources(
        "AWS::Logs::LogGroup", {"Properties": {"RetentionInDays": days}}
    )
    audit = {k: v for k, v in groups.items() if k.startswith("AuditLogGroup")}
    assert len(audit) == 1, sorted(groups)
    (group,) = audit.values()
    assert "KmsKeyId" in group["Properties"]
    assert group["DeletionPolicy"] == "Retain"


def test_every_log_group_of_every_stack_has_kms_and_retention(synthesized):
    for env in synthesized.stacks:
        for name, group in synthesized.template(env).find_resources("AWS::Logs::LogGroup").items():
            assert "KmsKeyId" in group["Properties"], f"{env} {name}"
            assert "RetentionInDays" in group["Properties"], f"{env} {name}"


def test_no_function_or_state_machine_logs_to_an_implicit_log_group(synthesized):
    # The LogGroupEncryptedRetained rule only sees log groups in the template: a function
    # without LoggingConfig (aws-cdk-lib's provider framework functions included) would write
    # to an implicit /aws/lambda/... group, unencrypted and kept forever, unseen by any rule.
    for env in synthesized.stacks:
        resources = synthesized.template_json(env)["Resources"]
        groups = {k for k, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
        for name, function in resources.items():
            if function["Type"] == "AWS::Lambda::Function":
                target = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
                assert target is not None and target.get("Ref") in groups, f"{env} {name}"
            if function["Type"] == "AWS::StepFunctions::StateMachine":
                (destination,) = function["Properties"]["LoggingConfiguration"]["Destinations"]
                arn = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]
                assert arn["Fn::GetAtt"][0] in groups, f"{env} {name}"


def test_audit_key_rotates_and_is_kept(synthesized):
    synthesized.template("prod").has_resource(
        "AWS::KMS::Key",
        {
            "Properties": {
                "EnableKeyRotation": True,
                "Description": Match.string_like_regexp("model invocation audit trail"),
            },
            "DeletionPolicy": "Retain",
        },
    )


def test_bucket_refuses_plain_http_and_lets_only_this_accounts_bedrock_write(synthesized):
    policies = synthesized.template("prod").find_resources("AWS::S3::BucketPolicy")
    all_statements = [
        s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in all_statements
    )
    (bedrock,) = [s for s in all_statements if s.get("Sid") == "AllowBedrockInvocationLogDelivery"]
    assert bedrock["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert bedrock["Action"] == "s3:PutObject"
    assert bedrock["Condition"]["StringEquals"] == {"aws:SourceAccount": "222222222222"}
    assert bedrock["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:bedrock:us-east-1:222222222222:*"
    }


def test_logging_resource_per_environment_and_one_provider_per_stack(synthesized):
    for env in ("dev", "staging", "prod"):
        template = synthesized.template(env)
        template.resource_count_is(RESOURCE_TYPE, 1)
        template.has_resource_properties(
            RESOURCE_TYPE,
            {
                "KeyPrefix": "invocation-logs",
                "LargeDataKeyPrefix": "invocation-logs-large-data",
                "TextDataDelivery": "false",  # no environment of the example opts in
                "RoleArn": {"Fn::GetAtt": [Match.string_like_regexp("^AuditDeliveryRole"), "Arn"]},
            },
        )


def test_delivery_role_trusts_only_bedrock_of_this_account(synthesized):
    synthesized.template("prod").has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "bedrock.amazonaws.com"},
                        "Condition": Match.object_like(
                            {"StringEquals": {"aws:SourceAccount": "222222222222"}}
                        ),
                    }
                ]
            }
        },
    )


# -- the construct in isolation ---------------------------------------------------------------


@pytest.fixture(scope="module")
def isolated(tmp_path_factory) -> dict[str, Template]:
    app = new_app(tmp_path_factory.mktemp("audit"))
    env = cdk.Environment(account="333333333333", region="eu-west-1")
    owner = cdk.Stack(app, "Owner", env=env)
    InvocationAudit(owner, "Audit", text_data_delivery=True)
    InvocationAudit(owner, "Second", invocation_logging=False)  # a second trail, no logging
    bystander = cdk.Stack(app, "Bystander", env=env)
    InvocationAudit(
        bystander,
        "Audit",
        invocation_logging=False,
        object_lock_mode=ObjectLockMode.COMPLIANCE,
        retention_days=7,
        log_retention_days=14,
    )
    return {"owner": Template.from_stack(owner), "bystander": Template.from_stack(bystander)}


def test_defaults_are_governance_for_a_year(isolated):
    isolated["owner"].has_resource_properties(
        "AWS::S3::Bucket",
        {
            "ObjectLockConfiguration": {
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}}
            }
        },
    )


def test_text_delivery_opt_in_reaches_the_resource(isolated):
    isolated["owner"].has_resource_properties(RESOURCE_TYPE, {"TextDataDelivery": "true"})


def test_a_stack_has_one_logging_resource_and_one_provider(isolated):
    template = isolated["owner"]
    template.resource_count_is(RESOURCE_TYPE, 1)
    functions = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Description": Match.string_like_regexp(RESOURCE_TYPE)}},
    )
    assert len(functions) == 1


def test_a_second_owner_of_the_account_wide_setting_in_one_stack_is_refused(tmp_path):
    stack = cdk.Stack(new_app(tmp_path), "S")
    InvocationAudit(stack, "First")
    with pytest.raises(
        ValueError, match="S/First already owns it in this stack, got a second owner 'Second'"
    ):
        InvocationAudit(stack, "Second")
    InvocationAudit(stack, "Third", invocation_logging=False)  # a trail without logging is fine


def test_an_environment_not_owning_logging_has_no_custom_resource(isolated):
    template = isolated["bystander"]
    template.resource_count_is(RESOURCE_TYPE, 0)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "ObjectLockConfiguration": {
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 7}}
            }
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 14})


def test_invalid_settings_are_refused_with_the_value():
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(ValueError, match="retention_days must be between 1 and 36500, got 0"):
        InvocationAudit(stack, "A", retention_days=0)
    with pytest.raises(ValueError, match=r"log_retention_days must be one of 1, 3, .* got 2$"):
        log_retention(2)


def test_an_object_lock_mode_is_read_by_value_and_anything_else_refused(tmp_path):
    stack = cdk.Stack(new_app(tmp_path), "S")
    InvocationAudit(stack, "A", object_lock_mode="COMPLIANCE", invocation_logging=False)  # type: ignore[arg-type]
    Template.from_stack(stack).has_resource_properties(
        "AWS::S3::Bucket",
        {"ObjectLockConfiguration": {"Rule": {"DefaultRetention": {"Mode": "COMPLIANCE"}}}},
    )
    with pytest.raises(
        ValueError,
        match=r"object_lock_mode must be one of GOVERNANCE, COMPLIANCE, got 'compliance'$",
    ):
        InvocationAudit(stack, "B", object_lock_mode="compliance")  # type: ignore[arg-type]
    assert stack.node.try_find_child("B") is None


def test_a_retention_that_is_no_whole_number_of_days_is_refused():
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(ValueError, match=r"retention_days must be between 1 and 36500, got 30.5$"):
        InvocationAudit(stack, "A", retention_days=30.5)  # type: ignore[arg-type]


# -- the permissions Bedrock's delivery needs, in the shipped prod stack ------------------------

BEDROCK_OF_PROD = {
    "StringEquals": {"aws:SourceAccount": "222222222222"},
    "ArnLike": {"aws:SourceArn": "arn:aws:bedrock:us-east-1:222222222222:*"},
}


def _ids(synthesized, env: str = "prod") -> dict[str, str]:
    audit = synthesized.stacks[env].audit
    return {
        name: logical_id(getattr(audit, name))
        for name in ("key", "bucket", "log_group", "delivery_role")
    }


def test_audit_key_lets_this_accounts_bedrock_write_encrypted_objects(synthesized):
    # SSE-KMS bucket: Bedrock's S3 delivery needs GenerateDataKey on the bucket's key.
    key = synthesized.template_json("prod")["Resources"][_ids(synthesized)["key"]]
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (bedrock,) = [
        s for s in statements if s.get("Principal") == {"Service": "bedrock.amazonaws.com"}
    ]
    assert bedrock["Effect"] == "Allow"
    assert "kms:GenerateDataKey" in bedrock["Action"]
    assert bedrock["Condition"] == BEDROCK_OF_PROD


def test_audit_log_group_key_lets_cloudwatch_logs_of_this_stack_encrypt(synthesized):
    resources = synthesized.template_json("prod")["Resources"]
    group = resources[_ids(synthesized)["log_group"]]
    key_id = group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0]
    statements = resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    (logs,) = [
        s for s in statements if s.get("Principal") == {"Service": "logs.us-east-1.amazonaws.com"}
    ]
    assert {"kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"} <= set(logs["Action"])
    # One pattern per log group of the stack on this key (<stack name>-<logical id>-*),
    # the audit log group's among them; tests/stacks/test_logs_key_scope.py checks all.
    patterns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    audit_id = _ids(synthesized)["log_group"]
    assert {
        "Fn::Join": [
            "",
            [
                "arn:aws:logs:us-east-1:222222222222:log-group:",
                {"Ref": "AWS::StackName"},
                f"-{audit_id}-*",
            ],
        ]
    } in patterns


def test_delivery_role_writes_only_bedrocks_stream_of_the_audit_log_group(synthesized):
    ids = _ids(synthesized)
    synthesized.template("prod").has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": ids["delivery_role"]}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    [
                                        "arn:aws:logs:us-east-1:222222222222:log-group:",
                                        {"Ref": ids["log_group"]},
                                        ":log-stream:aws/bedrock/modelinvocations",
                                    ],
                                ]
                            },
                        },
                        {
                            "Effect": "Allow",
                            "Action": "s3:PutObject",
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    [
                                        {"Fn::GetAtt": [ids["bucket"], "Arn"]},
                                        "/invocation-logs-large-data/*",
                                    ],
                                ]
                            },
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                            "Resource": {"Fn::GetAtt": [ids["key"], "Arn"]},
                        },
                    ]
                ),
            },
        },
    )
    role = synthesized.template_json("prod")["Resources"][ids["delivery_role"]]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == BEDROCK_OF_PROD


def test_logging_is_put_after_the_bucket_policy_and_role_and_may_pass_only_that_role(
    synthesized,
):
    # Bedrock checks the bucket policy and the role when the configuration is put.
    template = synthesized.template_json("prod")
    ids = _ids(synthesized)
    (logging,) = [r for r in template["Resources"].values() if r["Type"] == RESOURCE_TYPE]
    (bucket_policy,) = [
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::S3::BucketPolicy"
        and r["Properties"]["Bucket"] == {"Ref": ids["bucket"]}
    ]
    assert {bucket_policy, ids["delivery_role"]} <= set(logging["DependsOn"])
    assert logging["Properties"]["BucketName"] == {"Ref": ids["bucket"]}
    assert logging["Properties"]["LogGroupName"] == {"Ref": ids["log_group"]}
    synthesized.template("prod").has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Effect": "Allow",
                            "Action": "iam:PassRole",
                            "Resource": {"Fn::GetAtt": [ids["delivery_role"], "Arn"]},
                        }
                    ]
                )
            }
        },
    )
