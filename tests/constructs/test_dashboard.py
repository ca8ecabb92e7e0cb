"""LifecycleDashboard: eight widgets per alias, pages within CloudWatch's limits (500
widgets, 1 MB of body) at 200 aliases, the first page linking to every other."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Template

from bedrock_lifecycle.config.schema import VersionSpec
from bedrock_lifecycle.constructs.alias_metrics import RouterMetrics
from bedrock_lifecycle.constructs.dashboard import (
    ALIASES_PER_PAGE,
    MAX_BODY_BYTES,
    MAX_WIDGETS,
    WIDGETS_PER_ALIAS,
    AliasPanel,
    LifecycleDashboard,
    search_expression,
)
from bedrock_lifecycle.values import FamilyKind
from bedrock_lifecycle.versions import ModelVersion

NOVA = "amazon.nova-pro-v1:0"


@dataclass
class PanelAlias(RouterMetrics):
    """What the dashboard reads of a ModelAlias (its metric factories are the real ones),
    without the router's resources: 200 of them synthesize in seconds."""

    model_version: ModelVersion
    alias_name: str
    environment_name: str = "prod"
    standby_versions: tuple[ModelVersion, ...] = ()
    target: object = field(default_factory=lambda: SimpleNamespace(model_id=NOVA))

    @property
    def qualified_name(self) -> str:
        return f"{self.model_version.family}/{self.alias_name}"


def version(family: str, label: str, kind: FamilyKind = FamilyKind.CHAT) -> ModelVersion:
    target = {"foundation_model": "amazon.titan-embed-text-v2:0" if kind == "embedding" else NOVA}
    return ModelVersion.from_spec(
        family, label, VersionSpec.model_validate({"target": target}), kind=kind
    )


def panels(count: int, stack: cdk.Stack) -> list[AliasPanel]:
    out = []
    for i in range(count):
        family = f"family-{i // 4:03}"
        alias = PanelAlias(
            version(family, "v2"), f"alias-{i % 4}", standby_versions=(version(family, "v1"),)
        )
        alarm = cloudwatch.Alarm.from_alarm_arn(
            stack, f"Alarm{i}", f"arn:aws:cloudwatch:us-east-1:111111111111:alarm:a{i}"
        )
        out.append(AliasPanel(model_alias=alias, alarms=[alarm], model_ids=[NOVA]))  # type: ignore[arg-type]
    return out


def dashboards(template: dict) -> dict[str, dict]:
    out = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Dashboard":
            continue
        body = resource["Properties"]["DashboardBody"]
        parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
        # Each reference becomes what it is at deploy time at most (a region, an ARN).
        text = "".join(
            p if isinstance(p, str) else "arn:aws:cloudwatch:us-east-1:111111111111:alarm:x" * 2
            for p in parts
        )
        out[resource["Properties"]["DashboardName"]] = {"text": text, "body": json.loads(text)}
    return out


@pytest.fixture(scope="module")
def large() -> dict[str, dict]:
    app = cdk.App()
    stack = cdk.Stack(app, "Large", env=cdk.Environment(account="111111111111", region="us-east-1"))
    LifecycleDashboard(
        stack,
        "Dashboard",
        dashboard_name="bedrock-lifecycle-acme-prod",
        environment="prod",
        panels=panels(200, stack),
        links=[("alias stack 1", "bedrock-lifecycle-acme-prod-aliases1")],
        model_ids=[NOVA],
    )
    return dashboards(Template.from_stack(stack).to_json())


def test_200_aliases_fit_on_pages_within_cloudwatchs_limits(large):
    expected_pages = -(-200 // ALIASES_PER_PAGE)
    assert len(large) == expected_pages == 4
    for name, page in large.items():
        assert len(page["body"]["widgets"]) <= MAX_WIDGETS, name
        assert len(page["text"].encode()) <= MAX_BODY_BYTES, name
    titles = [
        w["properties"]["markdown"]
        for page in large.values()
        for w in page["body"]["widgets"]
        if w["type"] == "text" and w["properties"]["markdown"].startswith("### ")
    ]
    assert len(titles) == 200  # every alias once


def test_the_first_page_links_to_every_other_page_and_the_other_stacks(large):
    first = large["bedrock-lifecycle-acme-prod"]["body"]["widgets"][0]["properties"]["markdown"]
    for name in [*list(large)[1:], "bedrock-lifecycle-acme-prod-aliases1"]:
        assert f"[{name}](#dashboards:name={name})" in first
    for name in list(large)[1:]:
        header = large[name]["body"]["widgets"][0]["properties"]["markdown"]
        assert "(#dashboards:name=bedrock-lifecycle-acme-prod)" in header


def test_one_alias_has_eight_widgets_and_canary_split_by_version():
    app = cdk.App()
    stack = cdk.Stack(app, "One")
    LifecycleDashboard(
        stack, "Dashboard", dashboard_name="d", environment="prod", panels=panels(1, stack)
    )
    (page,) = dashboards(Template.from_stack(stack).to_json()).values()
    widgets = page["body"]["widgets"]
    overview = 2  # title, end-of-life figures (no environment alarms given)
    assert len(widgets) == overview + WIDGETS_PER_ALIAS - 1  # no model figures: 1 fewer
    invocations = next(w for w in widgets if w["properties"].get("title", "").endswith(
        "invocations by version"))  # fmt: skip
    (expression,) = invocations["properties"]["metrics"]
    assert expression[0]["expression"] == (
        "SEARCH('{BedrockLifecycle/Router,Environment,Family,Alias,Version} "
        'Environment="prod" Family="family-000" Alias="alias-0" MetricName="Invocations"\', '
        "'Sum', 60)"
    )
    errors = next(w for w in widgets if "error rate" in w["properties"].get("title", ""))
    labels = [m[0]["label"] for m in errors["properties"]["metrics"] if isinstance(m[0], dict)]
    # The version it serves and the one a rollback returns to, each its own line.
    served, standby = version("family-000", "v2"), version("family-000", "v1")
    assert labels == [f"{v.version_id} server errors %" for v in (served, standby)]


def test_search_values_are_quoted_so_a_name_cannot_widen_the_query():
    expression = search_expression("N", ("A",), "M", {"A": 'x" OR A="y'}, "Sum")
    assert 'A="x\\" OR A=\\"y"' in expression


def test_a_dashboard_name_cloudwatch_would_refuse_is_refused_at_synth():
    stack = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(ValueError, match="dashboard_name must be 1-251 characters"):
        LifecycleDashboard(stack, "D", dashboard_name="has space", environment="e", panels=[])
