"""The offline template diff: the comparison on hand-written templates, the custom
resource table against the throughput handler, and one end-to-end diff of two commits."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bedrock_lifecycle.config.lockfile import updated_lock
from bedrock_lifecycle.config.schema import LifecycleFile
from bedrock_lifecycle.template_diff import (
    CUSTOM_RESOURCE_REPLACEMENTS,
    ResourceChange,
    TemplateDiffError,
    changes_json,
    compare_templates,
    render_markdown,
    render_text,
    schema_create_only,
    template_changes,
)
from bedrock_lifecycle.template_diff.compare import THROUGHPUT_REFUSAL, THROUGHPUT_TYPE
from tests.support.lambda_assets import load_asset_module

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
STACK = "BedrockLifecycle-prod"
HASH_A = "a" * 64
HASH_B = "b" * 64
FM_ID = "amazon.nova-pro-v1:0:300k"
CUSTOM_ARN = (
    "arn:aws:bedrock:us-east-1:222222222222:custom-model/amazon.nova-pro-v1:0:300k/a1b2c3d4e5f6"
)
CUSTOM_ARN_2 = (
    "arn:aws:bedrock:us-east-1:222222222222:custom-model/amazon.nova-pro-v1:0:300k/f6e5d4c3b2a1"
)


def template(**resources: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": resources}


def function(**props: Any) -> dict[str, Any]:
    base = {
        "Code": {"S3Bucket": "assets", "S3Key": f"{HASH_A}.zip"},
        "Handler": "app.handler",
        "Description": "router",
    }
    return {"Type": "AWS::Lambda::Function", "Properties": {**base, **props}}


def throughput(**props: Any) -> dict[str, Any]:
    base = {
        "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
        "ProvisionedModelName": "acme-prod-assistant",
        "ModelId": FM_ID,
        "ModelUnits": "1",
        "CommitmentDuration": "OneMonth",
        "AllowReplacement": "false",
        "Tags": [{"Key": "bedrock-lifecycle:environment", "Value": "prod"}],
    }
    return {
        "Type": THROUGHPUT_TYPE,
        "Properties": {**base, **props},
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
    }


def one(base: dict[str, Any], head: dict[str, Any]) -> ResourceChange:
    [change] = compare_templates(STACK, template(R=base), template(R=head))
    return change


# ------------------------------------------------------------------- comparison


def test_identical_templates_have_no_change_and_render_exactly_that():
    t = template(Fn=function(), Pt=throughput())
    assert compare_templates(STACK, t, json.loads(json.dumps(t))) == []
    assert render_text([]) == ["no template changes"]
    assert render_markdown([]) == ["no template changes"]
    assert changes_json([]) == []


def test_added_removed_and_retained_resources():
    base = template(Old=function(), Kept=function(), Pt=throughput())
    head = template(New=function(), Kept=function())
    assert compare_templates(STACK, base, head) == [
        ResourceChange(STACK, "New", "AWS::Lambda::Function", "add", (), ()),
        ResourceChange(STACK, "Old", "AWS::Lambda::Function", "remove", (), ()),
        ResourceChange(
            STACK,
            "Pt",
            THROUGHPUT_TYPE,
            "remove",
            (),
            (),
            note="retained (DeletionPolicy Retain): left in the account",
        ),
    ]


def test_a_stack_only_at_the_head_adds_everything():
    changes = compare_templates(STACK, None, template(A=function(), B=throughput()))
    assert [(c.logical_id, c.action) for c in changes] == [("A", "add"), ("B", "add")]


def test_an_in_place_property_is_a_modify():
    change = one(function(), function(Description="router v2"))
    assert (change.action, change.properties, change.replaced_by) == (
        "modify",
        ("Description",),
        (),
    )


def test_a_create_only_property_from_the_cfn_lint_schema_is_a_replace():
    assert "/properties/FunctionName" in (schema_create_only("AWS::Lambda::Function") or ())
    change = one(function(FunctionName="a"), function(FunctionName="b", Description="x"))
    assert change.action == "replace"
    assert change.properties == ("Description", "FunctionName")
    assert change.replaced_by == ("FunctionName",)


def test_a_changed_type_is_a_replace():
    change = one(function(), {"Type": "AWS::Lambda::Url", "Properties": {}})
    assert (change.action, change.replaced_by) == ("replace", ("Type",))


def test_an_asset_hash_only_change_is_listed_and_marked_asset():
    change = one(function(), function(Code={"S3Bucket": "assets", "S3Key": f"{HASH_B}.zip"}))
    assert (change.action, change.properties, change.asset_only) == ("modify", ("Code",), ("Code",))
    assert render_text([change])[-1] == "  modify  AWS::Lambda::Function R: Code (asset)"
    # A layer's content is create-only: new code there replaces the layer version.
    layer = {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": {"S3Key": HASH_A}}}
    new_layer = {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": {"S3Key": HASH_B}}}
    assert one(layer, new_layer).replaced_by == ("Content",)


def test_metadata_and_depends_on_are_ignored_but_policies_count():
    base = {**function(), "Metadata": {"aws:asset:path": HASH_A}, "DependsOn": ["X"]}
    assert compare_templates(STACK, template(R=base), template(R=function())) == []
    change = one(function(), {**function(), "DeletionPolicy": "Retain"})
    assert (change.action, change.properties) == ("modify", ("DeletionPolicy",))


def test_a_nested_create_only_path_replaces_only_when_that_part_changes():
    def lookup(resource_type: str) -> tuple[str, ...]:
        return ("/properties/Config/Name", "/properties/Items/*/Id")

    def res(**props: Any) -> dict[str, Any]:
        return {"Type": "AWS::Test::Thing", "Properties": props}

    def changes(base: dict[str, Any], head: dict[str, Any]) -> ResourceChange:
        [c] = compare_templates(STACK, template(R=base), template(R=head), create_only=lookup)
        return c

    assert (
        changes(
            res(Config={"Name": "a", "Size": 1}), res(Config={"Name": "a", "Size": 2})
        ).replaced_by
        == ()
    )
    assert changes(res(Config={"Name": "a"}), res(Config={"Name": "b"})).replaced_by == ("Config",)
    assert changes(res(Items=[{"Id": 1, "V": 1}]), res(Items=[{"Id": 1, "V": 2}])).replaced_by == ()
    assert changes(res(Items=[{"Id": 1}]), res(Items=[{"Id": 2}])).replaced_by == ("Items",)


def test_unknown_types_say_that_replacement_is_not_known():
    other = {"Type": "Custom::Other", "Properties": {"A": "1"}}
    change = one(other, {"Type": "Custom::Other", "Properties": {"A": "2"}})
    assert (change.action, change.note) == (
        "modify",
        "a custom resource: its handler decides whether this replaces it",
    )
    unknown = one(
        {"Type": "AWS::Nope::Nothing", "Properties": {"A": 1}},
        {"Type": "AWS::Nope::Nothing", "Properties": {"A": 2}},
    )
    assert unknown.note == "no provider schema for AWS::Nope::Nothing: replacement not known"


@pytest.mark.parametrize(
    ("changed", "action", "note"),
    [
        ({"ModelUnits": "2"}, "replace", THROUGHPUT_REFUSAL),
        ({"CommitmentDuration": "SixMonths"}, "replace", THROUGHPUT_REFUSAL),
        ({"ModelUnits": "2", "AllowReplacement": "true"}, "replace", ""),
        ({"ModelId": "amazon.nova-lite-v1:0:300k"}, "replace", THROUGHPUT_REFUSAL),
        ({"ModelId": f"arn:aws:bedrock:us-east-1::foundation-model/{FM_ID}"}, "modify", ""),
        ({"ProvisionedModelName": "acme-prod-assistant-2"}, "modify", ""),
        ({"Tags": []}, "modify", ""),
    ],
)
def test_throughput_changes_follow_the_handler(changed, action, note):
    change = one(throughput(), throughput(**changed))
    assert (change.action, change.note) == (action, note)


def test_a_custom_model_throughput_changes_model_in_place_and_hourly_is_not_refused():
    assert one(throughput(ModelId=CUSTOM_ARN), throughput(ModelId=CUSTOM_ARN_2)).action == "modify"
    hourly = one(
        throughput(CommitmentDuration="None"), throughput(CommitmentDuration="None", ModelUnits="3")
    )
    assert (hourly.action, hourly.replaced_by, hourly.note) == ("replace", ("ModelUnits",), "")


# ------------------------------------------------------------------- the handler's table


@pytest.fixture(scope="module")
def handler() -> tuple[Any, Any]:
    return (
        load_asset_module("provisioned_throughput", "properties"),
        load_asset_module("provisioned_throughput", "update"),
    )


THROUGHPUT_VALUES = {
    "ProvisionedModelName": ("acme-prod-assistant", "acme-prod-assistant-2"),
    "ModelId": (FM_ID, "amazon.nova-lite-v1:0:300k"),
    "ModelUnits": ("1", "2"),
    "CommitmentDuration": ("OneMonth", "SixMonths"),
    "AllowReplacement": ("false", "true"),
    "Tags": ([{"Key": "a", "Value": "1"}], [{"Key": "a", "Value": "2"}]),
}


def test_the_throughput_table_names_every_property_the_handler_reads(handler):
    properties, _ = handler
    assert set(CUSTOM_RESOURCE_REPLACEMENTS[THROUGHPUT_TYPE]) == set(properties.PROPERTIES)
    assert set(THROUGHPUT_VALUES) == set(properties.PROPERTIES)


@pytest.mark.parametrize("name", sorted(THROUGHPUT_VALUES))
def test_the_throughput_table_matches_plan_update(handler, name):
    properties, update = handler
    new_value = THROUGHPUT_VALUES[name][1]
    old = {k: v[0] for k, v in THROUGHPUT_VALUES.items()}
    new = {**old, name: new_value}
    plan = update.plan_update(properties.parse_properties(old), properties.parse_properties(new))
    assert bool(plan.replacement_reasons) is CUSTOM_RESOURCE_REPLACEMENTS[THROUGHPUT_TYPE][name]
    diffed = one(throughput(**old), throughput(**new))
    assert (diffed.action == "replace") is bool(plan.replacement_reasons)


def test_the_handler_changes_a_custom_model_in_place_as_the_table_says(handler):
    properties, update = handler
    old = {k: v[0] for k, v in THROUGHPUT_VALUES.items()} | {"ModelId": CUSTOM_ARN}
    new = old | {"ModelId": CUSTOM_ARN_2}
    plan = update.plan_update(properties.parse_properties(old), properties.parse_properties(new))
    assert plan.in_place and plan.change_model
    assert one(throughput(**old), throughput(**new)).action == "modify"
    fm_arn = f"arn:aws:bedrock:us-east-1::foundation-model/{FM_ID}"
    same = update.plan_update(
        properties.parse_properties(old | {"ModelId": FM_ID}),
        properties.parse_properties(old | {"ModelId": fm_arn}),
    )
    assert same.in_place and not same.change_model


class _Proceeded(Exception):
    """The handler went past its refusal and asked Bedrock for something."""


class _Bedrock:
    def now(self) -> dt.datetime:
        return NOW

    def __getattr__(self, name: str) -> Any:
        raise _Proceeded(name)


@pytest.mark.parametrize(
    ("old_commitment", "new_allow", "refused"),
    [("OneMonth", "false", True), ("OneMonth", "true", False)],
)
def test_the_handler_refuses_exactly_where_the_diff_notes_a_refusal(
    handler, old_commitment, new_allow, refused
):
    properties, update = handler
    base = {k: v[0] for k, v in THROUGHPUT_VALUES.items()}
    old_raw = base | {"CommitmentDuration": old_commitment}
    new_raw = base | {"CommitmentDuration": old_commitment, "ModelUnits": "2"}
    new_raw["AllowReplacement"] = new_allow
    current = {
        "commitmentDuration": old_commitment,
        "commitmentExpirationTime": NOW + dt.timedelta(days=20),
        "provisionedModelName": base["ProvisionedModelName"],
    }
    event = {"RequestId": "r-1", "ResourceProperties": new_raw}
    try:
        update.replace_throughput(
            event,
            "arn:aws:bedrock:us-east-1:222222222222:provisioned-model/abcdefgh1234",
            properties.parse_properties(old_raw),
            properties.parse_properties(new_raw),
            "ModelUnits 1 -> 2",
            current,
            _Bedrock(),
        )
        outcome = "proceeded"
    except _Proceeded:
        outcome = "proceeded"
    except update.ThroughputError as error:
        assert str(error).startswith("refusing to replace committed provisioned throughput")
        outcome = "refused"
    assert outcome == ("refused" if refused else "proceeded")
    diffed = one(throughput(**old_raw), throughput(**new_raw))
    assert diffed.action == "replace"
    assert (diffed.note == THROUGHPUT_REFUSAL) is refused


# ------------------------------------------------------------------- renderings


CHANGES = [
    ResourceChange(
        STACK, "Fn", "AWS::Lambda::Function", "modify", ("Code", "Description"), (), ("Code",)
    ),
    ResourceChange(
        STACK,
        "Pt",
        THROUGHPUT_TYPE,
        "replace",
        ("ModelUnits", "Tags"),
        ("ModelUnits",),
        note=THROUGHPUT_REFUSAL,
    ),
    ResourceChange(STACK, "Ver", "AWS::Lambda::Version", "add", (), ()),
    ResourceChange(
        "BedrockLifecycle-dev", "Gone", "AWS::S3::Bucket", "remove", (), (), note="retained"
    ),
]


def test_render_text_exact_lines():
    assert render_text(CHANGES) == [
        "CloudFormation would replace 1 resource: BedrockLifecycle-prod/Pt "
        "(Custom::BedrockProvisionedThroughput, by ModelUnits)",
        "BedrockLifecycle-prod: 1 added, 1 modified, 1 replaced, 0 removed",
        "  modify  AWS::Lambda::Function Fn: Code (asset), Description",
        "  replace Custom::BedrockProvisionedThroughput Pt: ModelUnits (forces replacement), Tags; "
        "refused at deploy while the committed term runs, unless AllowReplacement is true",
        "  add     AWS::Lambda::Version Ver",
        "BedrockLifecycle-dev: 0 added, 0 modified, 0 replaced, 1 removed",
        "  remove  AWS::S3::Bucket Gone: retained",
    ]


def test_render_markdown_exact_lines():
    assert render_markdown(CHANGES) == [
        "**CloudFormation would replace 1 resource: `BedrockLifecycle-prod/Pt` "
        "(Custom::BedrockProvisionedThroughput, by ModelUnits)**",
        "",
        "**BedrockLifecycle-prod**: 1 added, 1 modified, 1 replaced, 0 removed",
        "",
        "| change | logical id | type | properties |",
        "| --- | --- | --- | --- |",
        "| modify | `Fn` | `AWS::Lambda::Function` | Code (asset), Description |",
        "| replace | `Pt` | `Custom::BedrockProvisionedThroughput` | **ModelUnits** (forces "
        "replacement), Tags; refused at deploy while the committed term runs, unless "
        "AllowReplacement is true |",
        "| add | `Ver` | `AWS::Lambda::Version` |  |",
        "",
        "**BedrockLifecycle-dev**: 0 added, 0 modified, 0 replaced, 1 removed",
        "",
        "| change | logical id | type | properties |",
        "| --- | --- | --- | --- |",
        "| remove | `Gone` | `AWS::S3::Bucket` | retained |",
    ]


def test_changes_json_lists_every_field():
    assert changes_json(CHANGES[:1]) == [
        {
            "stack": STACK,
            "logical_id": "Fn",
            "resource_type": "AWS::Lambda::Function",
            "action": "modify",
            "properties": ["Code", "Description"],
            "replaced_by": [],
            "asset_only": ["Code"],
            "note": "",
        }
    ]
    json.dumps(changes_json(CHANGES))


# ------------------------------------------------------------------- end to end

LIFECYCLE = """\
schema_version: 1
environments:
  dev: {}
