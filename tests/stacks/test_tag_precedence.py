"""Built-in ``bedrock-lifecycle:*`` tags win over the environment's own ``tags``.

The config layer refuses such keys in ``validate``; the stack must hold on its own
(a config built in code skips that check), so the file here is changed after loading.
"""

from __future__ import annotations

import dataclasses

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from bedrock_lifecycle.config import LifecycleConfig
from bedrock_lifecycle.constructs.invocation_audit import InvocationAudit
from bedrock_lifecycle.constructs.provisioned_throughput import RESOURCE_TYPE
from bedrock_lifecycle.nag.rules.audit_bucket_object_lock import AUDIT_PURPOSE, PURPOSE_TAG
from bedrock_lifecycle.stacks import LifecycleStack, stack_name
from tests.conftest import new_app

ENVIRONMENT = "prod"  # the shipped environment that buys a provisioned throughput
SPOOFED = {
    "bedrock-lifecycle:environment": "dev",
    "bedrock-lifecycle:project": "someone-else",
    "Bedrock-Lifecycle:Environment": "dev",
    PURPOSE_TAG: "not-an-audit",
    "team": "genai",
}


def _with_tags(config: LifecycleConfig, environment: str, tags: dict[str, str]) -> LifecycleConfig:
    spec = config.file.environments[environment]
    environments = {
        **config.file.environments,
        environment: spec.model_copy(update={"tags": {**spec.tags, **tags}}),
    }
    file = config.file.model_copy(update={"environments": environments})
    return dataclasses.replace(config, file=file)


@pytest.fixture(scope="module")
def spoofed(shipped_config, tmp_path_factory):
    config = _with_tags(shipped_config, ENVIRONMENT, SPOOFED)
    app = new_app(tmp_path_factory.mktemp("tags"))
    stack = LifecycleStack(app, stack_name(ENVIRONMENT), config=config, environment=ENVIRONMENT)
    return stack, Template.from_stack(stack)


def _tags(properties: dict) -> dict[str, str] | None:
    """A resource's tags as a dict, whether the type lists them or maps them."""
    tags = properties.get("Tags")
    if isinstance(tags, list):
        return {t["Key"]: t["Value"] for t in tags}
    if isinstance(tags, dict):
        return dict(tags)
    return None


def test_every_tagged_resource_carries_the_built_in_values(spoofed, shipped_config):
    _, template = spoofed
    resources = template.to_json()["Resources"]
    tagged = {
        logical_id: _tags(resource.get("Properties", {}))
        for logical_id, resource in resources.items()
        if _tags(resource.get("Properties", {})) is not None
    }
    assert len(tagged) > 20
    project = shipped_config.file.project
    for logical_id, tags in tagged.items():
        assert tags is not None
        if resources[logical_id]["Type"] == RESOURCE_TYPE:
            continue  # below: the throughput carries its own set
        assert tags.get("bedrock-lifecycle:environment") == ENVIRONMENT, logical_id
        assert tags.get("bedrock-lifecycle:project") == project, logical_id
        assert "Bedrock-Lifecycle:Environment" not in tags, logical_id
        assert tags.get("team") == "genai", logical_id  # ordinary user tags still apply
        # Only the audit bucket is an audit bucket.
        assert tags.get(PURPOSE_TAG) in (None, AUDIT_PURPOSE), logical_id


def test_the_audit_bucket_keeps_its_purpose(spoofed):
    stack, template = spoofed
    audit = next(n for n in stack.node.find_all() if isinstance(n, InvocationAudit))
    bucket_id = stack.resolve(stack.get_logical_id(audit.bucket.node.default_child))
    tags = _tags(template.to_json()["Resources"][bucket_id]["Properties"])
    assert tags is not None and tags[PURPOSE_TAG] == AUDIT_PURPOSE


def test_the_throughput_custom_resource_carries_the_built_in_values(spoofed, shipped_config):
    _, template = spoofed
    (throughput,) = template.find_resources(RESOURCE_TYPE).values()
    tags = _tags(throughput["Properties"])
    assert tags is not None
    assert tags["bedrock-lifecycle:environment"] == ENVIRONMENT
    assert tags["bedrock-lifecycle:project"] == shipped_config.file.project
    assert "Bedrock-Lifecycle:Environment" not in tags
    # The handler's IAM relies on that value: it must be the one the stack's grants name.
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "ManageOwnedThroughputs",
                                "Condition": {
                                    "StringEquals": {
                                        "aws:ResourceTag/bedrock-lifecycle:environment": [
                                            ENVIRONMENT
                                        ]
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_reserved_user_tags_are_reported(spoofed):
    stack, _ = spoofed
    Annotations.from_stack(stack).has_warning(
        f"/{stack.stack_name}",
        Match.string_like_regexp("are not applied: keys under bedrock-lifecycle: are set by"),
    )


def test_a_tag_added_later_at_the_default_priority_does_not_win(tmp_path, shipped_config):
    """A platform team's Tags.of(stack).add after the stack is built changes nothing."""
    app = new_app(tmp_path)
    stack = LifecycleStack(app, stack_name("dev"), config=shipped_config, environment="dev")
    cdk.Tags.of(stack).add("bedrock-lifecycle:environment", "prod")
    cdk.Tags.of(stack).add(PURPOSE_TAG, "not-an-audit")
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"Tags": Match.array_with([{"Key": "bedrock-lifecycle:environment", "Value": "dev"}])},
    )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"Tags": Match.array_with([{"Key": PURPOSE_TAG, "Value": AUDIT_PURPOSE}])},
    )
