"""Operations in the shipped environments: the continuous evaluation's schedules and
alarms, and a dashboard whose every widget reads a series that the router, the gate,
the continuous evaluator or the lifecycle watcher really emits."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match

from bedrock_lifecycle.shared import contract
from tests.support.bedrock_standin import (
    converse_reply,
    embedding_reply,
    error_reply,
)
from tests.support.lambda_assets import load_asset_module
from tests.support.router import harness_for, render_intrinsics

ENVIRONMENTS = ("dev", "staging", "prod")
_SEARCH = re.compile(
    r"SEARCH\('\{([^,}]+),([^}]*)\} (.*) MetricName=\"([^\"]+)\"', '([^']+)', (\d+)\)"
)
_TERM = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
DEPLOYMENT = "arn:aws:bedrock:us-east-1:111111111111:custom-model-deployment/abcdefghijkl"
PROVISIONED = "arn:aws:bedrock:us-east-1:111111111111:provisioned-model/abcdefghijkl"


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def rendered(value: Any) -> Any:
    """CloudFormation's value of a property before deploy: pseudo parameters and joins
    rendered, a provisioned throughput's ARN (GetAtt) and a custom model deployment's
    (Ref) given stand-ins."""
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return PROVISIONED
    if isinstance(value, dict) and set(value) == {"Ref"} and not value["Ref"].startswith("AWS::"):
        return DEPLOYMENT
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        sep, parts = value["Fn::Join"]
        return sep.join(rendered(p) for p in parts)
    return render_intrinsics(value)


def dashboard_widgets(template: dict) -> list[dict]:
    """Every widget of every dashboard of a template (references rendered as text)."""
    widgets = []
    for resource in resources(template, "AWS::CloudWatch::Dashboard").values():
        body = resource["Properties"]["DashboardBody"]
        parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
        text = "".join(p if isinstance(p, str) else "REF" for p in parts)
        widgets += json.loads(text)["widgets"]
    return widgets


def referenced(widgets: list[dict]) -> list[tuple[str, str, tuple[str, ...], dict[str, str]]]:
    """``(namespace, metric, dimension names, fixed values)`` of every metric a widget
    reads: plain metrics and SEARCH schema terms (math over plain metrics is covered by
    its inputs)."""
    out = []
    for widget in widgets:
        if widget["type"] != "metric":
            continue
        for entry in widget["properties"]["metrics"]:
            first = entry[0]
            if isinstance(first, dict):
                expression = first["expression"]
                if expression.startswith("SEARCH("):
                    match = _SEARCH.fullmatch(expression)
                    assert match, expression
                    namespace, names, terms, metric = match.group(1, 2, 3, 4)
                    values = {k: v.replace('\\"', '"') for k, v in _TERM.findall(terms)}
                    out.append((namespace, metric, tuple(names.split(",")), values))
                continue
            plain = [item for item in entry if not isinstance(item, dict)]
            namespace, metric, *pairs = plain
            values = dict(zip(pairs[::2], pairs[1::2], strict=True))
            out.append((namespace, metric, tuple(values), values))
    return out


def emf_series(document: dict) -> list[tuple[str, str, tuple[str, ...], dict[str, str]]]:
    out = []
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for names in directive["Dimensions"]:
            values = {n: str(document[n]) for n in names}
            for metric in directive["Metrics"]:
                out.append((directive["Namespace"], metric["Name"], tuple(names), values))
    return out


def router_series(template: dict, standin) -> list:
    """What every router of the template prints: one success and one server error each."""
    series = []
    for function in resources(template, "AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if "ROUTER_CONFIG" not in variables:
            continue
        config = json.loads(rendered(variables["ROUTER_CONFIG"]))
        harness = harness_for(standin, config)
        embedding = config["kind"] == "embedding"
        dimensions = config.get("embedding", {}).get("dimensions") or 3
        standin.script(
            embedding_reply([0.5] * dimensions) if embedding else converse_reply("fine"),
            error_reply("ModelErrorException", 424),
        )
        request = {"inputText": "x"} if embedding else {
            "messages": [{"role": "user", "content": [{"text": "x"}]}]
        }  # fmt: skip
        harness.invoke(request)
        harness.invoke(request)
        for document in harness.emf:
            series += emf_series(document)
    return series


def gate_series() -> list:
    gate = load_asset_module("evaluation_gate")
    printed = io.StringIO()
    group = {"environment": "E", "family": "F", "alias": "A", "version_id": "V"}
    with contextlib.redirect_stdout(printed):
        gate.publish_pass_rate(group, 1.0)
    return [s for line in printed.getvalue().splitlines() for s in emf_series(json.loads(line))]


def continuous_series() -> list:
    evaluator = load_asset_module("continuous_evaluation")
    target = evaluator.Target("F/A", "F", "A", "fn", None, 1.0, None)
    run = evaluator.AliasRun(
        target, [], 1, results=[evaluator.PromptResult("p", True, 5, 1, [], "V")]
    )
    return [s for d in evaluator.metric_documents("E", run, 0) for s in emf_series(d)]


def watcher_series() -> list:
    watcher = load_asset_module("lifecycle_watcher")
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    states = {"m": watcher.ModelState("m", "LEGACY", now + dt.timedelta(days=9))}
    out = []
    for datum in watcher.model_metrics("E", states, now):
        values = {d["Name"]: d["Value"] for d in datum["Dimensions"]}
        out.append((contract.WATCHER_NAMESPACE, datum["MetricName"], tuple(values), values))
    return out


def router_match(reference, routers) -> bool:
    """A router series of the same alias (every value but Version: a standby version's
    series is the same router's once it serves), metric and dimension set."""
    namespace, metric, names, values = reference
    fixed = {k: v for k, v in values.items() if k != "Version"}
    return any(
        (s[0], s[1], set(s[2])) == (namespace, metric, set(names))
        and all(s[3].get(k) == v for k, v in fixed.items())
        for s in routers
    )


def matches(reference, emitted, placeholders: dict[str, str]) -> bool:
    namespace, metric, names, values = reference
    for e_namespace, e_metric, e_names, e_values in emitted:
        if (e_namespace, e_metric) != (namespace, metric) or set(e_names) != set(names):
            continue
        if all(
            e_values.get(k) == v or placeholders.get(k) == e_values.get(k)
            for k, v in values.items()
        ):
            return True
    return False


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_dashboard_widget_reads_a_series_that_is_really_emitted(
    synthesized, bedrock_standin, environment
):
    template = synthesized.template_json(environment)
    routers = router_series(template, bedrock_standin)
    assert routers, "no router printed a metric"
    # The other emitters run with placeholder values: their names and dimension sets
    # must match, and their values are the placeholders.
    others = gate_series() + continuous_series() + watcher_series()
    references = referenced(dashboard_widgets(template))
    assert len(references) > 20
    placeholder = {"Environment": "E", "Family": "F", "Alias": "A", "Version": "V", "ModelId": "m"}
    missing = [
        reference
        for reference in references
        if not (
            router_match(reference, routers)
            if reference[0] == contract.ROUTER_NAMESPACE
            else matches(reference, others, placeholder)
        )
    ]
    assert missing == []


def test_a_misspelt_metric_on_a_dashboard_is_caught(synthesized, bedrock_standin):
    """The comparison above can fail: a widget reading ``ServerError`` matches nothing."""
    template = synthesized.template_json("dev")
    routers = router_series(template, bedrock_standin)
    (namespace, _metric, names, values) = next(
        r for r in referenced(dashboard_widgets(template)) if r[0] == contract.ROUTER_NAMESPACE
    )
    assert router_match((namespace, "Invocations", names, values), routers)
    assert not router_match((namespace, "ServerError", names, values), routers)
    assert not router_match((namespace, "Invocations", names, {**values, "Alias": "x"}), routers)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_schedule_runs_the_evaluator_with_its_key_and_each_alias_has_a_pass_rate_alarm(
    synthesized, shipped_config, environment
):
    template = synthesized.template(environment)
    raw = synthesized.template_json(environment)
    evaluated = {
        alias.qualified_name: shipped_config.file.families[alias.family].evaluation
        for alias in shipped_config.aliases_for(environment)
        if shipped_config.file.families[alias.family].evaluation is not None
    }
    schedules = {e.continuous.schedule for e in evaluated.values()}
    rules = [
        r for r in resources(raw, "AWS::Events::Rule").values()
        if "continuous evaluation" in r["Properties"].get("Description", "")
    ]  # fmt: skip
    assert {r["Properties"]["ScheduleExpression"] for r in rules} == schedules
    for rule in rules:
        (target,) = rule["Properties"]["Targets"]
        assert json.loads(target["Input"]) == {"schedule": rule["Properties"]["ScheduleExpression"]}
        assert target["Arn"]["Fn::GetAtt"][0].startswith("ContinuousEvaluationFunction")
    for name, evaluation in evaluated.items():
        family, alias = name.split("/")
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": "BedrockLifecycle/Evaluation",
                "MetricName": "ContinuousPassRate",
                "Dimensions": Match.array_equals(
                    [
                        {"Name": "Alias", "Value": alias},
                        {"Name": "Environment", "Value": environment},
                        {"Name": "Family", "Value": family},
                    ]
                ),
                "Statistic": "Minimum",
                "Period": 3600,
                "EvaluationPeriods": 1,
                "Threshold": round(evaluation.pass_rate * 100, 2),
                "ComparisonOperator": "LessThanThreshold",
                "TreatMissingData": "ignore",
            },
        )


def test_the_evaluator_may_invoke_exactly_the_live_aliases_and_logs_to_the_audit_trail(
    synthesized,
):
    raw = synthesized.template_json("prod")
    aliases = sorted(k for k in resources(raw, "AWS::Lambda::Alias"))
    (function_id, function) = next(
        (k, f) for k, f in resources(raw, "AWS::Lambda::Function").items()
        if k.startswith("ContinuousEvaluationFunction")
    )  # fmt: skip
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    invoke = [
        statement
        for policy in resources(raw, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in json.dumps(statement["Action"])
    ]
    (statement,) = invoke
    assert statement["Action"] == "lambda:InvokeFunction"
    assert sorted(r["Ref"] for r in statement["Resource"]) == aliases
    audit_groups = [
        k for k, r in resources(raw, "AWS::Logs::LogGroup").items() if k.startswith("Audit")
    ]
    assert function["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": audit_groups[0]}
    assert function["Properties"]["Timeout"] == 900
    invoke_config = next(iter(resources(raw, "AWS::Lambda::EventInvokeConfig").values()))
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 0
    assert function_id
