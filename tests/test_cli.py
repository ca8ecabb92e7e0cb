"""The bedrock-lifecycle command line: validate, lock, schema, plan."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from bedrock_lifecycle.cli import main
from tests.conftest import FIXED_TODAY, ROOT

GOOD = ROOT / "tests/config/good/minimal.yaml"
TODAY = FIXED_TODAY.isoformat()  # the shipped example's sunset dates are real dates


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(GOOD, tmp_path / "lifecycle.yaml")
    return tmp_path


def test_validate_shipped_file_is_valid(capsys):
    assert main(["validate", str(ROOT / "lifecycle.yaml"), "--today", TODAY]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("valid (3 environments, 11 aliases)")


def test_validate_prints_warnings_but_succeeds(capsys):
    assert main(["validate", str(ROOT / "lifecycle.yaml"), "--today", TODAY]) == 0
    err = capsys.readouterr().err
    assert "families.summarizer.versions.v1.lifecycle.state: warning: deprecated" in err


def test_lock_creates_then_reports_up_to_date(workdir, capsys):
    file = workdir / "lifecycle.yaml"
    assert main(["validate", str(file)]) == 2  # no lock yet
    capsys.readouterr()
    assert main(["lock", str(file)]) == 0
    assert capsys.readouterr().out.strip() == "lifecycle.lock: locked summarizer/v1"
    assert main(["validate", str(file)]) == 0
    assert main(["lock", str(file)]) == 0
    assert capsys.readouterr().out.strip().endswith("lifecycle.lock: up to date (1 versions)")


def test_lock_refuses_to_rewrite_a_changed_version(workdir, capsys):
    file = workdir / "lifecycle.yaml"
    assert main(["lock", str(file)]) == 0
    before = (workdir / "lifecycle.lock").read_text()
    file.write_text(file.read_text().replace("claude-3-haiku", "claude-3-5-haiku"))
    capsys.readouterr()
    assert main(["lock", str(file)]) == 2
    err = capsys.readouterr().err
    assert "families.summarizer.versions.v1: content changed since it was locked" in err
    assert "declare a new version label" in err
    assert (workdir / "lifecycle.lock").read_text() == before


def test_lock_does_not_write_for_an_invalid_file(workdir):
    file = workdir / "lifecycle.yaml"
    file.write_text(file.read_text().replace("version: v1", "version: v9"))
    assert main(["lock", str(file)]) == 2
    assert not (workdir / "lifecycle.lock").exists()


def test_schema_validates_the_shipped_file_and_rejects_a_typo(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    shipped = yaml.safe_load((ROOT / "lifecycle.yaml").read_text())
    # YAML dates are dates; JSON Schema sees the file as an editor does: as text.
    jsonschema.validate(json.loads(json.dumps(shipped, default=str)), schema)
    shipped["families"]["summarizer"]["aliases"]["live"]["verison"] = "v2"
    with pytest.raises(jsonschema.ValidationError, match="verison"):
        jsonschema.validate(json.loads(json.dumps(shipped, default=str)), schema)


def test_committed_schema_is_up_to_date(capsys):
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    for committed in ("lifecycle.schema.json", "bedrock_lifecycle/lifecycle.schema.json"):
        assert printed == (ROOT / committed).read_text(), (
            f"run `make schema` and commit {committed}"
        )


def test_version_names_the_package_and_what_it_runs_on(capsys):
    import importlib.metadata as metadata

    import bedrock_lifecycle

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"bedrock-lifecycle {bedrock_lifecycle.__version__} (aws-cdk-lib ")
    assert f"cdk-nag {metadata.version('cdk-nag')}" in line
    assert metadata.version("bedrock-lifecycle") == bedrock_lifecycle.__version__


def test_plan_names_alias_moves_and_throughput_changes(tmp_path, capsys):
    """Moves with labels, ids and models, rollout, alarms and gate; a committed purchase
    with its model, units and term; the grants it widens (tests/plan has every kind)."""
    data = shipped_with_prompts(tmp_path)
    data["families"]["summarizer"]["aliases"]["live"]["version"] = "v1"
    del data["provisioned_throughputs"]
    data["families"]["assistant"]["aliases"]["live"].pop("environment_versions")
    del data["families"]["assistant"]["versions"]["v1-pt"]
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(data))
    assert main(["plan", str(ROOT / "lifecycle.yaml"), "--base", str(base), "--today", TODAY]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "dev: summarizer/live v1 -> v2 (Claude 3 Haiku -> Claude Haiku 4.5; v1@4576e86f22f1 -> "
        "v2@947856f3caf5), all at once, 2 alarms, evaluation gate 3 prompts"
    )
    prod = [line for line in lines if line.startswith("prod: ") and "warning" not in line]
    assert prod == [
        "prod: summarizer/live v1 -> v2 (Claude 3 Haiku -> Claude Haiku 4.5; v1@4576e86f22f1 "
        "-> v2@947856f3caf5), canary 10 % for 10 min, 2 alarms, evaluation gate 3 prompts",
        "prod: assistant/live v1 -> v1-pt (Nova Pro -> throughput assistant: Nova Pro; "
        "v1@15b2af5c1b06 -> v1-pt@7eeb9cb52ac8), canary 10 % for 10 min, 2 alarms, "
        "evaluation gate 2 prompts",
        "prod: assistant/live environment_versions.prod: none -> v1-pt",
        "prod: version assistant/v1-pt added: v1-pt@7eeb9cb52ac8 on throughput assistant: Nova Pro",
        "prod: throughput assistant bought: amazon.nova-pro-v1:0:300k, 1 model unit, "
        "one_month commitment (billed for the whole term, kept until it ends)",
        # The throughput bought in prod widens what assistant's routers may call, there only.
        "prod: assistant routers' Bedrock grants widen to v1-pt (assistant)",
    ]
    assert [line for line in lines if "Bedrock grants" in line] == prod[-1:]
    assert lines[-1] == (
        "risk committed-throughput-bought: prod: assistant: buys 1 model unit of "
        "amazon.nova-pro-v1:0:300k for one_month: billed for the whole term, whatever "
        "happens next"
    )


def shipped_with_prompts(folder: Path) -> dict:
    """The shipped file as data, with a copy of its golden prompts in ``folder``, where the
    test writes it (golden prompts stay inside the lifecycle file's folder)."""
    shutil.copytree(ROOT / "evals", folder / "evals", dirs_exist_ok=True)
    return yaml.safe_load((ROOT / "lifecycle.yaml").read_text())


def test_plan_says_when_a_rollout_narrows_a_routers_grants(tmp_path, capsys):
    """Retiring a version narrows its family's grants once the deploy has succeeded."""
    data = shipped_with_prompts(tmp_path)
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(data, sort_keys=False))
    summarizer = data["families"]["summarizer"]
    summarizer["aliases"]["pinned-v1"]["version"] = "v2"
    summarizer["versions"]["v1"]["lifecycle"] = {"state": "retired"}
    head = tmp_path / "lifecycle.yaml"
    head.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["plan", str(head), "--base", str(base), "--no-lock", "--today", TODAY]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if "Bedrock grants" in line] == [
        f"{env}: summarizer routers' Bedrock grants narrow from "
        "v1 (anthropic.claude-3-haiku-20240307-v1:0), once the deploy has succeeded"
        for env in ("dev", "staging", "prod")
    ]


