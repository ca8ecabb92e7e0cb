"""An environment spanning several stacks: placement, weak references, stability.

The split threshold is lowered (2 aliases in the main stack, 2 per alias stack)
so that a handful of families exercises what 200 aliases do at full size.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from bedrock_lifecycle.app import build_app
from bedrock_lifecycle.config import load_lifecycle
from bedrock_lifecycle.config import stack_groups as stack_groups_module
from bedrock_lifecycle.config.lockfile import Lock, updated_lock
from bedrock_lifecycle.config.stack_groups import StackSizes, assign_groups
from bedrock_lifecycle.names import (
    hook_function_name,
    router_function_name,
    shared_application_name,
)
from tests.conftest import FIXED_TODAY, new_app
from tests.support.cfn_lint import cfn_lint_errors

GOLDEN = {
    "id": "one",
    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
    "checks": {"contains": ["hi"]},
}


@pytest.fixture(autouse=True)
def _control_tower_in_one_test(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The Control Tower gate costs seconds a synth (cfn-guard over every template): it
    runs here on the split environment's stacks in the test marked ``control_tower``
    only; the cdk-nag packs run in every synth of this module."""
    if request.node.get_closest_marker("control_tower") is None:
        import bedrock_lifecycle.app as app_module

        monkeypatch.setattr(app_module, "register_control_tower", lambda app: None)


@pytest.fixture
def small_stacks(monkeypatch: pytest.MonkeyPatch) -> StackSizes:
    """2 aliases in the main stack and 2 in each alias stack."""
    sizes = StackSizes(main=2, group=2)
    monkeypatch.setattr(stack_groups_module, "DEFAULT_SIZES", sizes)
    return sizes


def family(i: int, *, gated: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "versions": {
            "v1": {
                "target": {"foundation_model": "amazon.nova-pro-v1:0"},
                "inference": {"max_tokens": 256 + i},
            }
        },
        "aliases": {"live": {"version": "v1"}},
    }
    if gated:
        body["evaluation"] = {"golden_prompts": "golden.jsonl"}
    return body


def write_file(folder: Path, names: list[str], **families: dict[str, Any]) -> Path:
    """A lifecycle file with families ``names`` (in that order) in one environment, its
    lock written as ``bedrock-lifecycle lock`` would (from the lock already there)."""
    (folder / "golden.jsonl").write_text(json.dumps(GOLDEN) + "\n")
    body = {
        "schema_version": 1,
        "project": "split",
        "environments": {
            "prod": {
                "account": "111111111111",
                "region": "us-east-1",
                "rollout": {"strategy": "canary", "percent": 10, "interval_minutes": 5},
            }
        },
        "families": {name: families.get(name, family(int(name.split("-")[1]))) for name in names},
    }
    path = folder / "lifecycle.yaml"
    path.write_text(json.dumps(body))
    config = load_lifecycle(path, check_lock_file=False, clock=lambda: FIXED_TODAY)
    lock_path = folder / "lifecycle.lock"
    lock, _ = updated_lock(config.file, Lock.read(lock_path))
    lock_path.write_text(lock.render())
    return path


def synth(path: Path, outdir: Path) -> dict[str, dict[str, Any]]:
    """CloudFormation stack name -> template of every stack, every nag pack on."""
    config = load_lifecycle(path, clock=lambda: FIXED_TODAY)
    app, _, _ = build_app(config, app=new_app(outdir))
    assembly = app.synth()
    return {s.stack_name: s.template for s in assembly.stacks}


