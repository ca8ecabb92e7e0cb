"""``examples/platform-stack``: a platform team's own app synthesizes under every gate.

It runs as its users run it: a plain ``cdk.App`` with no feature flags of this
repository's cdk.json (a construct that needs one fails here), the four cdk-nag packs,
the package's own rules and the AWS Control Tower controls, then cfn-lint. Its logical
ids are pinned (construct ids are public API).
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from collections import Counter

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from bedrock_lifecycle.constructs import register_control_tower, register_packs
from tests.conftest import ROOT
from tests.support.cfn_lint import cfn_lint_errors

EXAMPLE = ROOT / "examples/platform-stack"
PINNED_IDS = ROOT / "tests/constructs/construct_ids.txt"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    example = runpy.run_path(str(EXAMPLE / "app.py"), run_name="platform_example")
    outdir = tmp_path_factory.mktemp("platform-example")
    app = cdk.App(outdir=str(outdir))  # no context: none of this repository's flags
    register_packs(app)
    register_control_tower(app)
    stack = example["build"](app)
    assembly = app.synth()  # every gate runs here: an unacknowledged finding raises
    return stack, Template.from_stack(stack), assembly, outdir


def test_the_imports_come_from_the_one_public_module():
    text = (EXAMPLE / "app.py").read_text(encoding="utf-8")
    imports = [line for line in text.splitlines() if "bedrock_lifecycle" in line]
    assert imports == ["from bedrock_lifecycle.constructs import ("]


def test_two_aliases_roll_out_by_canary_behind_the_gate(synthesized):
    _, template, _, _ = synthesized
    types = Counter(r["Type"] for r in template.to_json()["Resources"].values())
    assert types["AWS::Lambda::Alias"] == 2
    assert types["AWS::CodeDeploy::DeploymentGroup"] == 2
    assert types["Custom::BedrockProvisionedThroughput"] == 1
    assert types["Custom::BedrockInvocationLogging"] == 1
    template.has_resource_properties(
        "AWS::CodeDeploy::DeploymentConfig",
        {
            "TrafficRoutingConfig": {
                "Type": "TimeBasedCanary",
                "TimeBasedCanary": {"CanaryPercentage": 20, "CanaryInterval": 10},
            }
        },
    )
    groups = template.find_resources("AWS::CodeDeploy::DeploymentGroup")
    for group in groups.values():
        props = group["Properties"]
        assert len(props["AlarmConfiguration"]["Alarms"]) == 2
        assert "DEPLOYMENT_STOP_ON_ALARM" in props["AutoRollbackConfiguration"]["Events"]
    # Both aliases carry the gate (BeforeAllowTraffic) and the analysis hook.
    for alias in template.find_resources("AWS::Lambda::Alias").values():
        hooks = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert {"BeforeAllowTrafficHook", "AfterAllowTrafficHook"} <= set(hooks)
    # A committed purchase outlives the stack (kept on update, replace and delete).
    template.has_resource(
        "Custom::BedrockProvisionedThroughput",
        {"DeletionPolicy": "RetainExceptOnCreate", "UpdateReplacePolicy": "Retain"},
    )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"ObjectLockEnabled": True, "ObjectLockConfiguration": Match.object_like({})},
    )


def test_cfn_lint_reports_no_errors(synthesized):
    _, _, _, outdir = synthesized
    templates = sorted(outdir.glob("*.template.json"))
    assert [t.name for t in templates] == ["SearchPlatform.template.json"]
    assert cfn_lint_errors(templates) == ""


def construct_ids(stack: cdk.Stack) -> list[str]:
    """``<logical id> <construct path>`` of every CloudFormation resource of ``stack``.

    A Lambda version's logical id ends in the hash of its function's code and
    configuration (aws-cdk-lib's ``currentVersion``): a new version on every change is
    its purpose, so the hash is shown as ``<hash>``; the rest is the construct path's."""
    lines = []
    for node in stack.node.find_all():
        if isinstance(node, cdk.CfnResource):
            path = node.node.path.removeprefix(stack.node.path + "/")
            logical_id = re.sub(
                r"(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}$",
                r"\1<hash>",
                stack.resolve(node.logical_id),
            )
            lines.append(f"{logical_id} {path}")
    return sorted(lines)


def test_construct_ids_are_pinned(synthesized):
    """Renaming a construct id replaces its resources: a deliberate, changelogged break.
    ``UPDATE_CONSTRUCT_IDS=1 pytest tests/test_platform_example.py`` rewrites the pin."""
    stack, _, _, _ = synthesized
    found = construct_ids(stack)
    if os.environ.get("UPDATE_CONSTRUCT_IDS") == "1":
        PINNED_IDS.write_text("\n".join(found) + "\n", encoding="utf-8")
    pinned = PINNED_IDS.read_text(encoding="utf-8").splitlines()
    assert found == pinned, "construct ids changed: see CHANGELOG.md's deprecation policy"


def test_cdk_json_runs_the_app_with_no_flags_of_this_repository():
    """The test above builds the app with no context: that is what cdk.json gives it."""
    import json

    settings = json.loads((EXAMPLE / "cdk.json").read_text(encoding="utf-8"))
    assert settings["app"] == "python3 app.py"
    assert set(settings.get("context", {})) <= {"@aws-cdk/core:target-partitions"}


def test_requirements_resolve_to_the_package_with_its_node_extra(tmp_path):
    """pip reads the example's requirements.txt from its folder: one distribution, this
    package, with the node extra (a dry run: nothing is installed)."""
    import json

    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--quiet",
         "--no-build-isolation", "--disable-pip-version-check", "--report", str(report),
         "-r", "requirements.txt"],
        cwd=EXAMPLE, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (install,) = json.loads(report.read_text())["install"]
    assert install["metadata"]["name"] == "bedrock-lifecycle"
    assert install["requested_extras"] == ["node"]
