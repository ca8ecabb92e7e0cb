"""The fifth gate: AWS Control Tower proactive controls (cfn-guard) on every synth."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from bedrock_lifecycle.nag.control_tower import (
    EXCUSED_RULES,
    ControlTowerGate,
    _Templates,
    excuse_control_tower_rule,
    register_control_tower,
    rule_resource_types,
    rules_without_resources,
)
from tests.conftest import new_app


def _findings(app: cdk.App, paths: list[str]) -> dict[str, set[str]]:
    report = ControlTowerGate(app).validate(_Templates(app, paths))
    found: dict[str, set[str]] = {}
    for violation in report.violations:
        for resource in violation.violating_resources:
            found.setdefault(violation.rule_name, set()).add(resource.resource_logical_id)
    assert report.success == (not found)
    return found


@pytest.mark.synth
def test_every_shipped_template_passes_with_only_the_reviewed_excuses(synthesized):
    """Zero findings over every shipped template; and what is excused is exactly the
    reviewed list, each on the resources it names."""
    paths = sorted(str(p) for p in Path(synthesized.outdir).glob("*.template.json"))
    assert len(paths) == 3
    assert _findings(synthesized.app, paths) == {}
    excused: dict[str, set[str]] = {}
    for stack in synthesized.stacks.values():
        for _, rule in stack.__dict__.get("_control_tower_excuses", []):
            excused.setdefault(rule, set()).add(stack.node.path)
    assert set(excused) <= set(EXCUSED_RULES)
    # The access-log bucket's three, in every environment; the VPC rule where no
    # `network:` is set; the retention rule where the audit log group keeps < 365 days.
    for rule in (
        "s3_bucket_default_encryption_kms_check",
        "s3_bucket_logging_enabled_check",
        "s3_bucket_object_lock_enabled_check",
    ):
        assert excused[rule] == {f"BedrockLifecycle-{e}" for e in ("dev", "staging", "prod")}
    assert "BedrockLifecycle-prod" not in excused["lambda_inside_vpc_check"]


def _bucket_app(tmp_path: Path, *, excused: bool) -> tuple[cdk.App, cdk.Stack]:
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Buckets")
    first = s3.Bucket(stack, "First", versioned=True)
    s3.Bucket(stack, "Second", versioned=True)
    if excused:
        excuse_control_tower_rule(first, "s3_bucket_logging_enabled_check")
    return app, stack


def test_a_finding_fails_the_synth(tmp_path: Path):
    app, _ = _bucket_app(tmp_path, excused=False)
    register_control_tower(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text(encoding="utf-8")
    assert "s3_lifecycle_policy_check" in report
    assert "aws-control-tower-proactive-controls" in report


def test_an_excuse_covers_the_resource_it_names_and_no_other(tmp_path: Path):
    app, stack = _bucket_app(tmp_path, excused=True)
    assembly = app.synth()
    path = assembly.get_stack_by_name("Buckets").template_full_path
    found = _findings(app, [path])
    first = stack.resolve(stack.node.find_child("First").node.default_child.logical_id)
    second = stack.resolve(stack.node.find_child("Second").node.default_child.logical_id)
    assert found["s3_bucket_logging_enabled_check"] == {second}
    assert first in found["s3_lifecycle_policy_check"]  # excused for one rule only


def test_only_rules_of_the_reviewed_list_can_be_excused():
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(ValueError, match="not in the reviewed list"):
        excuse_control_tower_rule(stack, "s3_bucket_public_read_prohibited")


def test_a_rule_is_spared_only_when_none_of_its_resource_types_is_present():
    types = rule_resource_types()
    assert len(types) > 200
    assert types["ct-lambda-pr-3"] == {"AWS::Lambda::Function"}
    spared = rules_without_resources({"AWS::S3::Bucket"})
    assert "ct-s3-pr-1" not in spared and "ct-lambda-pr-3" in spared
    # A rule whose types are unknown is never spared.
    assert not [r for r in spared if not types[r]]


def test_every_synth_of_the_app_registers_the_gate(shipped_config, tmp_path: Path, monkeypatch):
    import bedrock_lifecycle.app as app_module

    registered: list[cdk.App] = []
    monkeypatch.setattr(app_module, "register_control_tower", registered.append)
    app, _, _ = app_module.build_app(shipped_config, app=new_app(tmp_path))
    assert registered == [app]
