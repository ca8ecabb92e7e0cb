"""An environment's stacks stay inside the service limits, and validate says when not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedrock_lifecycle.config import load_lifecycle
from bedrock_lifecycle.config import stack_groups as stack_groups_module
from bedrock_lifecycle.config.stack_groups import (
    GROUP_STACK_ALIASES,
    MAIN_STACK_ALIASES,
    StackSizes,
)
from bedrock_lifecycle.stacks import limits
from bedrock_lifecycle.stacks.environment import build_environment
from tests.conftest import new_app

CLOUDFORMATION_MAX_RESOURCES = 500


def worst_case_file(folder: Path, aliases: int) -> Path:
    """Aliases with every per-alias feature on (gate, guardrail, output-token baseline,
    a custom rollout shape, alarm addresses)."""
    (folder / "golden.jsonl").write_text(
        json.dumps(
            {
                "id": "one",
                "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                "checks": {"contains": ["hi"]},
            }
        )
        + "\n"
    )
    families = {
        f"family-{i}": {
            "evaluation": {"golden_prompts": "golden.jsonl"},
            "versions": {
                "v1": {
                    "target": {"inference_profile": "us.anthropic.claude-haiku-4-5-20251001-v1:0"},
                    "guardrail": {"id": "abcdefghij12", "version": "1"},
                }
            },
            "aliases": {
                "live": {
                    "version": "v1",
                    "alarms": {"baseline_output_tokens": 100},
                    "rollout": {"strategy": "canary", "percent": 7, "interval_minutes": 3},
                }
            },
        }
        for i in range(aliases)
    }
    body = {
        "schema_version": 1,
        "environments": {
            "prod": {
                "account": "111111111111",
                "region": "us-east-1",
                "alarm_emails": ["a@example.com", "b@example.com"],
            }
        },
        "families": families,
    }
    path = folder / "lifecycle.yaml"
    path.write_text(json.dumps(body))  # JSON is YAML
    return path


def stack_sizes(folder: Path, sizes: StackSizes, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Resources of each stack (main first) of 4 worst-case aliases placed by ``sizes``."""
    monkeypatch.setattr(stack_groups_module, "DEFAULT_SIZES", sizes)
    config = load_lifecycle(worst_case_file(folder, 4), check_lock_file=False)
    app = new_app(folder / "out")
    stacks = build_environment(app, config, "prod")
    assembly = app.synth()
    return [
        len(assembly.get_stack_by_name(s.stack_name).template["Resources"])
        for s in (stacks.main, *stacks.alias_stacks.values())
    ]