def test_plan_names_grants_by_target_not_by_label(tmp_path, capsys):
    """A new version on a model already granted widens nothing; a guardrail does."""
    data = shipped_with_prompts(tmp_path)
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(data, sort_keys=False))
    versions = data["families"]["summarizer"]["versions"]
    versions["v7"] = {**versions["v2"], "system_prompt": "Shorter."}
    head = tmp_path / "lifecycle.yaml"
    head.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["plan", str(head), "--base", str(base), "--no-lock", "--today", TODAY]) == 0
    assert not [line for line in capsys.readouterr().out.splitlines() if "grants" in line]
    versions["v8"] = {**versions["v2"], "guardrail": {"id": "abcdefghij12", "version": "3"}}
    head.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["plan", str(head), "--base", str(base), "--no-lock", "--today", TODAY]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "grants" in line]
    assert lines[0] == (
        "dev: summarizer routers' Bedrock grants widen to "
        "v8 (us.anthropic.claude-haiku-4-5-20251001-v1:0, guardrail abcdefghij12)"
    )
    # Another version of the same guardrail: the same ARN, nothing widens.
    base.write_text(yaml.safe_dump(data, sort_keys=False))
    versions["v9"] = {**versions["v2"], "guardrail": {"id": "abcdefghij12", "version": "4"}}
    head.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["plan", str(head), "--base", str(base), "--no-lock", "--today", TODAY]) == 0
    assert not [line for line in capsys.readouterr().out.splitlines() if "grants" in line]


def test_plan_reads_an_empty_alias_environment_list_of_the_base_as_none(tmp_path, capsys):
    minimal = ROOT / "tests/config/good/minimal.yaml"
    data = yaml.safe_load(minimal.read_text())
    data["families"]["summarizer"]["aliases"]["live"]["environments"] = []
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(data))
    assert main(["plan", str(minimal), "--base", str(base), "--no-lock", "--today", TODAY]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "dev: summarizer/live new at v1 (v1@a2c935705ac0, Claude 3 Haiku), canary 10 % for "
        "10 min, 2 alarms, no evaluation gate; first deploy: no shifting",
        "dev: warning: families.summarizer.aliases.live: version 'v1' runs on "
        "anthropic.claude-3-haiku-20240307-v1:0, which Bedrock marks LEGACY (since 2026-08-15, "
        "public extended access from 2027-02-15, end of life 2027-08-15 (262 days)), in dev; "
        "plan the move to an active model (docs/governance.md)",
        "risk alias-onto-legacy-model: dev: summarizer/live: serves v1 on "
        "anthropic.claude-3-haiku-20240307-v1:0, which Bedrock marks LEGACY; choose a version "
        "on an active model",
    ]


def test_unknown_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_today_previews_what_a_future_date_refuses(capsys):
    """The shipped summarizer/v1 is deprecated with sunset 2027-06-30."""
    file = str(ROOT / "lifecycle.yaml")
    assert main(["validate", file, "--today", "2027-06-30"]) == 0
    capsys.readouterr()
    assert main(["validate", file, "--today", "2027-07-01"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{file}: families.summarizer.versions.v1.lifecycle.state: 'deprecated' and past its "
        "sunset 2027-06-30, still used by summarizer/pinned-v1 (staging, prod); move them to 'v2'"
    ]


def test_today_must_be_a_date(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--today", "next week"])
    assert exc.value.code == 2
    assert "expected a date YYYY-MM-DD, got 'next week'" in capsys.readouterr().err
