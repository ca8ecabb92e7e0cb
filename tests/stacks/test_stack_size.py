"""One environment is one stack: the alias and throughput caps keep it under 500 resources."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest

from bedrock_lifecycle.config import ConfigError, load_lifecycle
from bedrock_lifecycle.config.semantic import (
    MAX_ALIASES_PER_ENVIRONMENT,
    MAX_THROUGHPUTS_PER_ENVIRONMENT,
)
from bedrock_lifecycle.stacks import LifecycleStack, dry_build, stack_name
from tests.conftest import new_app

CLOUDFORMATION_MAX_RESOURCES = 500


def worst_case_file(folder: Path, aliases: int, throughputs: int) -> Path:
    """Aliases with every per-alias feature on; the first ``throughputs`` on throughput."""
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
    families = {}
    for i in range(aliases):
        target = (
            {"provisioned_throughput": f"pt{i}"}
            if i < throughputs
            else {"inference_profile": "us.anthropic.claude-haiku-4-5-20251001-v1:0"}
        )
        families[f"family-{i}"] = {
            "evaluation": {"golden_prompts": "golden.jsonl"},
            "versions": {
                "v1": {"target": target, "guardrail": {"id": "abcdefghij12", "version": "1"}}
            },
            "aliases": {"live": {"version": "v1", "alarms": {"baseline_output_tokens": 100}}},
        }
    body = {
        "schema_version": 1,
        "environments": {
            "prod": {
                "account": "111111111111",
                "region": "us-east-1",
                "provisioned_throughput": True,
                "alarm_emails": ["a@example.com", "b@example.com"],
            }
        },
        "provisioned_throughputs": {
            f"pt{i}": {
                "model": "amazon.nova-pro-v1:0:300k",
                "model_units": 1,
                "commitment": "one_month",
                "environments": ["prod"],
            }
            for i in range(throughputs)
        },
        "families": families,
    }
    path = folder / "lifecycle.yaml"
    path.write_text(json.dumps(body))  # JSON is YAML
    return path


def test_the_largest_allowed_environment_fits_one_stack(tmp_path):
    path = worst_case_file(tmp_path, MAX_ALIASES_PER_ENVIRONMENT, MAX_THROUGHPUTS_PER_ENVIRONMENT)
    config = load_lifecycle(path, check_lock_file=False)
    # The stack alone: the nag packs judge the shipped stacks (tests/stacks/test_app.py),
    # and what a construct acknowledges does not depend on how many there are.
    app = new_app(tmp_path / "out")
    stack = LifecycleStack(app, stack_name("prod"), config=config, environment="prod")
    # What validate's dry build counts (stacks/dry_build.py) is what the template holds.
    counted = sum(1 for node in stack.node.find_all() if cdk.CfnResource.is_cfn_resource(node))
    template = app.synth().get_stack_by_name(stack.stack_name).template
    assert counted == len(template["Resources"]) <= dry_build.MAX_STACK_RESOURCES
    assert dry_build.MAX_STACK_RESOURCES == CLOUDFORMATION_MAX_RESOURCES


@pytest.mark.parametrize(
    ("aliases", "throughputs", "message"),
    [
        (
            MAX_ALIASES_PER_ENVIRONMENT + 1,
            0,
            rf"environments.prod: {MAX_ALIASES_PER_ENVIRONMENT + 1} aliases, more than the "
            rf"{MAX_ALIASES_PER_ENVIRONMENT} one stack can hold",
        ),
        (
            MAX_THROUGHPUTS_PER_ENVIRONMENT + 1,
            MAX_THROUGHPUTS_PER_ENVIRONMENT + 1,
            rf"environments.prod: {MAX_THROUGHPUTS_PER_ENVIRONMENT + 1} provisioned throughputs, "
            rf"more than the {MAX_THROUGHPUTS_PER_ENVIRONMENT}",
        ),
    ],
    ids=["aliases", "throughputs"],
)
def test_one_more_is_refused_before_synth(tmp_path, aliases, throughputs, message):
    path = worst_case_file(tmp_path, aliases, throughputs)
    with pytest.raises(ConfigError, match=message):
        load_lifecycle(path, check_lock_file=False)