def test_a_full_main_stack_and_a_full_alias_stack_fit(tmp_path, monkeypatch):
    """Stacks of 1 and of 2 worst-case aliases give each stack's fixed part and its cost
    per alias; at the real sizes both kinds of stack stay under 500 resources."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = stack_sizes(tmp_path / "one", StackSizes(main=1, group=1), monkeypatch)
    two = stack_sizes(tmp_path / "two", StackSizes(main=2, group=2), monkeypatch)
    main_per_alias, group_per_alias = two[0] - one[0], two[1] - one[1]
    main_fixed, group_fixed = one[0] - main_per_alias, one[1] - group_per_alias
    assert 0 < main_per_alias <= 16 and 0 < group_per_alias <= 16
    assert main_fixed + MAIN_STACK_ALIASES * main_per_alias <= CLOUDFORMATION_MAX_RESOURCES
    assert group_fixed + GROUP_STACK_ALIASES * group_per_alias <= CLOUDFORMATION_MAX_RESOURCES
    assert limits.MAX_STACK_RESOURCES == CLOUDFORMATION_MAX_RESOURCES


def _template(resources: int = 0, outputs: int = 0, parameters: int = 0) -> dict:
    return {
        "Resources": {f"R{i}": {"Type": "AWS::SNS::Topic"} for i in range(resources)},
        "Outputs": {f"O{i}": {"Value": "x"} for i in range(outputs)},
        "Parameters": {f"P{i}": {"Type": "String"} for i in range(parameters)},
    }


def _group(application: object, alarms: int = 1) -> dict:
    return {
        "Type": "AWS::CodeDeploy::DeploymentGroup",
        "Properties": {
            "ApplicationName": application,
            "AlarmConfiguration": {"Alarms": [{"Name": f"a{i}"} for i in range(alarms)]},
        },
    }


@pytest.mark.parametrize(
    ("templates", "expected"),
    [
        ({"S": _template(resources=501)}, "stack S: 501 resources, more than the 500"),
        ({"S": _template(outputs=201)}, "stack S: 201 outputs, more than the 200"),
        ({"S": _template(parameters=201)}, "stack S: 201 parameters, more than the 200"),
        (
            {"S": {"Resources": {"G": _group("app", alarms=11)}}},
            "stack S: deployment group G watches 11 alarms, more than CodeDeploy's 10",
        ),
        (
            {
                "A": {"Resources": {f"G{i}": _group("shared") for i in range(450)}},
                "B": {"Resources": {f"G{i}": _group("shared") for i in range(450)}},
                "C": {"Resources": {f"G{i}": _group("shared") for i in range(101)}},
            },
            "CodeDeploy application shared: 1001 deployment groups, more than the 1000",
        ),
        (
            {
                "S": {
                    "Resources": {
                        "P": {
                            "Type": "AWS::SSM::Parameter",
                            "Properties": {"Name": "/x", "Value": "v" * 4097, "Tier": "Standard"},
                        }
                    }
                }
            },
            "stack S: SSM parameter /x needs 4097 bytes, more than the 4096 of the Standard tier",
        ),
        (
            {
                "S": {
                    "Resources": {
                        "P": {
                            "Type": "AWS::SSM::Parameter",
                            "Properties": {
                                "Name": "/y",
                                "Value": {"Fn::Join": ["", ["v" * 8100, {"Ref": "X"}]]},
                                "Tier": "Advanced",
                            },
                        }
                    }
                }
            },
            "stack S: SSM parameter /y needs 8228 bytes, more than the 8192 of the Advanced",
        ),
        (
            {"S": {"Resources": {"R": {"Type": "AWS::SNS::Topic", "Metadata": "m" * 1_000_000}}}},
            "stack S: a template of 1000083 bytes, more than the 1000000",
        ),
    ],
    ids=["resources", "outputs", "parameters", "alarms", "groups", "standard", "advanced", "bytes"],
)
def test_each_limit_is_one_line_with_the_way_out(templates, expected):
    (line,) = limits.template_problems(templates)
    assert line.startswith(expected)
    assert ";" in line  # the way out follows the limit


def test_groups_of_applications_by_reference_are_counted_per_stack():
    refs = {f"G{i}": _group({"Ref": "App"}) for i in range(400)}
    shared = {f"S{i}": _group("shared") for i in range(100)}
    # Groups of an application referenced in each of three stacks: three applications.
    # A literal name is one application wherever it is named.
    templates = {name: {"Resources": {**refs, **shared}} for name in "ABC"}
    assert limits.template_problems(templates) == []
    templates["D"] = {"Resources": {f"G{i}": _group("shared") for i in range(351)}}
    templates["E"] = {"Resources": {f"G{i}": _group("shared") for i in range(350)}}
    (line,) = limits.template_problems(templates)
    assert line.startswith("CodeDeploy application shared: 1001 deployment groups")


def test_validate_refuses_what_the_limits_refuse(tmp_path, monkeypatch, capsys):
    """End to end: an environment whose main stack would exceed a limit is refused by
    validate's dry build, one line, exit 2."""
    from bedrock_lifecycle import cli

    monkeypatch.setattr(limits, "MAX_STACK_RESOURCES", 100)
    path = worst_case_file(tmp_path, 8)
    code = cli.main(["validate", str(path), "--no-lock"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "environments.prod: stack BedrockLifecycle-prod: " in err[0]
    assert "resources, more than the 100 CloudFormation allows per stack" in err[0]


def test_template_bytes_are_those_of_the_file_the_cli_uploads(tmp_path):
    """The limit counts the template as ``cdk.out`` holds it (indented, UTF-8), which is
    what the CLI uploads, not a compact rendering a third smaller."""
    import aws_cdk as cdk
    from aws_cdk import aws_ssm as ssm

    app = new_app(tmp_path / "out")
    stack = cdk.Stack(app, "Bytes")
    ssm.StringParameter(stack, "P", string_value="système ünïcode", description="é" * 40)
    assembly = app.synth()
    artifact = assembly.get_stack_by_name("Bytes")
    written = Path(artifact.template_full_path).stat().st_size
    assert limits.template_bytes(artifact.template) == written
    assert written > len(json.dumps(artifact.template, separators=(",", ":")).encode())
