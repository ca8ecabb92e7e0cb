"""Each project rule, as a pure function of one resource: a compliant and a non-compliant case."""

from __future__ import annotations

import pytest
from cdk_nag import NagRuleCompliance as C

from bedrock_lifecycle.nag.rules import Resource, rules
from bedrock_lifecycle.nag.rules import alias_rollback_alarms as rollback
from bedrock_lifecycle.nag.rules import audit_bucket_object_lock as object_lock
from bedrock_lifecycle.nag.rules import committed_throughput_retained as throughput
from bedrock_lifecycle.nag.rules import log_group_encrypted_retained as log_group
from bedrock_lifecycle.nag.rules import prod_evaluation_gate as gate
from bedrock_lifecycle.nag.rules import router_bedrock_wildcard as wildcard

DG = "AWS::CodeDeploy::DeploymentGroup"
WATCHED = {
    "AlarmConfiguration": {"Enabled": True, "Alarms": [{"Name": {"Ref": "A"}}]},
    "AutoRollbackConfiguration": {
        "Enabled": True,
        "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    },
}


def test_every_rule_is_registered_once_with_a_module_of_its_own():
    names = [r.name for r in rules()]
    assert names == [
        "AliasRollbackAlarms",
        "ProdEvaluationGate",
        "RouterBedrockWildcard",
        "CommittedThroughputRetained",
        "AuditBucketObjectLock",
        "LogGroupEncryptedRetained",
    ]
    assert len({r.check.__module__ for r in rules()}) == len(names)


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (WATCHED, C.COMPLIANT),
        ({**WATCHED, "AlarmConfiguration": {"Enabled": True, "Alarms": []}}, C.NON_COMPLIANT),
        ({**WATCHED, "AlarmConfiguration": {"Enabled": False, "Alarms": [{}]}}, C.NON_COMPLIANT),
        (
            {**WATCHED, "AutoRollbackConfiguration": {"Enabled": True, "Events": ["X"]}},
            C.NON_COMPLIANT,
        ),
        ({}, C.NON_COMPLIANT),
    ],
    ids=["alarms-and-rollback", "no-alarms", "alarms-disabled", "no-stop-on-alarm", "bare"],
)
def test_alias_rollback_alarms(props, expected):
    assert rollback.check(Resource(DG, props)) is expected


def _alias(hook: str | None, *, gate_required: bool = True, codedeploy: bool = True) -> Resource:
    update = {"CodeDeployLambdaAliasUpdate": {"BeforeAllowTrafficHook": hook}}
    return Resource(
        "AWS::Lambda::Alias",
        {"Name": "live"},
        update_policy=update if codedeploy else None,
        environment="prod",
        requires_evaluation_gate=gate_required,
    )


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (_alias("GateFunction"), C.COMPLIANT),
        (_alias(None), C.NON_COMPLIANT),
        (_alias(None, gate_required=False), C.NOT_APPLICABLE),
        (_alias(None, codedeploy=False), C.NOT_APPLICABLE),
    ],
    ids=["gated", "prod-without-gate", "dev-without-gate", "no-codedeploy"],
)
def test_prod_evaluation_gate(resource, expected):
    assert gate.check(resource) is expected


def _policy(*statements: dict, kind: str = "AWS::IAM::Policy") -> Resource:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    if kind == "AWS::IAM::Role":
        return Resource(kind, {"Policies": [{"PolicyName": "p", "PolicyDocument": document}]})
    return Resource(kind, {"PolicyDocument": document})