def family_resources(templates: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """(stack, logical id) -> resource of everything family ``name``'s alias owns."""
    prefix = "".join(p.capitalize() for p in name.split("-")) + "Live"
    return {
        (stack, logical): resource
        for stack, template in templates.items()
        for logical, resource in template["Resources"].items()
        if logical.startswith((f"Aliases{prefix}", f"Rollouts{prefix}"))
    }


# -- placement --------------------------------------------------------------------


def test_first_fit_keeps_recorded_and_known_aliases_in_place() -> None:
    sizes = StackSizes(main=2, group=2)
    groups = assign_groups(["a", "b", "c"], sizes=sizes)
    assert groups == {"a": 0, "b": 0, "c": 1}
    # A new alias inserted first in the file goes after the ones the lock knows.
    groups = assign_groups(["new", "a", "b", "c"], recorded=groups, sizes=sizes)
    assert groups == {"new": 1, "a": 0, "b": 0, "c": 1}
    # A removed alias's room is reused; nobody else moves.
    groups = assign_groups(["a", "c", "new", "later"], recorded=groups, sizes=sizes)
    assert groups == {"a": 0, "c": 1, "new": 1, "later": 0}
    # Unrecorded but known to the lock: placed before new ones.
    assert assign_groups(["x", "y", "z"], known=["z"], sizes=sizes) == {"x": 0, "y": 1, "z": 0}
    # A throughput alias goes to the main stack whatever its room.
    assert assign_groups(["a", "b", "pt"], main_only=["pt"], sizes=sizes)["pt"] == 0


def test_a_split_environment_needs_its_placement_locked(
    tmp_path: Path, small_stacks: StackSizes
) -> None:
    path = write_file(tmp_path, [f"family-{i}" for i in range(3)])
    (tmp_path / "lifecycle.lock").write_text(
        json.dumps({**json.loads((tmp_path / "lifecycle.lock").read_text()), "stacks": {}})
    )
    from bedrock_lifecycle.config import ConfigError

    with pytest.raises(ConfigError) as error:
        load_lifecycle(path, clock=lambda: FIXED_TODAY)
    (line,) = error.value.lines(10)
    assert "environments.prod: 3 aliases span 2 stacks" in line
    assert "run `bedrock-lifecycle lock`" in line


@pytest.mark.parametrize(
    "stacks",
    [{"prod": {"family-0/live": -1}}, {"prod": {"family-0/live": True}}, {"prod": ["x"]}],
)
def test_a_malformed_stack_record_is_refused(tmp_path: Path, stacks: object) -> None:
    lock = {"format": 1, "versions": {}, "stacks": stacks}
    (tmp_path / "x.lock").write_text(json.dumps(lock))
    with pytest.raises(ValueError, match='"stacks" must map environment'):
        Lock.read(tmp_path / "x.lock")


# -- the stacks -------------------------------------------------------------------


@pytest.mark.control_tower
def test_split_environment_stacks_and_weak_references(
    tmp_path: Path, small_stacks: StackSizes
) -> None:
    path = write_file(tmp_path, [f"family-{i}" for i in range(5)])
    config = load_lifecycle(path, clock=lambda: FIXED_TODAY)
    app, stacks, _ = build_app(config, app=new_app(tmp_path / "out"))
    assembly = app.synth()
    by_id = {s.id: s for s in assembly.stacks}
    assert sorted(by_id) == [
        "BedrockLifecycle-prod",
        "BedrockLifecycle-prod-Aliases1",
        "BedrockLifecycle-prod-Aliases2",
        "BedrockLifecycle-prod-Main",
    ]
    # The deployed stack keeps its CloudFormation name; the entry stack has a new one.
    assert by_id["BedrockLifecycle-prod-Main"].stack_name == "BedrockLifecycle-prod"
    assert by_id["BedrockLifecycle-prod"].stack_name == "BedrockLifecycle-prod-Environment"
    # `cdk deploy BedrockLifecycle-prod` deploys a stack with what it depends on: all.
    entry_deps = {d.id for d in by_id["BedrockLifecycle-prod"].dependencies}
    assert {
        "BedrockLifecycle-prod-Main",
        "BedrockLifecycle-prod-Aliases1",
        "BedrockLifecycle-prod-Aliases2",
    } <= entry_deps
    for group in (1, 2):
        deps = {d.id for d in by_id[f"BedrockLifecycle-prod-Aliases{group}"].dependencies}
        assert "BedrockLifecycle-prod-Main" in deps
        assert "BedrockLifecycle-prod" not in deps

    main = Template.from_json(by_id["BedrockLifecycle-prod-Main"].template)
    aliases1 = by_id["BedrockLifecycle-prod-Aliases1"].template
    # No strong reference between the stacks, in either direction.
    for artifact in assembly.stacks:
        text = json.dumps(artifact.template)
        assert "Fn::ImportValue" not in text
        assert not artifact.template.get("Outputs", {}).get("ExportsOutput", None)
    # The hooks carry the names the alias stacks attach them by.
    gate_name = hook_function_name("split", "prod", "evaluation-gate")
    analysis_name = hook_function_name("split", "prod", "canary-analysis")
    main.has_resource_properties("AWS::Lambda::Function", {"FunctionName": gate_name})
    main.has_resource_properties("AWS::Lambda::Function", {"FunctionName": analysis_name})
    # Every parameter an alias stack reads is one the main stack writes.
    written = {
        r["Properties"]["Name"]
        for r in by_id["BedrockLifecycle-prod-Main"].template["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter"
    }
    ssm_read = {
        p["Default"]
        for p in aliases1["Parameters"].values()
        if p["Type"] == "AWS::SSM::Parameter::Value<String>"
        and p["Default"].startswith("/bedrock-lifecycle/")
    }
    assert ssm_read and ssm_read <= written
    # The family-2 alias (group 1) rolls out with the main stack's hooks, by name.
    template1 = Template.from_json(aliases1)
    template1.has_resource(
        "AWS::Lambda::Alias",
        {
            "UpdatePolicy": {
                "CodeDeployLambdaAliasUpdate": {
                    "ApplicationName": Match.string_like_regexp("^bl[0-9a-f]{8}-aliases$"),
                    "BeforeAllowTrafficHook": gate_name,
                    "AfterAllowTrafficHook": analysis_name,
                    "DeploymentGroupName": Match.any_value(),
                }
            }
        },
    )
    template1.has_resource_properties(
        "AWS::Lambda::Function",
        {"FunctionName": router_function_name("split", "prod", "family-2", "live")},
    )
    # The gate may invoke the exact version rolled out, and nothing else of this stack;
    # the stack's own continuous evaluator is invoked by its schedule.
    permissions = {
        logical: permission
        for logical, permission in template1.find_resources("AWS::Lambda::Permission").items()
        if permission["Properties"]["Principal"] != "events.amazonaws.com"
    }
    assert len(permissions) == 2
    for permission in permissions.values():
        props = permission["Properties"]
        assert props["Action"] == "lambda:InvokeFunction"
        assert list(props["FunctionName"]) == ["Ref"]
        assert props["FunctionName"]["Ref"].startswith("AliasesFamily")
        assert list(props["Principal"]) == ["Ref"]
    # The deployment groups use the main stack's role and the alias stacks' application.
    template1.has_resource_properties(
        "AWS::CodeDeploy::DeploymentGroup",
        {
            "ApplicationName": Match.string_like_regexp("^bl[0-9a-f]{8}-aliases$"),
            "ServiceRoleArn": {"Ref": Match.string_like_regexp("^SharedDeploymentRoleArn")},
        },
    )
    main.has_resource_properties(
        "AWS::CodeDeploy::Application",
        {"ApplicationName": Match.string_like_regexp("^bl[0-9a-f]{8}-aliases$")},
    )
    # The index of the environment's stacks.
    entry = Template.from_json(by_id["BedrockLifecycle-prod"].template)
    entry.has_resource_properties(
        "AWS::SSM::Parameter",
        {
            "Name": "/bedrock-lifecycle/split/prod/stacks",
            "Value": json.dumps(
                {
                    "main": "BedrockLifecycle-prod",
                    "alias_stacks": [
                        "BedrockLifecycle-prod-Aliases1",
                        "BedrockLifecycle-prod-Aliases2",
                    ],
                },
                separators=(",", ":"),
            ),
        },
    )
    # cfn-lint finds no error in any of the stacks (its limits, references, W2001...).
    assert cfn_lint_errors((tmp_path / "out").glob("*.template.json")) == ""
    # The settings layer of the hooks knows every group, wherever it lives.
    settings = json.loads(
        (stacks["prod"].rollouts.hooks.settings_folder / "rollout" / "settings.json").read_text()
    )
    assert sorted(settings["groups"]) == [f"family-{i}.live" for i in range(5)]


# -- stability --------------------------------------------------------------------


def test_families_coming_and_going_change_no_other_familys_resources(
    tmp_path: Path, small_stacks: StackSizes
) -> None:
    """N families, then N+1, one removed, the rest reordered: every remaining family's
    resources stay byte-identical, in the same stack (same logical ids, same names)."""
    steps = [
        [f"family-{i}" for i in range(4)],
        [f"family-{i}" for i in range(5)],
        ["family-9", "family-0", "family-1", "family-2", "family-3", "family-4"],
        ["family-4", "family-2", "family-9", "family-0", "family-3"],
    ]
    folder = tmp_path / "file"
    folder.mkdir()
    history: list[dict[str, dict[str, Any]]] = []
    for n, names in enumerate(steps):
        path = write_file(folder, names)
        history.append(synth(path, tmp_path / f"out{n}"))
    for before, after, names in zip(history, history[1:], steps[1:], strict=False):
        for name in names:
            old, new = family_resources(before, name), family_resources(after, name)
            if not old:
                continue  # new in this step
            assert old == new, name
    # Four steps later the environment really spans stacks.
    assert len(history[-1]) >= 3


def test_the_first_split_keeps_the_deployed_stack_and_its_aliases(
    tmp_path: Path, small_stacks: StackSizes
) -> None:
    """One stack at 2 aliases, then a third alias splits the environment: the deployed
    stack keeps its name and its aliases keep every resource as it was."""
    folder = tmp_path / "file"
    folder.mkdir()
    one = synth(write_file(folder, ["family-0", "family-1"]), tmp_path / "one")
    two = synth(write_file(folder, ["family-0", "family-1", "family-2"]), tmp_path / "two")
    assert list(one) == ["BedrockLifecycle-prod"]
    assert "BedrockLifecycle-prod" in two
    for name in ("family-0", "family-1"):
        assert family_resources(one, name) == {
            key: value
            for key, value in family_resources(two, name).items()
            if key[0] == "BedrockLifecycle-prod"
        }
        assert family_resources(two, name)
    assert {stack for stack, _ in family_resources(two, "family-2")} == {
        "BedrockLifecycle-prod-Aliases1"
    }


# -- transitions that must not lose or move anything --------------------------------


def test_an_alias_added_without_a_new_lock_is_refused(tmp_path: Path) -> None:
    """The lock records every alias: one added without it would count as new at the
    environment's first split and could be pushed out of the stack it is deployed in."""
    from bedrock_lifecycle.config import ConfigError

    path = write_file(tmp_path, ["family-0"])
    body = json.loads(path.read_text())
    body["families"]["family-0"]["aliases"]["early"] = {"version": "v1"}
    path.write_text(json.dumps(body))
    with pytest.raises(ConfigError) as error:
        load_lifecycle(path, clock=lambda: FIXED_TODAY)
    (line,) = error.value.lines(10)
    assert line.endswith(
        "environments.prod: lifecycle.lock does not record alias family-0/early; run "
        "`bedrock-lifecycle lock` and commit the lock with the alias, so that no deployed "
        "alias ever moves to another stack"
    )


def test_a_deployed_alias_stays_when_a_new_family_comes_first(
    tmp_path: Path, small_stacks: StackSizes
) -> None:
    two_aliases = family(0)
    two_aliases["aliases"]["early"] = {"version": "v1"}
    write_file(tmp_path, ["family-0"])
    write_file(tmp_path, ["family-0"], **{"family-0": two_aliases})
    path = write_file(tmp_path, ["family-9", "family-0"], **{"family-0": two_aliases})
    lock = Lock.read(path.with_suffix(".lock"))
    assert lock is not None and lock.stacks is not None
    assert lock.stacks["prod"] == {"family-0/early": 0, "family-0/live": 0, "family-9/live": 1}


def test_emptied_stacks_stay_and_the_environment_stays_split(
    tmp_path: Path, small_stacks: StackSizes
) -> None:
    """An alias stack whose last alias went stays in the app, holding its (empty) version
    manifest, so that ``cdk deploy`` deletes its aliases' resources; the main stack keeps
    the shared parts (and both hooks) while alias stacks exist, even with no alias of its
    own left; the next alias fills the first stack with room."""
    folder = tmp_path / "file"
    folder.mkdir()
    full = synth(write_file(folder, [f"family-{i}" for i in range(5)]), tmp_path / "full")
    assert "BedrockLifecycle-prod-Aliases2" in full
    # The main stack's own aliases go, and the last alias of Aliases2.
    left = synth(write_file(folder, ["family-2", "family-3"]), tmp_path / "left")
    assert set(left) == set(full)
    emptied = left["BedrockLifecycle-prod-Aliases2"]["Resources"]
    assert [r["Type"] for r in emptied.values()] == ["AWS::SSM::Parameter"]
    (manifest,) = emptied.values()
    assert manifest["Properties"]["Value"] == "{}"
    main = Template.from_json(left["BedrockLifecycle-prod"])
    main.has_resource_properties(
        "AWS::CodeDeploy::Application",
        {"ApplicationName": shared_application_name("split", "prod")},
    )
    for hook in ("evaluation-gate", "canary-analysis"):
        main.has_resource_properties(
            "AWS::Lambda::Function", {"FunctionName": hook_function_name("split", "prod", hook)}
        )
    # CodeDeploy's own policy stays on the shared role with no group left in the main stack.
    main.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {
                    "Statement": [
                        Match.object_like({"Principal": {"Service": "codedeploy.amazonaws.com"}})
                    ]
                }
            ),
            "ManagedPolicyArns": [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited",
                        ],
                    ]
                }
            ],
        },
    )
    refilled = synth(
        write_file(folder, ["family-2", "family-3", "family-7"]), tmp_path / "refilled"
    )
    assert {stack for stack, _ in family_resources(refilled, "family-7")} == {
        "BedrockLifecycle-prod"
    }
    for name in ("family-2", "family-3"):
        assert family_resources(left, name) == family_resources(refilled, name)


def test_hooks_nobody_needs_stay_in_a_split_environment(
    tmp_path: Path, small_stacks: StackSizes
) -> None:
    """Alias stacks name the hooks literally; a hook dropped by the main stack (which
    deploys first) when its last user went would be missing when that user's stack
    rolls back to naming it."""
    names = [f"family-{i}" for i in range(3)]
    at_once = {}
    for i, name in enumerate(names):
        at_once[name] = family(i)
        at_once[name]["aliases"]["live"]["rollout"] = {"strategy": "all_at_once"}
    templates = synth(write_file(tmp_path, names, **at_once), tmp_path / "out")
    # All at once: no alias runs the canary analysis, and it stays, with its grants.
    main = Template.from_json(templates["BedrockLifecycle-prod"])
    main.has_resource_properties(
        "AWS::Lambda::Function",
        {"FunctionName": hook_function_name("split", "prod", "canary-analysis")},
    )
    alias_stack = json.dumps(templates["BedrockLifecycle-prod-Aliases1"])
    assert "AfterAllowTrafficHook" not in alias_stack
