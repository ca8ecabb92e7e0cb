"""Pairs of (base, head) lifecycle files: each kind of change and each risk code, as the
exact lines of the text and Markdown plans, and the JSON plan against its schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from bedrock_lifecycle.cli import main
from bedrock_lifecycle.plan import RISK_CODES
from bedrock_lifecycle.plan.render import SCHEMA_PATH
from tests.plan.fixtures import BASE, TODAY, head_of, run_plan, write

REFUSAL = (
    "prod: throughput assistant will be refused at deploy while its term runs: refusing to "
    "replace committed provisioned throughput acme-prod-assistant (ModelUnits 1 -> 2): its "
    "OneMonth term runs until its commitment expiry, it cannot be deleted before then and "
    "keeps billing beside the new one; revert the change, or set allow_replacement: true on "
    "this throughput in lifecycle.yaml to buy the new one anyway"
)


def units(data: dict[str, Any]) -> None:
    data["provisioned_throughputs"]["assistant"]["model_units"] = 2


def units_allowed(data: dict[str, Any]) -> None:
    data["provisioned_throughputs"]["assistant"].update(model_units=2, allow_replacement=True)


def allow_only(data: dict[str, Any]) -> None:
    data["provisioned_throughputs"]["assistant"]["allow_replacement"] = True


def hourly_units(data: dict[str, Any]) -> None:
    data["provisioned_throughputs"]["assistant"]["commitment"] = "none"


def throughput_removed(data: dict[str, Any]) -> None:
    del data["provisioned_throughputs"]
    data["families"]["assistant"]["versions"]["v2"] = {
        "target": {"foundation_model": "amazon.nova-pro-v1:0"}
    }
    del data["families"]["assistant"]["versions"]["v1"]
    data["families"]["assistant"]["aliases"]["live"]["version"] = "v2"


def onto_legacy(data: dict[str, Any]) -> None:
    data["families"]["summarizer"]["aliases"]["live"]["version"] = "v1"


def weakened(data: dict[str, Any]) -> None:
    env = data["environments"]["prod"]
    env["rollout"] = {"strategy": "all_at_once"}
    env["alarms"] = {"error_rate_percent": 5}
    alias = data["families"]["summarizer"]["aliases"]["live"]
    alias.pop("alarms")
    alias["allowed_overrides"] = ["max_tokens"]
    alias["max_concurrency"] = 50
    data["families"]["summarizer"]["evaluation"]["pass_rate"] = 0.8


def audit(data: dict[str, Any]) -> None:
    env = data["environments"]["prod"]
    env["prompt_logging"] = True
    env["audit"] = {
        "object_lock_mode": "GOVERNANCE",
        "retention_days": 30,
        "log_retention_days": 30,
        "invocation_logging": False,
    }


def continuous_sparser(data: dict[str, Any]) -> None:
    evaluation = data["families"]["summarizer"]["evaluation"]
    evaluation["continuous"] = {"schedule": "rate(2 days)", "sample": 1}


def continuous_off(data: dict[str, Any]) -> None:
    data["families"]["summarizer"]["evaluation"]["continuous"] = {"environments": []}


def continuous_cron(data: dict[str, Any]) -> None:
    evaluation = data["families"]["summarizer"]["evaluation"]
    evaluation["continuous"] = {"schedule": "cron(0 */6 * * ? *)", "sample": 2}


def gate_and_versions(data: dict[str, Any]) -> None:
    data["families"]["summarizer"]["aliases"]["live"]["evaluation_gate"] = False
    versions = data["families"]["summarizer"]["versions"]
    versions["v1"]["lifecycle"] = {"state": "retired"}
    versions["v3"] = {
        "target": {"foundation_model": "amazon.nova-pro-v1:0"},
        "lifecycle": {"state": "deprecated", "sunset": "2027-01-01", "replacement": "v2"},
    }


def aliases_and_environments(data: dict[str, Any]) -> None:
    data["environments"]["dev"] = {"rollout": {"strategy": "all_at_once"}}
    summarizer = data["families"]["summarizer"]
    summarizer["aliases"]["pinned"] = {"version": "v2", "environments": ["prod"]}
    summarizer["aliases"]["live"]["environment_versions"] = {"dev": "v1", "prod": "v2"}
    data["families"]["assistant"]["aliases"]["live"]["environments"] = ["prod"]
    data["families"]["assistant"]["aliases"]["live"]["rollout"] = {
        "strategy": "linear",
        "percent": 5,
        "interval_minutes": 30,
    }


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], tuple[str, ...], list[str]]] = {
    "committed units change is refused": (
        units,
        ("a", "b"),
        [
            REFUSAL,
            "risk throughput-replacement-refused: prod: assistant: ModelUnits 1 -> 2 replaces "
            "a committed throughput without allow_replacement: the deploy fails and the stack "
            "rolls back",
        ],
    ),
    "committed replacement allowed": (
        units_allowed,
        ("a", "b"),
        [
            "prod: throughput assistant replaced (ModelUnits 1 -> 2): a new one is bought "
            "(amazon.nova-pro-v1:0:300k, 2 model units, one_month commitment (billed for the "
            "whole term, kept until it ends)); the old one cannot be deleted before its term "
            "ends and keeps billing beside the new one",
            "risk committed-throughput-replaced: prod: assistant: ModelUnits 1 -> 2: the old "
            "one_month throughput keeps billing until its term ends, beside the new one",
            "risk committed-throughput-bought: prod: assistant: buys 2 model units of "
            "amazon.nova-pro-v1:0:300k for one_month: billed for the whole term, whatever "
            "happens next",
        ],
    ),
    "allow_replacement alone is in place": (
        allow_only,
        ("a", "b"),
        ["prod: throughput assistant updated in place: allow_replacement false -> true"],
    ),
    "commitment change is refused too": (
        hourly_units,
        ("a", "b"),
        [
            REFUSAL.replace("ModelUnits 1 -> 2", "CommitmentDuration OneMonth -> None"),
            "risk throughput-replacement-refused: prod: assistant: CommitmentDuration OneMonth "
            "-> None replaces a committed throughput without allow_replacement: the deploy "
            "fails and the stack rolls back",
        ],
    ),
    "committed throughput removed": (
        throughput_removed,
        ("a", "b"),
        [
            "prod: assistant/live v1 -> v2 (throughput assistant: Nova Pro -> Nova Pro; "
            "v1@e685a8b65a73 -> v2@213788a09ecd), canary 10 % for 10 min, 2 alarms, "
            "no evaluation gate",
            "prod: version assistant/v2 added: v2@213788a09ecd on Nova Pro",
            "prod: version assistant/v1 removed from the file",
            "prod: throughput assistant removed from the stack but retained: its one_month term "
            "keeps billing until it ends; then delete it by hand: aws bedrock "
            "delete-provisioned-model-throughput --provisioned-model-id acme-prod-assistant",
            "prod: assistant routers' Bedrock grants widen to v2 (amazon.nova-pro-v1:0) and "
            "narrow from v1 (assistant), once the deploy has succeeded",
            "risk committed-throughput-removed: prod: assistant: retained and billed until its "
            "one_month term ends; delete acme-prod-assistant by hand after that",
        ],
    ),
    "alias onto a legacy model": (
        onto_legacy,
        ("a", "b"),
        [
            "prod: summarizer/live v2 -> v1 (Claude Haiku 4.5 -> Claude 3 Haiku; "
            "v2@996491c30e5e -> v1@a2c935705ac0), canary 10 % for 10 min, 2 alarms, "
            "evaluation gate 2 prompts",
            "prod: warning: families.summarizer.aliases.live: version 'v1' runs on "
            "anthropic.claude-3-haiku-20240307-v1:0, which Bedrock marks LEGACY (since "
            "2026-08-15, public extended access from 2027-02-15, end of life 2027-08-15 "
            "(262 days)), in prod; plan the move to an active model (docs/governance.md)",
            "risk alias-onto-legacy-model: prod: summarizer/live: serves v1 on "
            "anthropic.claude-3-haiku-20240307-v1:0, which Bedrock marks LEGACY; choose a "
            "version on an active model",
        ],
    ),
    "rollout, alarms, gate and overrides weakened": (
        weakened,
        ("a", "c"),
        [
            "prod: summarizer/live rollout canary 10 % for 10 min -> all at once "
            "[10 -> 0 min until all traffic has shifted]",
            "prod: summarizer/live Regression alarm term removed: output tokens (5 -> 4 terms)",
            "prod: summarizer/live alarm error_rate_percent raised 2 -> 5",
            "prod: summarizer/live evaluation gate pass rate lowered 0.9 -> 0.8",
            "prod: summarizer/live evaluation gate prompts added c; removed b (2 -> 2)",
            "prod: summarizer/live allowed_overrides none -> max_tokens",
            "prod: summarizer/live max_concurrency unreserved -> 50 (reserved concurrency of "
            "its router: applies at once, to every version)",
            "prod: assistant/live rollout canary 10 % for 10 min -> all at once "
            "[10 -> 0 min until all traffic has shifted]",
            "prod: assistant/live alarm error_rate_percent raised 2 -> 5",
            "risk rollout-faster: prod: summarizer/live: canary 10 % for 10 min -> all at "
            "once: a regression reaches more callers before the alarms can roll it back",
            "risk alarm-removed: prod: summarizer/live: the output-tokens term of the "
            "Regression alarm is removed: a cost regression no longer rolls back",
            "risk alarm-weakened: prod: summarizer/live: error_rate_percent 2 -> 5: a "
            "regression must be worse (or last longer) before it rolls back",
            "risk gate-weakened: prod: summarizer/live: pass rate 0.9 -> 0.8: more golden "
            "prompts may fail",
            "risk gate-weakened: prod: summarizer/live: golden prompts removed: b",
            "risk rollout-faster: prod: assistant/live: canary 10 % for 10 min -> all at "
            "once: a regression reaches more callers before the alarms can roll it back",
            "risk alarm-weakened: prod: assistant/live: error_rate_percent 2 -> 5: a "
            "regression must be worse (or last longer) before it rolls back",
        ],
    ),
    "audit weakened and prompt logging on": (
        audit,
        ("a", "b"),
        [
            "prod: audit Object Lock COMPLIANCE -> GOVERNANCE (records written from now on)",
            "prod: audit Object Lock retention 400 -> 30 days",
            "prod: audit log retention 400 -> 30 days",
            "prod: invocation logging owner: owns invocation logging -> no invocation logging",
            "prod: prompt_logging off -> on",
            "risk object-lock-weakened: prod: audit: COMPLIANCE -> GOVERNANCE: privileged "
            "users can delete audit records before their retention ends",
            "risk audit-retention-shortened: prod: audit: retention_days 400 -> 30: audit "
            "records are kept for a shorter time",
            "risk audit-retention-shortened: prod: audit: log_retention_days 400 -> 30: audit "
            "records are kept for a shorter time",
            "risk invocation-logging-off: prod: audit: this environment stops owning Bedrock's "
            "invocation logging in its account and region; check that another one owns it",
            "risk prompt-logging-on: prod: prompt_logging: audit records and invocation logs "
            "keep prompt and answer text",
        ],
    ),
    "gate removed, versions retired, added and deprecated": (
        gate_and_versions,
        ("a", "b"),
        [
            "prod: summarizer/live evaluation gate removed",
            "prod: version summarizer/v1 retired (was active): no alias may serve it",
            "prod: version summarizer/v3 added: v3@213788a09ecd on Nova Pro",
            "prod: version summarizer/v3 deprecated: sunset 2027-01-01, replacement v2",
            "prod: summarizer routers' Bedrock grants widen to v3 (amazon.nova-pro-v1:0) and "
            "narrow from v1 (anthropic.claude-3-haiku-20240307-v1:0), once the deploy has "
            "succeeded",
            "risk gate-removed: prod: summarizer/live: no golden prompts run before traffic "
            "moves to a new version",
            "risk version-retired: prod: summarizer/v1: retired: its routers lose the grants "
            "to call it; nothing can roll back onto it",
        ],
    ),
    "continuous evaluation less often, on fewer prompts": (
        continuous_sparser,
        ("a", "b"),
        [
            "prod: summarizer/live continuous evaluation schedule rate(1 day) -> rate(2 days); "
            "all prompts -> sample 1",
            "risk continuous-evaluation-weakened: prod: summarizer/live: schedule rate(1 day) "
            "-> rate(2 days); all prompts -> sample 1: a drift shows later or in fewer prompts",
        ],
    ),
    "continuous evaluation off": (
        continuous_off,
        ("a", "b"),
        [
            "prod: summarizer/live continuous evaluation rate(1 day), all prompts -> no "
            "continuous evaluation",
            "risk continuous-evaluation-weakened: prod: summarizer/live: continuous evaluation "
            "stops: a drift of the live model's answers goes unseen",
        ],
    ),
    # A cron schedule is not compared with a rate: a change, no risk; a sample of 2 of
    # the 2 prompts still runs fewer whenever the file grows, so it is flagged.
    "continuous evaluation on a cron schedule": (
        continuous_cron,
        ("a", "b"),
        [
            "prod: summarizer/live continuous evaluation schedule rate(1 day) -> "
            "cron(0 */6 * * ? *); all prompts -> sample 2",
            "risk continuous-evaluation-weakened: prod: summarizer/live: all prompts -> "
            "sample 2: a drift shows later or in fewer prompts",
        ],
    ),
}


ADDED: list[str] = [
    "prod: summarizer/live environment_versions.prod: none -> v2",
    "prod: summarizer/pinned new at v2 (v2@996491c30e5e, Claude Haiku 4.5), canary "
    "10 % for 10 min, 2 alarms, evaluation gate 2 prompts; first deploy: no "
    "shifting",
    "prod: assistant/live rollout canary 10 % for 10 min -> linear 5 % every 30 "
    "min (570 min in all) [10 -> 570 min until all traffic has shifted]",
    "dev: new environment: its stack is created",
    "dev: summarizer/live new at v1 (v1@a2c935705ac0, Claude 3 Haiku), all at "
    "once, 2 alarms, evaluation gate 2 prompts; first deploy: no shifting",
    "dev: audit: Object Lock GOVERNANCE 365 days, log retention 365 days, owns "
    "invocation logging, prompt logging off",
    "dev: warning: families.summarizer.aliases.live: version 'v1' runs on "
    "anthropic.claude-3-haiku-20240307-v1:0, which Bedrock marks LEGACY (since "
    "2026-08-15, public extended access from 2027-02-15, end of life 2027-08-15 "
    "(262 days)), in dev; plan the move to an active model (docs/governance.md)",
    "risk alias-onto-legacy-model: dev: summarizer/live: serves v1 on "
    "anthropic.claude-3-haiku-20240307-v1:0, which Bedrock marks LEGACY; choose a "
    "version on an active model",
]
REMOVED: list[str] = [
    "prod: summarizer/live environment_versions.prod: v2 -> none",
    "prod: assistant/live rollout linear 5 % every 30 min (570 min in all) -> "
    "canary 10 % for 10 min [570 -> 10 min until all traffic has shifted]",
    "prod: summarizer/pinned removed (was at v2): its router, alias and alarms are "
    "deleted and its callers fail",
    "dev: environment removed from the file: a deploy leaves its stack in place; "
    "destroy it by hand (committed throughputs are retained)",
    "risk rollout-faster: prod: assistant/live: linear 5 % every 30 min (570 min "
    "in all) -> canary 10 % for 10 min: a regression reaches more callers before "
    "the alarms can roll it back",
    "risk alias-removed: prod: summarizer/pinned: removed: every caller of it "
    "fails from this deploy on",
    "risk environment-removed: dev: dev: its stack keeps running and billing until "
    "destroyed by hand",
]


@pytest.mark.parametrize("name", list(CASES))
def test_text_plan_says_exactly_what_changes(tmp_path, capsys, name):
    change, prompts, expected = CASES[name]
    assert run_plan(tmp_path, change, prompts=prompts)[0] == 0
    assert capsys.readouterr().out.splitlines() == expected


@pytest.mark.parametrize("name", list(CASES))
def test_json_plan_matches_its_schema_and_the_text(tmp_path, capsys, name):
    change, prompts, expected = CASES[name]
    assert run_plan(tmp_path, change, "--format", "json", prompts=prompts)[0] == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    assert doc["format"] == 1 and doc["changed"] is True
    [prod] = doc["environments"]
    assert [f"prod: {c['text']}" for c in prod["changes"]] == [
        line for line in expected if not line.startswith(("risk ", "prod: warning: "))
    ]
    assert [f"risk {r['code']}: prod: {r['object']}: {r['message']}" for r in doc["risks"]] == [
        line for line in expected if line.startswith("risk ")
    ]


def test_markdown_puts_the_risks_first(tmp_path, capsys):
    assert run_plan(tmp_path, units, "--format", "markdown")[0] == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "## Lifecycle plan"
    assert lines[2].endswith("lifecycle.yaml`; lifecycle as of 2026-11-26.")
    assert lines[3:] == [
        "",
        "### :warning: Risks (1)",
        "",
        "| risk | environment | object | why |",
        "| --- | --- | --- | --- |",
        "| `throughput-replacement-refused` | prod | assistant | ModelUnits 1 -> 2 replaces a "
        "committed throughput without allow_replacement: the deploy fails and the stack rolls "
        "back |",
        "",
        "### prod (changed)",
        "",
        "- " + REFUSAL.removeprefix("prod: "),
    ]


def test_markdown_lists_changes_and_warnings_per_environment(tmp_path, capsys):
    assert run_plan(tmp_path, onto_legacy, "--format", "markdown")[0] == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("### prod (changed)")
    assert lines[start:] == [
        "### prod (changed)",
        "",
        "- summarizer/live v2 -> v1 (Claude Haiku 4.5 -> Claude 3 Haiku; v2@996491c30e5e -> "
        "v1@a2c935705ac0), canary 10 % for 10 min, 2 alarms, evaluation gate 2 prompts",
        "",
        "Lifecycle warnings:",
        "",
        "- families.summarizer.aliases.live: version 'v1' runs on "
        "anthropic.claude-3-haiku-20240307-v1:0, which Bedrock marks LEGACY (since "
        "2026-08-15, public extended access from 2027-02-15, end of life 2027-08-15 "
        "(262 days)), in prod; plan the move to an active model (docs/governance.md)",
    ]


def test_new_and_removed_aliases_environments_and_overrides(tmp_path, capsys):
    """A new environment, a new alias, a per-environment version, a slower rollout (no
    risk); then the other way round: the alias and the environment removed."""
    assert run_plan(tmp_path, aliases_and_environments)[0] == 0
    assert capsys.readouterr().out.splitlines() == ADDED
    base = write(tmp_path / "new-base", head_of(aliases_and_environments))
    head = write(tmp_path / "old-head", BASE)
    argv = ["plan", str(head), "--base", str(base), "--no-lock", "--today", TODAY]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == REMOVED


def test_every_risk_code_is_in_the_schema_and_the_docs():
    from tests.conftest import ROOT

    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$defs"]["risk"]["properties"]["code"]["enum"] == list(RISK_CODES)
    plan_doc = (ROOT / "docs/plan.md").read_text()
    reference = (ROOT / "docs/config-reference.md").read_text()
    section = reference[reference.index("## Plan risk codes") :]
    for code in RISK_CODES:
        assert f"`{code}`" in plan_doc, code
        assert f"`{code}`" in section, code