MODEL = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            _policy({"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": [MODEL]}),
            C.COMPLIANT,
        ),
        (
            _policy({"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}),
            C.NON_COMPLIANT,
        ),
        (
            _policy(
                {
                    "Effect": "Allow",
                    "Action": ["bedrock:Converse"],
                    "Resource": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":bedrock:us-east-1::foundation-model/*",
                            ],
                        ]
                    },
                }
            ),
            C.NON_COMPLIANT,
        ),
        (_policy({"Effect": "Allow", "Action": "bedrock:*", "Resource": [MODEL]}), C.NON_COMPLIANT),
        (
            _policy({"Effect": "Allow", "Action": "bedrock:Invoke*", "Resource": [MODEL]}),
            C.NON_COMPLIANT,
        ),
        (_policy({"Effect": "Allow", "Action": "*", "Resource": [MODEL]}), C.NON_COMPLIANT),
        (
            _policy(
                {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"},
                kind="AWS::IAM::Role",
            ),
            C.NON_COMPLIANT,
        ),
        (_policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), C.NON_COMPLIANT),
        (
            _policy({"Effect": "Allow", "Action": "bedrock:InvokeModel", "NotResource": [MODEL]}),
            C.NON_COMPLIANT,
        ),
        (_policy({"Effect": "Deny", "Action": "bedrock:*", "Resource": "*"}), C.NOT_APPLICABLE),
        (
            _policy(
                {
                    "Effect": "Allow",
                    "Action": "bedrock:PutModelInvocationLoggingConfiguration",
                    "Resource": "*",
                }
            ),
            C.NOT_APPLICABLE,
        ),
    ],
    ids=[
        "exact-model",
        "star-resource",
        "model-wildcard-in-join",
        "bedrock-star",
        "invoke-star",
        "star-action",
        "inline-role-policy",
        "not-action-covers-bedrock",
        "not-resource",
        "deny-is-fine",
        "control-plane-action",
    ],
)
def test_router_bedrock_wildcard(resource, expected):
    assert wildcard.check(resource) is expected


def _throughput(commitment: str, policy: str | None) -> Resource:
    return Resource(
        "Custom::BedrockProvisionedThroughput",
        {"CommitmentDuration": commitment, "ModelUnits": "1"},
        deletion_policy=policy,
        update_replace_policy=policy,
    )


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (_throughput("OneMonth", "Retain"), C.COMPLIANT),
        (
            Resource(
                "Custom::BedrockProvisionedThroughput",
                {"CommitmentDuration": "SixMonths"},
                deletion_policy="RetainExceptOnCreate",
                update_replace_policy="Retain",
            ),
            C.COMPLIANT,
        ),
        (_throughput("SixMonths", "Delete"), C.NON_COMPLIANT),
        (_throughput("OneMonth", None), C.NON_COMPLIANT),
        (
            Resource(
                "Custom::BedrockProvisionedThroughput",
                {"CommitmentDuration": "OneMonth"},
                deletion_policy="Retain",
                update_replace_policy="Delete",
            ),
            C.NON_COMPLIANT,
        ),
        (_throughput("None", "Delete"), C.NOT_APPLICABLE),
    ],
    ids=[
        "retained",
        "retained-except-on-create",
        "deleted",
        "unset",
        "replaced-deletes",
        "no-commitment",
    ],
)
def test_committed_throughput_retained(resource, expected):
    assert throughput.check(resource) is expected


AUDIT_TAGS = [{"Key": "bedrock-lifecycle:purpose", "Value": "invocation-audit"}]
LOCKED = {
    "ObjectLockEnabled": True,
    "ObjectLockConfiguration": {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}},
    },
}


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({**LOCKED, "Tags": AUDIT_TAGS}, C.COMPLIANT),
        ({"Tags": AUDIT_TAGS}, C.NON_COMPLIANT),
        ({"ObjectLockEnabled": True, "Tags": AUDIT_TAGS}, C.NON_COMPLIANT),
        (
            {
                **LOCKED,
                "ObjectLockConfiguration": {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE"}},
                },
                "Tags": AUDIT_TAGS,
            },
            C.NON_COMPLIANT,
        ),
        ({**LOCKED, "ObjectLockEnabled": False, "Tags": AUDIT_TAGS}, C.NON_COMPLIANT),
        ({}, C.NOT_APPLICABLE),
    ],
    ids=[
        "locked",
        "unlocked",
        "lock-without-default-retention",
        "retention-without-days-or-years",
        "rule-without-object-lock-enabled",
        "not-an-audit-bucket",
    ],
)
def test_audit_bucket_object_lock(props, expected):
    assert object_lock.check(Resource("AWS::S3::Bucket", props)) is expected


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}, "RetentionInDays": 365}, C.COMPLIANT),
        ({"RetentionInDays": 365}, C.NON_COMPLIANT),
        ({"KmsKeyId": "arn:aws:kms:us-east-1:111111111111:key/x"}, C.NON_COMPLIANT),
    ],
    ids=["encrypted-and-retained", "no-key", "kept-forever"],
)
def test_log_group_encrypted_retained(props, expected):
    assert log_group.check(Resource("AWS::Logs::LogGroup", props)) is expected
