"""``bedrock-lifecycle plan``: git refs as the base, identical inputs, --fail-on,
--templates, bad input, and the throughput refusal in the handler's own words."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from bedrock_lifecycle.cli import main
from bedrock_lifecycle.plan.throughputs import REFUSAL
from tests.plan.fixtures import BASE, TODAY, head_of, run_plan, write
from tests.plan.test_changes import units
from tests.support.lambda_assets import load_asset_module


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with three commits: no lifecycle file, the base, the head (units 2)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README").write_text("x\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "empty")
    write(root / "platform", BASE)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    write(root / "platform", head_of(units), prompts=("a", "b", "c"))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "head")
    return root


def plan(file: Path, *args: str) -> int:
    return main(["plan", str(file), "--no-lock", "--today", TODAY, *args])


def test_a_git_ref_is_read_offline_with_its_golden_prompts(repo, capsys):
    head = repo / "platform/lifecycle.yaml"
    assert plan(head, "--base", "HEAD~1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prod: summarizer/live evaluation gate prompts added c (2 -> 3)"
    assert lines[1].startswith("prod: throughput assistant will be refused at deploy")
    assert plan(head, "--base", "HEAD~1", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["base"] == "HEAD~1:platform/lifecycle.yaml"


def test_a_ref_without_the_file_means_everything_is_new(repo, capsys):
    """Everything is new, and every format says which file was not found."""
    head = repo / "platform/lifecycle.yaml"
    assert plan(head, "--base", "HEAD~2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "note: base HEAD~2:platform/lifecycle.yaml not found: everything is new",
        "prod: new environment: its stack is created",
        "prod: summarizer/live new at v2 (v2@996491c30e5e, Claude Haiku 4.5), canary 10 % "
        "for 10 min, 2 alarms, evaluation gate 3 prompts; first deploy: no shifting",
    ]
    assert "prod: throughput assistant bought: amazon.nova-pro-v1:0:300k, 2 model units, " in (
        "\n".join(lines)
    )
    assert plan(head, "--base", "HEAD~2", "--format", "markdown") == 0
    assert capsys.readouterr().out.splitlines()[2] == (
        f"`{head}` against nothing: `HEAD~2:platform/lifecycle.yaml` not found (everything "
        "is new); lifecycle as of 2026-11-26."
    )
    assert plan(head, "--base", "HEAD~2", "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["base"], doc["base_not_found"]) == (None, "HEAD~2:platform/lifecycle.yaml")


def test_golden_prompts_missing_at_the_ref_leave_the_base_gate_unknown(repo, capsys):
    """The base's gate then has unknown prompts: the plan says so instead of exit 2 (the
    head, committed before, differs from HEAD only by its prompts)."""
    git(repo, "rm", "-q", "platform/evals/summarizer.jsonl")
    git(repo, "commit", "-q", "-m", "prompts lost")
    write(repo / "platform", head_of(units), prompts=("a", "b", "c"))
    head = repo / "platform/lifecycle.yaml"
    assert plan(head, "--base", "HEAD") == 0
    assert capsys.readouterr().out.splitlines() == [
        "prod: summarizer/live evaluation gate prompts unknown before "
        "(HEAD:platform/evals/summarizer.jsonl not found at the base): now 3 prompts"
    ]


def test_errors_of_the_base_at_a_ref_name_the_ref(repo, capsys):
    (repo / "platform/lifecycle.yaml").write_text("schema_version: 2\n")
    git(repo, "commit", "-q", "-am", "broken")
    write(repo / "platform", BASE)
    assert plan(repo / "platform/lifecycle.yaml", "--base", "HEAD") == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("HEAD:platform/lifecycle.yaml: schema_version: ")


def test_identical_inputs_print_exactly_no_lifecycle_changes(tmp_path, capsys):
    assert run_plan(tmp_path, lambda data: None)[0] == 0
    assert capsys.readouterr().out == "no lifecycle changes\n"
    assert plan(tmp_path / "head/lifecycle.yaml", "--base", "HEAD", "--format", "json") == 2


def test_fail_on_exits_3_for_a_listed_risk_only(tmp_path, capsys):
    assert run_plan(tmp_path, units, "--fail-on", "risk")[0] == 3
    assert run_plan(tmp_path, units, "--fail-on", "throughput-replacement-refused")[0] == 3
    assert run_plan(tmp_path, units, "--fail-on", "gate-removed,alarm-removed")[0] == 0
    assert run_plan(tmp_path, lambda data: None, "--fail-on", "risk")[0] == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        run_plan(tmp_path, units, "--fail-on", "risky")
    assert exc.value.code == 2
    assert "unknown risk code risky; allowed: risk, committed-throughput-bought" in (
        capsys.readouterr().err
    )


def test_a_bad_base_is_one_line_and_exit_2(tmp_path, capsys):
    head = write(tmp_path / "head", BASE)
    assert plan(head, "--base", "origin/nope") == 2
    assert capsys.readouterr().err.splitlines() == [
        f"--base: origin/nope: no such file, and {head} is not in a git repository "
        "(a git ref needs one)"
    ]


def test_a_bad_ref_in_a_repository_is_one_line_and_exit_2(repo, capsys):
    assert plan(repo / "platform/lifecycle.yaml", "--base=--output=x") == 2
    assert capsys.readouterr().err.splitlines() == [
        f"--base: --output=x: neither an existing lifecycle file nor a git ref of {repo}; "
        "give a file or a ref such as origin/main or HEAD~1"
    ]


def test_templates_appends_the_offline_template_diff(repo, capsys, monkeypatch):
    calls = []

    class TemplateDiffError(Exception):
        pass

    def template_changes(base_ref, *, repo, lifecycle, environments=None):
        calls.append((base_ref, repo, lifecycle))
        return ["one"]

    fake = types.ModuleType("bedrock_lifecycle.template_diff")
    fake.TemplateDiffError = TemplateDiffError  # type: ignore[attr-defined]
    fake.template_changes = template_changes  # type: ignore[attr-defined]
    fake.render_text = lambda changes: ["BedrockLifecycle-prod: ~ Throughput (replace)"]  # type: ignore[attr-defined]
    fake.render_markdown = lambda changes: ["#### BedrockLifecycle-prod"]  # type: ignore[attr-defined]
    fake.changes_json = lambda changes: [{"stack": "BedrockLifecycle-prod"}]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bedrock_lifecycle.template_diff", fake)
    import bedrock_lifecycle

    monkeypatch.setattr(bedrock_lifecycle, "template_diff", fake, raising=False)
    head = repo / "platform/lifecycle.yaml"
    assert plan(head, "--base", "HEAD~1", "--templates") == 0
    assert capsys.readouterr().out.splitlines()[-3:] == [
        "",
        "CloudFormation templates:",
        "BedrockLifecycle-prod: ~ Throughput (replace)",
    ]
    assert calls == [("HEAD~1", repo.resolve(), head)]
    assert plan(head, "--base", "HEAD~1", "--templates", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["templates"] == [{"stack": "BedrockLifecycle-prod"}]

    def failing(base_ref, **kwargs):
        raise TemplateDiffError("synth of HEAD~1 failed: boom")

    fake.template_changes = failing  # type: ignore[attr-defined]
    assert plan(head, "--base", "HEAD~1", "--templates", "--format", "markdown") == 2
    assert capsys.readouterr().err.splitlines() == ["--templates: synth of HEAD~1 failed: boom"]
    base_file = write(repo / "copy", BASE)
    assert plan(head, "--base", str(base_file), "--templates") == 2
    assert capsys.readouterr().err.splitlines() == [
        "--templates: needs --base to be a git ref (origin/main, HEAD~1), not a file"
    ]


def test_the_refusal_is_worded_as_the_handler_words_it():
    """The handler's message for the same change, with the ARN and the expiry (known only
    at deploy) put back, is the plan's sentence."""
    update = load_asset_module("provisioned_throughput", "update")
    properties = load_asset_module("provisioned_throughput", "properties")

    def props(units: str) -> object:
        return properties.parse_properties(
            {
                "ProvisionedModelName": "acme-prod-assistant",
                "ModelId": "amazon.nova-pro-v1:0:300k",
                "ModelUnits": units,
                "CommitmentDuration": "OneMonth",
                "AllowReplacement": "false",
            }
        )

    old, new = props("1"), props("2")
    reasons = "; ".join(update.plan_update(old, new).replacement_reasons)
    arn = "arn:aws:bedrock:us-east-1:222222222222:provisioned-model/abcdefgh1234"
    expiry = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    now = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    current = {"commitmentDuration": "OneMonth", "commitmentExpirationTime": expiry}
    bedrock = types.SimpleNamespace(now=lambda: now)
    with pytest.raises(update.ThroughputError) as exc:
        update.replace_throughput({}, arn, old, new, reasons, current, bedrock)
    expected = REFUSAL.format(
        name=arn, reasons=reasons, commitment="OneMonth", expiry=expiry.isoformat()
    )
    assert str(exc.value) == expected
    assert reasons == "ModelUnits 1 -> 2"
