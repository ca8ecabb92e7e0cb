"""The app: one stack per environment, gates (cdk-nag, cfn-lint) and clean failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match

from bedrock_lifecycle.stacks import stack_name
from tests.conftest import ROOT
from tests.stacks.test_version_manifest import template_text
from tests.support.cfn_lint import cfn_lint_errors

ENVIRONMENTS = ("dev", "staging", "prod")


def test_one_stack_per_environment(synthesized):
    assert list(synthesized.stacks) == list(ENVIRONMENTS)
    for env, stack in synthesized.stacks.items():
        assert stack.stack_name == f"BedrockLifecycle-{env}" == stack_name(env)
        assert (synthesized.outdir / f"BedrockLifecycle-{env}.template.json").is_file()


def test_environment_without_account_is_agnostic(synthesized):
    dev, prod = synthesized.stacks["dev"], synthesized.stacks["prod"]
    assert cdk.Token.is_unresolved(dev.account) and cdk.Token.is_unresolved(dev.region)
    assert (prod.account, prod.region) == ("222222222222", "us-east-1")


def test_stacks_are_tagged_for_cost_allocation(synthesized):
    synthesized.template("prod").has_resource_properties(
        "AWS::SNS::Topic",
        {"Tags": Match.array_with([{"Key": "bedrock-lifecycle:environment", "Value": "prod"}])},
    )


def test_version_manifest_names_every_alias(synthesized):
    manifest_param = synthesized.template("prod").find_resources(
        "AWS::SSM::Parameter",
        {"Properties": {"Name": "/bedrock-lifecycle/acme-genai/prod/manifest"}},
    )
    (param,) = manifest_param.values()
    # prod's throughput ARN is a reference: the value is an Fn::Join (test_version_manifest.py).
    manifest = json.loads(template_text(param["Properties"]["Value"]))
    expected = {a.qualified_name: a.version_id for a in synthesized.config.aliases_for("prod")}
    assert {k: v["version_id"] for k, v in manifest.items()} == expected


@pytest.mark.parametrize(
    "pack_index", range(4), ids=["AwsSolutions", "Serverless", "NIST", "HIPAA"]
)
def test_no_unacknowledged_nag_findings(synthesized, pack_index):
    pack = synthesized.packs[pack_index]
    findings = []
    for stack in synthesized.stacks.values():
        report = pack.validate_scope(stack)
        findings += [
            f"{v.rule_name} {r.construct_path}"
            for v in report.violations
            for r in v.violating_resources
        ]
    assert findings == []


def _acknowledgements(construct) -> list[tuple[str, str]]:
    found = []
    for node in construct.node.find_all():
        for entry in node.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                # Stored as {"Annotation::<finding id>": reason}.
                for key, reason in entry.data.items():
                    found.append((key.removeprefix("Annotation::"), reason))
    return found


def test_acknowledgements_are_listed_and_reasoned(synthesized):
    """Every acknowledgement in the shipped app as ``finding: reason``, deduplicated.

    A new or changed acknowledgement changes this list, so it shows up in review.
    """
    acks = set()
    for stack in synthesized.stacks.values():
        for finding, reason in _acknowledgements(stack):
            assert len(reason) >= 20, f"{finding} needs a real reason"
            assert "::" not in finding.split("[", 1)[0]
            acks.add(f"{finding}: {reason}")
    listed = (Path(__file__).parent / "acknowledged_findings.txt").read_text().splitlines()
    assert sorted(acks) == sorted(line for line in listed if line and not line.startswith("#"))


def test_cfn_lint_reports_no_errors(synthesized):
    templates = sorted(synthesized.outdir.glob("*.template.json"))
    assert len(templates) == 3
    assert cfn_lint_errors(templates) == ""


def test_app_refuses_an_invalid_file_without_traceback(tmp_path):
    bad = ROOT / "tests/config/bad/alias-unknown-version.yaml"
    env = dict(os.environ)
    env["CDK_CONTEXT_JSON"] = json.dumps({"lifecycle": str(bad)})
    env["CDK_OUTDIR"] = str(tmp_path / "out")
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{bad}: families.summarizer.aliases.live.version: 'v9' is not a declared version of "
        "summarizer (declared: v1, v2)"
    ]
    written = list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else []
    assert written == [], "nothing may be written for an invalid file"


def test_lifecycle_warnings_are_annotations_in_the_one_line_form(synthesized):
    found = synthesized.warnings("prod")
    texts = sorted(
        t for path, t in found if path == "/BedrockLifecycle-prod/Aliases/SummarizerPinnedV1"
    )
    label = synthesized.config.label
    assert texts and all(t.startswith(f"{label}: families.summarizer.") for t in texts)
    # The annotation's level already says warning; the text does not repeat it.
    assert not any(": warning:" in t for t in texts)


def test_the_shipped_app_synthesizes_in_an_app_without_this_repositorys_context(
    shipped_config, tmp_path
):
    """A platform team's own cdk.json sets none of this repository's feature flags (no
    ``@aws-cdk/core:enablePartitionLiterals``): the partition is then a token, and every
    construct, acknowledgement and gate must still hold (they once did not: an access-log
    bucket needed a flag, an acknowledgement id held a token)."""
    from bedrock_lifecycle.app import build_app

    app = cdk.App(outdir=str(tmp_path))  # no context at all
    _, stacks, _ = build_app(shipped_config, app=app)
    assembly = app.synth()  # the cdk-nag packs and the Control Tower gate run here
    template = assembly.get_stack_by_name(stack_name("prod")).template
    assert '"Ref": "AWS::Partition"' in json.dumps(template)  # the partition was a token
    assert set(stacks) == {"dev", "staging", "prod"}