families:
  summarizer:
    versions:
      v1:
        target:
          foundation_model: amazon.nova-pro-v1:0
    aliases:
      live:
        version: v1
"""
WATCHER = ROOT / "bedrock_lifecycle/constructs/lifecycle_watcher.py"
WATCHER_TEXT = "daily check of Bedrock's Legacy"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def make_repo(root: Path) -> Path:
    """Three commits: no lifecycle file; a base whose own package words the watcher's
    description differently; the head, with a second alias."""
    repo = root / "repo"
    repo.mkdir()
    shutil.copytree(
        ROOT / "bedrock_lifecycle",
        repo / "bedrock_lifecycle",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for name in ("app.py", "cdk.json"):
        shutil.copy(ROOT / name, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "package only")
    watcher = repo / "bedrock_lifecycle/constructs/lifecycle_watcher.py"
    original = watcher.read_text(encoding="utf-8")
    assert WATCHER_TEXT in original
    watcher.write_text(
        original.replace(WATCHER_TEXT, "base-only check of Legacy"), encoding="utf-8"
    )
    (repo / "lifecycle.yaml").write_text(LIFECYCLE, encoding="utf-8")
    # The lock as `bedrock-lifecycle lock` writes it, without its dry build (a jsii start).
    lock, _ = updated_lock(LifecycleFile.model_validate(yaml.safe_load(LIFECYCLE)), None)
    (repo / "lifecycle.lock").write_text(lock.render(), encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    watcher.write_text(original, encoding="utf-8")
    head = LIFECYCLE + "      pinned-v1:\n        version: v1\n"
    (repo / "lifecycle.yaml").write_text(head, encoding="utf-8")
    # A new alias comes with its lock (the lock records every alias).
    lock, _ = updated_lock(LifecycleFile.model_validate(yaml.safe_load(head)), lock)
    (repo / "lifecycle.lock").write_text(lock.render(), encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "head: a pinned alias")
    return repo


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("template-diff"))


# The end-to-end run (two commits, the base ref's own code, the worktree removed, the
# index untouched) is tests/test_ci_examples.py's test of the pull request's script,
# which runs plan --templates exactly as the workflow does: one pair of synths for both.


def test_bad_refs_fail_before_any_synth(repo: Path):
    # A ref without the file (everything added) costs a synth; the plan's own tests show
    # "everything is new", compare_templates above an absent base stack.
    with pytest.raises(TemplateDiffError, match=r"^'no-such-ref' is not a commit of "):
        template_changes("no-such-ref", repo=repo, lifecycle=Path("lifecycle.yaml"))
    with pytest.raises(TemplateDiffError, match=r"^the base ref must not start with '-'"):
        template_changes("--output=x", repo=repo, lifecycle=Path("lifecycle.yaml"))
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_a_failing_synth_is_one_line_from_its_stderr(tmp_path: Path):
    from bedrock_lifecycle.template_diff import synth

    def failing(stderr: str) -> synth._SynthJob:
        code = f"import sys; sys.stderr.write({stderr!r}); sys.exit(2)"
        process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        return synth._SynthJob(tmp_path, tmp_path, process)

    problem = "\n\nlifecycle.yaml: families.x: unknown key\nlifecycle.yaml: second\n"
    with pytest.raises(
        TemplateDiffError,
        match=r"^synth of the base main failed: lifecycle.yaml: families.x: unknown key$",
    ):
        synth._finish_synth(failing(problem), "the base main")
    traceback = 'Traceback (most recent call last):\n  File "app.py"\nRuntimeError: boom\n'
    with pytest.raises(TemplateDiffError, match=r"^synth of the head failed: RuntimeError: boom$"):
        synth._finish_synth(failing(traceback), "the head")


def test_the_reason_of_a_failed_synth_is_never_a_lifecycle_warning():
    from bedrock_lifecycle.template_diff.synth import _first_line

    stderr = (
        "WARNING lifecycle.yaml: families.s.versions.v1.lifecycle.state: deprecated (Annotation)\n"
        "   BedrockLifecycle-dev/Aliases/SLive constructs.Construct\n"
        "   Acknowledge with 'Annotation::bedrock-lifecycle:lifecycle'\n"
        "\n"
        "boom base\n"
    )
    assert _first_line(stderr) == "boom base"


def test_a_lifecycle_path_relative_to_another_folder_is_resolved(repo: Path, monkeypatch):
    from bedrock_lifecycle.template_diff.synth import _relative

    monkeypatch.chdir(repo / "bedrock_lifecycle")
    assert _relative((Path("..") / "lifecycle.yaml").resolve(), repo) == Path("lifecycle.yaml")


def test_an_environment_is_all_its_stacks_and_no_other_environments():
    from bedrock_lifecycle.template_diff.synth import environment_stacks

    stacks = [
        "BedrockLifecycle-prod",
        "BedrockLifecycle-prod-Aliases1",
        "BedrockLifecycle-prod-Aliases12",
        "BedrockLifecycle-prod-Environment",
        "BedrockLifecycle-prod-eu",
        "BedrockLifecycle-prod-eu-Aliases1",
        "BedrockLifecycle-prod-AliasesX",
    ]
    assert environment_stacks("prod", stacks) == stacks[:4]
    assert environment_stacks("prod-eu", stacks) == stacks[4:6]


def test_templates_are_keyed_by_cloudformation_stack_name(tmp_path: Path):
    """A split environment's main stack has the construct id ...-Main and the deployed
    stack's name: the diff compares it with the base's stack of that name."""
    from bedrock_lifecycle.template_diff import synth as synth_module

    (tmp_path / "main.json").write_text('{"Resources": {}}')
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "BedrockLifecycle-prod-Main": {
                        "type": "aws:cloudformation:stack",
                        "properties": {
                            "templateFile": "main.json",
                            "stackName": "BedrockLifecycle-prod",
                        },
                    }
                }
            }
        )
    )

    class Done:
        returncode = 0

        def communicate(self, timeout):
            return "", ""

    job = synth_module._SynthJob(tmp_path, tmp_path, Done())
    assert list(synth_module._finish_synth(job, "the head")) == ["BedrockLifecycle-prod"]
