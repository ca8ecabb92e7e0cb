"""The plan of changes the first version missed: a throughput's model written as a
foundation-model ARN, the environment's own settings (project, account and region,
alarm e-mails, the lifecycle watcher), the canary analysis, alarm windows, a moved
sunset; and the warnings of an unchanged environment in Markdown."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bedrock_lifecycle.cli import main
from bedrock_lifecycle.plan.render import SCHEMA_PATH
from bedrock_lifecycle.plan.throughputs import is_custom_model, model_key
from tests.plan.fixtures import BASE, TODAY, write
from tests.support.lambda_assets import load_asset_module

Edit = Callable[[dict[str, Any]], None]
FM_ARN = "arn:aws:bedrock:us-east-1::foundation-model/"
PRO, LITE = "amazon.nova-pro-v1:0:300k", "amazon.nova-lite-v1:0:300k"
CUSTOM = "arn:aws:bedrock:us-east-1:222222222222:custom-model/amazon.nova-pro-v1:0:300k/"


def nothing(data: dict[str, Any]) -> None:
    pass


def model(value: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["provisioned_throughputs"]["assistant"]["model"] = value

    return edit


def environment(**settings: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["environments"]["prod"].update(settings)

    return edit


def alarms(**thresholds: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["environments"]["prod"]["alarms"].update(thresholds)

    return edit


def canary(**analysis: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["families"]["summarizer"]["aliases"]["live"]["canary_analysis"] = analysis

    return edit


def project(data: dict[str, Any]) -> None:
    data["project"] = "beta"


def deprecated(sunset: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["families"]["summarizer"]["versions"]["v1"]["lifecycle"] = {
            "state": "deprecated",
            "sunset": sunset,
            "replacement": "v2",
        }

    return edit


MOVED_FROM = "account 111111111111, region us-east-1"
WEAKER = "a regression must be worse (or last longer) before it rolls back"
LOOSER = "the comparison with the previous version lets a worse new version through"

# name: (base edit, head edit, the exact text plan)
PAIRS: dict[str, tuple[Edit, Edit, list[str]]] = {
    "foundation-model ARN to another model is refused": (
        model(FM_ARN + PRO),
        model(FM_ARN + LITE),
        [
            "prod: throughput assistant will be refused at deploy while its term runs: "
            "refusing to replace committed provisioned throughput acme-prod-assistant "
            f"(ModelId {FM_ARN}{PRO} -> {FM_ARN}{LITE} (a foundation-model throughput cannot "
            "change model)): its OneMonth term runs until its commitment expiry, it cannot be "
            "deleted before then and keeps billing beside the new one; revert the change, or "
            "set allow_replacement: true on this throughput in lifecycle.yaml to buy the new "
            "one anyway",
            f"risk throughput-replacement-refused: prod: assistant: ModelId {FM_ARN}{PRO} -> "
            f"{FM_ARN}{LITE} (a foundation-model throughput cannot change model) replaces a "
            "committed throughput without allow_replacement: the deploy fails and the stack "
            "rolls back",
        ],
    ),
    "a model id to its own ARN is no change": (nothing, model(FM_ARN + PRO), []),
    "a custom model changes in place": (
        model(CUSTOM + "a1b2c3d4e5f6"),
        model(CUSTOM + "f6e5d4c3b2a1"),
        [
            "prod: throughput assistant updated in place: custom model "
            f"{CUSTOM}a1b2c3d4e5f6 -> {CUSTOM}f6e5d4c3b2a1",
        ],
    ),
    "environment moved to another account": (
        environment(account="111111111111", region="us-east-1"),
        environment(account="222222222222", region="us-east-1"),
        [
            f"prod: environment moved: {MOVED_FROM} -> account 222222222222, region "
            "us-east-1: a new stack is created there (every alias anew, every throughput "
            "bought anew); the old stack stays where it is, running and billing, until "
            "destroyed by hand",
            f"risk environment-moved: prod: prod: {MOVED_FROM} -> account 222222222222, "
            "region us-east-1: the old stack keeps running and billing until destroyed by "
            "hand; its callers do not move",
        ],
    ),
    "an environment-agnostic environment given a region": (
        nothing,
        environment(region="eu-west-1"),
        [
            "prod: environment moved: account unset, region unset -> account unset, region "
            "eu-west-1: a new stack is created there (every alias anew, every throughput "
            "bought anew); the old stack stays where it is, running and billing, until "
            "destroyed by hand (unset is the deploying credentials' account or region: if "
            "that is the same place, the stack stays)",
            "risk environment-moved: prod: prod: account unset, region unset -> account "
            "unset, region eu-west-1: the old stack keeps running and billing until "
            "destroyed by hand; its callers do not move",
        ],
    ),
    "alarm e-mails changed": (
        environment(alarm_emails=["a@example.com", "b@example.com"]),
        environment(alarm_emails=["b@example.com", "c@example.com"]),
        ["prod: alarm_emails added c@example.com; removed a@example.com (2 -> 2 addresses)"],
    ),
    "every alarm e-mail removed": (
        environment(alarm_emails=["a@example.com", "b@example.com"]),
        nothing,
        [
            "prod: alarm_emails removed a@example.com, b@example.com (2 -> 0 addresses)",
            "risk alarm-emails-removed: prod: prod: every address removed (a@example.com, "
            "b@example.com): no one is emailed when an alarm fires",
        ],
    ),
    "project renamed": (
        nothing,
        project,
        [
            "prod: project acme -> beta: every SSM discovery path moves from "
            "/bedrock-lifecycle/acme/prod/ to /bedrock-lifecycle/beta/prod/ and every "
            "throughput is renamed acme-prod-* -> beta-prod-*",
            "prod: throughput assistant updated in place: name acme-prod-assistant -> "
            "beta-prod-assistant",
            "risk project-renamed: prod: prod: acme -> beta: callers that discover aliases "
            "under /bedrock-lifecycle/acme/ stop finding them",
        ],
    ),
    "lifecycle watcher window": (
        nothing,
        environment(lifecycle_watcher={"end_of_life_warning_days": 30}),
        ["prod: lifecycle_watcher.end_of_life_warning_days lowered 90 -> 30"],
    ),
    "canary analysis loosened and tightened": (
        nothing,
        canary(min_samples=5, error_rate_tolerance_percent=5, latency_tolerance_percent=10),
        [
            "prod: summarizer/live canary_analysis min_samples lowered 20 -> 5",
            "prod: summarizer/live canary_analysis error_rate_tolerance_percent raised 2 -> 5",
            "prod: summarizer/live canary_analysis latency_tolerance_percent lowered 25 -> 10",
            f"risk canary-analysis-weakened: prod: summarizer/live: min_samples 20 -> 5: {LOOSER}",
            "risk canary-analysis-weakened: prod: summarizer/live: error_rate_tolerance_percent "
            f"2 -> 5: {LOOSER}",
        ],
    ),
    "canary analysis tightened the other way": (
        nothing,
        canary(min_samples=50, latency_tolerance_percent=40),
        [
            "prod: summarizer/live canary_analysis min_samples raised 20 -> 50",
            "prod: summarizer/live canary_analysis latency_tolerance_percent raised 25 -> 40",
            "risk canary-analysis-weakened: prod: summarizer/live: latency_tolerance_percent "
            f"25 -> 40: {LOOSER}",
        ],
    ),
    # summarizer/live declares its own baseline (unchanged); assistant/live gains one.
    "a baseline adds a term to the Regression alarm, not an alarm": (
        nothing,
        alarms(baseline_output_tokens=250),
        [
            "prod: assistant/live Regression alarm term added: output tokens above 2 x 250 "
            "(4 -> 5 terms)",
        ],
    ),
    # assistant/live has no baseline_output_tokens on either side: no term, no line.
    "output tokens factor only where the term exists": (
        nothing,
        alarms(output_tokens_factor=3),
        [
            "prod: summarizer/live alarm output_tokens_factor raised 2 -> 3",
            f"risk alarm-weakened: prod: summarizer/live: output_tokens_factor 2 -> 3: {WEAKER}",
        ],
    ),
    "fewer evaluation periods is weaker": (
        nothing,
        alarms(evaluation_periods=2),
        [
            "prod: summarizer/live alarm evaluation_periods lowered 3 -> 2",
            "prod: assistant/live alarm evaluation_periods lowered 3 -> 2",
            f"risk alarm-weakened: prod: summarizer/live: evaluation_periods 3 -> 2: {WEAKER}",
            f"risk alarm-weakened: prod: assistant/live: evaluation_periods 3 -> 2: {WEAKER}",
        ],
    ),
    "more evaluation periods is not, more datapoints is": (
        nothing,
        alarms(evaluation_periods=5, datapoints_to_alarm=3),
        [
            "prod: summarizer/live alarm evaluation_periods raised 3 -> 5",
            "prod: summarizer/live alarm datapoints_to_alarm raised 2 -> 3",
            "prod: assistant/live alarm evaluation_periods raised 3 -> 5",
            "prod: assistant/live alarm datapoints_to_alarm raised 2 -> 3",
            f"risk alarm-weakened: prod: summarizer/live: datapoints_to_alarm 2 -> 3: {WEAKER}",
            f"risk alarm-weakened: prod: assistant/live: datapoints_to_alarm 2 -> 3: {WEAKER}",
        ],
    ),
    "fewer datapoints is stronger": (
        nothing,
        alarms(datapoints_to_alarm=1),
        [
            "prod: summarizer/live alarm datapoints_to_alarm lowered 2 -> 1",
            "prod: assistant/live alarm datapoints_to_alarm lowered 2 -> 1",
        ],
    ),
    "sunset moved": (
        deprecated("2027-01-01"),
        deprecated("2027-03-01"),
        [
            "prod: version summarizer/v1 deprecation changed: sunset 2027-01-01 -> "
            "2027-03-01, replacement v2",
        ],
    ),
}


def edited(edit: Edit) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    edit(data)
    return data


def run_pair(tmp_path: Path, base_edit: Edit, head_edit: Edit, *args: str) -> int:
    base = write(tmp_path / "base", edited(base_edit))
    head = write(tmp_path / "head", edited(head_edit))
    return main(["plan", str(head), "--base", str(base), "--no-lock", "--today", TODAY, *args])


@pytest.mark.parametrize("name", list(PAIRS))
def test_text_plan_of_each_pair(tmp_path, capsys, name):
    base_edit, head_edit, expected = PAIRS[name]
    assert run_pair(tmp_path, base_edit, head_edit) == 0
    assert capsys.readouterr().out.splitlines() == (expected or ["no lifecycle changes"])


@pytest.mark.parametrize("name", list(PAIRS))
def test_json_plan_of_each_pair(tmp_path, capsys, name):
    base_edit, head_edit, expected = PAIRS[name]
    assert run_pair(tmp_path, base_edit, head_edit, "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    assert doc["changed"] is bool(expected)
    assert doc["base_not_found"] is None
    [prod] = doc["environments"]
    assert [f"prod: {c['text']}" for c in prod["changes"]] == [
        line for line in expected if not line.startswith("risk ")
    ]
    assert [f"risk {r['code']}: prod: {r['object']}: {r['message']}" for r in doc["risks"]] == [
        line for line in expected if line.startswith("risk ")
    ]


# The handler's model ids and ARNs (properties.model_key, Properties.custom_model).
MODELS = [
    PRO,
    FM_ARN + PRO,
    "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/" + LITE,
    "arn:aws:bedrock:eu-central-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    CUSTOM + "a1b2c3d4e5f6",
    "arn:aws:bedrock:us-east-1:222222222222:custom-model/imported/a1b2c3d4e5f6",
    "arn:aws:bedrock:us-east-1:222222222222:provisioned-model/abcdefgh1234",
    "arn:aws:bedrock:us-east-1::foundation-model/",
    "arn:somewhere-else",
]


@pytest.mark.parametrize("value", MODELS)
def test_the_model_is_compared_as_the_handler_compares_it(value):
    properties = load_asset_module("provisioned_throughput", "properties")
    assert model_key(value) == properties.model_key(value)
    parsed = properties.Properties.__new__(properties.Properties)
    object.__setattr__(parsed, "model_id", value)
    assert is_custom_model(value) is parsed.custom_model


def two_environments(data: dict[str, Any]) -> None:
    """A staging environment whose summarizer/live stays on v1 (a Legacy model)."""
    data["environments"]["staging"] = {"rollout": {"strategy": "all_at_once"}}
    data["families"]["assistant"]["aliases"]["live"]["environments"] = ["prod"]
    data["families"]["summarizer"]["aliases"]["live"]["environment_versions"] = {"staging": "v1"}


def two_environments_faster(data: dict[str, Any]) -> None:
    two_environments(data)
    data["environments"]["prod"]["rollout"] = {"strategy": "all_at_once"}


LEGACY_WARNING = (
    "families.summarizer.aliases.live: version 'v1' runs on "
    "anthropic.claude-3-haiku-20240307-v1:0, which Bedrock marks LEGACY (since 2026-08-15, "
    "public extended access from 2027-02-15, end of life 2027-08-15 (262 days)), in "
    "staging; plan the move to an active model (docs/governance.md)"
)


def test_an_unchanged_environment_keeps_its_warnings_in_text_and_markdown(tmp_path, capsys):
    assert run_pair(tmp_path, two_environments, two_environments_faster) == 0
    text = capsys.readouterr().out.splitlines()
    assert "staging: no lifecycle changes" in text
    assert f"staging: warning: {LEGACY_WARNING}" in text
    assert (
        run_pair(tmp_path, two_environments, two_environments_faster, "--format", "markdown") == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[lines.index("### staging (unchanged)") :] == [
        "### staging (unchanged)",
        "",
        "no lifecycle changes",
        "",
        "Lifecycle warnings:",
        "",
        f"- {LEGACY_WARNING}",
    ]


def test_identical_inputs_with_warnings_say_only_no_lifecycle_changes(tmp_path, capsys):
    """As documented: text prints exactly that, Markdown its heading and that; the JSON
    keeps the warnings."""
    assert run_pair(tmp_path, two_environments, two_environments) == 0
    assert capsys.readouterr().out == "no lifecycle changes\n"
    assert run_pair(tmp_path, two_environments, two_environments, "--format", "markdown") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "## Lifecycle plan" and lines[3:] == ["", "no lifecycle changes"]
    assert run_pair(tmp_path, two_environments, two_environments, "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["changed"] is False
    assert doc["environments"][1]["warnings"] == [LEGACY_WARNING]
