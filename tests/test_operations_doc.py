"""docs/operations.md stays true: its cost and token tables are what the synthesized
shipped templates and lifecycle.yaml give, its alarm table names every kind of alarm
the stacks create, and its dashboard picture is a render of the prod dashboard."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from PIL import Image

from tests.conftest import ROOT
from tools import cost_at_rest, dashboard_picture

DOC = ROOT / "docs" / "operations.md"
PICTURE = ROOT / "docs" / "images" / "dashboard-prod.png"
# Every alarm's logical id, by the name the doc's alarm table gives its kind.
ALARM_KINDS = {
    "Regression": r"Rollouts\w+AlarmsRegression",
    "LambdaErrors": r"Rollouts\w+AlarmsLambdaErrors",
    "ContinuousPassRate": r"Aliases\w+ContinuousPassRate",
    "EvaluatorErrors": r"ContinuousEvaluationEvaluatorErrors",
    "LegacyInvocations": r"LifecycleWatcherLegacyInvocations\w+",
    "Legacy": r"LifecycleWatcherLegacy\w+",
    "EndOfLife": r"LifecycleWatcherEndOfLife\w+",
    "WatcherErrors": r"LifecycleWatcherWatcherErrors",
}


def block(text: str, begin: str, end: str) -> str:
    return text[text.index(begin) + len(begin) : text.index(end)].strip()


@pytest.fixture(scope="module")
def templates(synthesized):
    return cost_at_rest.environment_templates(
        synthesized.outdir, synthesized.config.file.environments
    )


def test_the_cost_table_is_counted_from_the_templates(templates) -> None:
    doc = DOC.read_text(encoding="utf-8")
    shown = block(doc, cost_at_rest.BEGIN_COSTS, cost_at_rest.END_COSTS)
    assert shown == cost_at_rest.render_costs(templates), "run: python -m tools.cost_at_rest"


def test_the_token_table_is_the_shipped_files(synthesized) -> None:
    doc = DOC.read_text(encoding="utf-8")
    shown = block(doc, cost_at_rest.BEGIN_TOKENS, cost_at_rest.END_TOKENS)
    assert shown == cost_at_rest.render_tokens(synthesized.config)


def test_every_alarm_is_explained(templates) -> None:
    doc = DOC.read_text(encoding="utf-8")
    table = doc[doc.index("## The alarms and what to do") : doc.index("## Cost at rest")]
    for name in ALARM_KINDS:
        assert f"| `{name}`" in table, name
    for env, stacks in templates.items():
        for template in stacks:
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] != "AWS::CloudWatch::Alarm":
                    continue
                assert any(
                    re.fullmatch(f"{p}[0-9A-F]{{8}}", logical_id) for p in ALARM_KINDS.values()
                ), f"{env}: {logical_id} is a kind of alarm docs/operations.md does not explain"


def test_the_counts_follow_the_resources() -> None:
    """Each billed item is counted from its own resource type and property."""
    high = {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": 10}}
    math = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "Metrics": [
                {"Id": "e", "Expression": "a / b"},
                {"Id": "a", "MetricStat": {"Period": 60}},
                {"Id": "b", "MetricStat": {"Period": 60}},
            ]
        },
    }
    endpoint = {
        "Type": "AWS::EC2::VPCEndpoint",
        "Properties": {"VpcEndpointType": "Interface", "SubnetIds": ["s-1", "s-2", "s-3"]},
    }
    gateway = {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Gateway"}}
    template = {"Resources": {"A": high, "B": math, "C": endpoint, "D": gateway}}
    rows = {r.item.split(" (")[0]: r for r in cost_at_rest.cost_rows({"e": [template]})}
    assert rows["High-resolution alarm metrics"].counts == (1,)
    assert rows["Standard-resolution alarm metrics"].counts == (2,)
    assert rows["Interface VPC endpoints, per Availability Zone"].monthly == (3 * 7.3,)


@pytest.mark.parametrize(
    ("schedule", "runs"),
    [
        ("rate(1 day)", 30),
        ("rate(6 hours)", 120),
        ("cron(0 6 * * ? *)", 30),
        ("cron(15 */6 * * ? *)", 120),
        ("cron(0 6,18 ? * * *)", 60),
        ("cron(0 6 ? * MON-FRI *)", None),
    ],
)
def test_runs_a_month(schedule: str, runs: int | None) -> None:
    assert cost_at_rest.runs_per_month(schedule) == runs


def test_the_picture_is_a_render_of_the_prod_dashboard(synthesized) -> None:
    env = synthesized.config.file.environments["prod"]
    template = synthesized.template_json("prod")
    (body,) = dashboard_picture.dashboard_bodies(template, env.region, env.account)
    days = dashboard_picture.days_until_end_of_life(dt.date(2026, 12, 3))
    image, drawn = dashboard_picture.render(body, days)
    assert drawn == len(body["widgets"])
    # Same layout as the committed picture: re-render it after a change of the dashboard
    # (python -m tools.dashboard_picture --env prod, after make synth).
    with Image.open(PICTURE) as committed:
        assert committed.size == image.size
    assert "images/dashboard-prod.png" in DOC.read_text(encoding="utf-8")
