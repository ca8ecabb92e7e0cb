"""The version manifest: per environment an SSM parameter and a stack output, the same JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import FIXED_TODAY

PARAMETER = "/bedrock-lifecycle/acme-genai/{env}/manifest"


def template_text(value: Any) -> str:
    """The text of a template value: ``Fn::Join`` parts joined, references as ``${...}``."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(template_text(p) for p in parts)
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    if "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    raise AssertionError(f"unexpected template value {value!r}")


def manifest_of(template_json: dict, env: str) -> dict:
    """The manifest JSON of ``env``'s SSM parameter (tokens shown as ``${...}``)."""
    (param,) = [
        r
        for r in template_json["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter"
        and r["Properties"].get("Name") == PARAMETER.format(env=env)
    ]
    return json.loads(template_text(param["Properties"]["Value"]))


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_parameter_and_output_carry_the_same_manifest(synthesized, env):
    template = synthesized.template_json(env)
    (output,) = [v for k, v in template["Outputs"].items() if k.startswith("VersionManifestOutput")]
    assert json.loads(template_text(output["Value"])) == manifest_of(template, env)


def test_prod_manifest_content(synthesized):
    manifest = manifest_of(synthesized.template_json("prod"), "prod")
    ids = {a.qualified_name: a.version_id for a in synthesized.config.aliases_for("prod")}
    assert {k: v["version_id"] for k, v in manifest.items()} == ids
    assert manifest["summarizer/pinned-v1"] == {
        "version_id": ids["summarizer/pinned-v1"],
        "model_arn": "arn:aws:bedrock:us-east-1::foundation-model/"
        "anthropic.claude-3-haiku-20240307-v1:0",
        "state": "deprecated",
    }
    assert manifest["summarizer/live"]["model_arn"] == (
        "arn:aws:bedrock:us-east-1:222222222222:inference-profile/"
        "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    )
    assert manifest["summarizer/live"]["state"] == "active"
    # The throughput is bought in this stack: its ARN is the custom resource's reference.
    assert manifest["assistant/live"]["model_arn"].startswith("${")
    assert synthesized.config.file.families["summarizer"].versions["v1"].lifecycle.sunset > (
        FIXED_TODAY
    )


def test_dev_manifest_is_environment_agnostic(synthesized):
    manifest = manifest_of(synthesized.template_json("dev"), "dev")
    assert manifest["embedder/live"]["model_arn"] == (
        "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/amazon.titan-embed-text-v2:0"
    )
    assert "summarizer/pinned-v1" not in manifest  # that alias exists in staging and prod only


def test_manifest_tier_counts_tokens_at_their_deployed_length():
    import aws_cdk as cdk
    from aws_cdk import aws_ssm as ssm

    from bedrock_lifecycle.stacks.environment_stack import manifest_tier

    token = cdk.Fn.ref("Throughput")  # "${Token[TOKEN.n]}": about 20 characters before deploy
    assert manifest_tier("x" * 4096) is ssm.ParameterTier.STANDARD
    assert manifest_tier("x" * 4097) is ssm.ParameterTier.ADVANCED
    assert manifest_tier("x" * 3900 + token) is ssm.ParameterTier.STANDARD
    # Short as a token, longer than the 4 KB once the ARN is in.
    assert manifest_tier("x" * 4000 + token) is ssm.ParameterTier.ADVANCED


def test_shipped_manifests_are_standard_parameters(synthesized):
    for env in ("dev", "staging", "prod"):
        synthesized.template(env).has_resource_properties(
            "AWS::SSM::Parameter", {"Name": PARAMETER.format(env=env), "Tier": "Standard"}
        )
