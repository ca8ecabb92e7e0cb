"""The logs key: CloudWatch Logs may use it for this stack's log groups, every one of them.

The key policy's ``kms:EncryptionContext:aws:logs:arn`` condition is rendered here as
IAM would see it at deploy (pseudo parameters substituted) and matched with ArnLike's
rules against the name each log group gets: its ``LogGroupName``, or the name
CloudFormation generates (``<stack name>-<logical id>-<suffix>``).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from bedrock_lifecycle.constructs.function import encrypted_log_group, logs_key
from tests.conftest import new_app

CONDITION_KEY = "kms:EncryptionContext:aws:logs:arn"
# What CloudFormation appends to a generated name (12 random characters).
GENERATED_SUFFIX = "AbCdEfGh1234"


def _render(value: object, pseudo: dict[str, str]) -> object:
    """A template value with Ref of pseudo parameters and Fn::Join evaluated."""
    if isinstance(value, list):
        return [_render(v, pseudo) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return pseudo[value["Ref"]]
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(_render(p, pseudo)) for p in parts)
        raise AssertionError(f"cannot render {value!r}")
    return value


def _scope(template: dict, pseudo: dict[str, str]) -> tuple[str, list[str]]:
    """(logical id of the logs key, the ArnLike patterns its logs statement allows)."""
    keys = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::KMS::Key" and logical_id.startswith("LogsKey")
    }
    ((key_id, key),) = keys.items()
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if str(_render(s.get("Principal", {}).get("Service", ""), pseudo)).startswith("logs.")
    ]
    assert set(statement["Condition"]) == {"ArnLike"}
    patterns = _render(statement["Condition"]["ArnLike"][CONDITION_KEY], pseudo)
    return key_id, patterns if isinstance(patterns, list) else [patterns]


def _encrypted_log_group_names(template: dict, key_id: str, pseudo: dict[str, str]) -> list[str]:
    """The name of every log group whose KmsKeyId is the logs key."""
    names = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Logs::LogGroup":
            continue
        if resource["Properties"].get("KmsKeyId") != {"Fn::GetAtt": [key_id, "Arn"]}:
            continue
        name = resource["Properties"].get("LogGroupName")
        names.append(
            str(_render(name, pseudo))
            if name is not None
            else f"{pseudo['AWS::StackName']}-{logical_id}-{GENERATED_SUFFIX}"
        )
    return names


def _pseudo(stack: cdk.Stack) -> dict[str, str]:
    def known(value: str, default: str) -> str:
        return default if cdk.Token.is_unresolved(value) else value

    return {
        "AWS::Partition": "aws",
        "AWS::Region": known(stack.region, "eu-central-1"),
        "AWS::AccountId": known(stack.account, "333333333333"),
        "AWS::StackName": stack.stack_name,
        "AWS::URLSuffix": "amazonaws.com",
    }


def _arn(pseudo: dict[str, str], name: str) -> str:
    return f"arn:aws:logs:{pseudo['AWS::Region']}:{pseudo['AWS::AccountId']}:log-group:{name}"


def _covered(patterns: list[str], arn: str) -> bool:
    # ArnLike: case-sensitive, * and ? wildcards; ARNs hold no [ ] for fnmatch to misread.
    return any(fnmatchcase(arn, pattern) for pattern in patterns)


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_log_group_on_the_logs_key_is_covered_and_nothing_else(synthesized, environment):
    stack = synthesized.stacks[environment]
    template = synthesized.template_json(environment)
    pseudo = _pseudo(stack)
    key_id, patterns = _scope(template, pseudo)
    names = _encrypted_log_group_names(template, key_id, pseudo)
    # The functions' own log groups, the provider frameworks', the audit log group
    # (Bedrock's invocation logs and the routers' records).
    assert len(names) >= 5
    assert any("AuditLogGroup" in name for name in names)
    assert any("InvocationLoggingProviderHandlerFunctionLogGroup" in name for name in names)
    for name in names:
        assert _covered(patterns, _arn(pseudo, name)), (name, patterns)
    # Nothing of the account outside this stack.
    for name in (
        "/aws/lambda/some-function",
        "BedrockLifecycle-other-AuditLogGroup4CD660E1-AbCdEfGh1234",
        f"x{stack.stack_name}-LogGroup",
        # A stack whose name starts with this one's (environments prod and prod-eu).
        f"{stack.stack_name}-eu-AuditLogGroup4CD660E1-AbCdEfGh1234",
        f"{stack.stack_name}-SomethingElse-AbCdEfGh1234",
    ):
        assert not _covered(patterns, _arn(pseudo, name)), name
    other_account = _arn(pseudo, names[0]).replace(pseudo["AWS::AccountId"], "999999999999")
    assert not _covered(patterns, other_account)


def test_a_named_log_group_on_the_key_gets_its_exact_arn(tmp_path):
    """A platform team's log group with a name of its own stays usable, by exact ARN."""
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Team", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    encrypted_log_group(stack, "Generated")
    logs.LogGroup(stack, "Named", log_group_name="/team/audit", encryption_key=logs_key(stack))
    # Another key's log group is none of the logs key's business.
    logs.LogGroup(stack, "Unencrypted", log_group_name="/team/plain")
    template = Template.from_stack(stack).to_json()
    pseudo = _pseudo(stack)
    key_id, patterns = _scope(template, pseudo)
    generated = next(
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup" and logical_id.startswith("Generated")
    )
    assert sorted(patterns) == [
        "arn:aws:logs:eu-west-1:123456789012:log-group:/team/audit",
        f"arn:aws:logs:eu-west-1:123456789012:log-group:Team-{generated}-*",
    ]
    names = _encrypted_log_group_names(template, key_id, pseudo)
    assert sorted(n.split("-")[0] for n in names) == ["/team/audit", "Team"]
    for name in names:
        assert _covered(patterns, _arn(pseudo, name))
    assert not _covered(patterns, _arn(pseudo, "/team/plain"))
