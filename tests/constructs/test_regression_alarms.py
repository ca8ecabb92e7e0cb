"""The regression alarms watch exactly what the router emits.

The router is run once (in-process, real botocore against the Bedrock
stand-in on 127.0.0.1) with the ``ROUTER_CONFIG`` the synthesized template
deploys, through a success, a server error and a throttle. Its EMF lines are
the reference: every alarm's namespace, metric names, dimensions and unit
must match them, and the periods below a minute need its high-resolution
storage. Nothing here copies the router's constants.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from tests.constructs.rollout_fixtures import rollout_app_once
from tests.support.bedrock_standin import converse_reply, error_reply, shared_standin
from tests.support.router import harness_for, render_intrinsics

STACK = "Canaries"
ALIAS = "summarizer/live"


@pytest.fixture(scope="module")
def built(shipped_config, tmp_path_factory):
    return rollout_app_once(shipped_config, tmp_path_factory)


@pytest.fixture(scope="module")
def resources(built) -> dict:
    return built.templates[STACK].to_json()["Resources"]


def logical(built, construct) -> str:
    stack = built.stacks[STACK]
    return stack.resolve(construct.node.default_child.logical_id)


@pytest.fixture
def standin():
    """The process's Bedrock stand-in, emptied before and after the test."""
    server = shared_standin()
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def emitted(built, resources, standin) -> dict[str, dict]:
    """Metric name -> namespace, dimensions, unit and resolution, as the router printed them.

    The alias-wide copies (no Version dimension) are keyed ``<name>@alias``.
    """
    alias = built.aliases[STACK][ALIAS]
    function = resources[logical(built, alias.function)]
    config = render_intrinsics(function["Properties"]["Environment"]["Variables"]["ROUTER_CONFIG"])
    harness = harness_for(
        standin,
        json.loads(config),
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    standin.script(
        converse_reply("fine", output_tokens=40),
        error_reply("InternalServerException", 500),
        error_reply("ThrottlingException", 429),
    )
    request = {"messages": [{"role": "user", "content": [{"text": "Ticket #1"}]}]}
    for n in range(3):
        harness.invoke(request, request_id=f"req-{n}")
    assert standin.pending == 0
    metrics: dict[str, dict] = {}
    for document in harness.emf:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            (dimension_set,) = directive["Dimensions"]
            for metric in directive["Metrics"]:
                key = metric["Name"] if "Version" in dimension_set else f"{metric['Name']}@alias"
                metrics[key] = {
                    "namespace": directive["Namespace"],
                    "dimensions": {name: document[name] for name in dimension_set},
                    "unit": metric.get("Unit"),
                    "resolution": metric.get("StorageResolution", 60),
                }
    return metrics


def metric_stats(alarm: dict) -> list[tuple[dict, str, int, str | None]]:
    """(metric, statistic, period, unit) of every metric an alarm reads."""
    props = alarm["Properties"]
    if "Metrics" in props:
        return [
            (
                q["MetricStat"]["Metric"],
                q["MetricStat"]["Stat"],
                q["MetricStat"]["Period"],
                q["MetricStat"].get("Unit"),
            )
            for q in props["Metrics"]
            if "MetricStat" in q
        ]
    metric = {
        "Namespace": props["Namespace"],
        "MetricName": props["MetricName"],
        "Dimensions": props["Dimensions"],
    }
    statistic = props.get("Statistic", props.get("ExtendedStatistic"))
    return [(metric, statistic, props["Period"], props.get("Unit"))]


def router_alarms(built, resources) -> dict[str, dict]:
    alarms = built.rollouts[STACK].rollouts[ALIAS].regression_alarms
    named = {
        "ErrorRate": alarms.error_rate,
        "LatencyP99": alarms.latency_p99,
        "ThrottleRate": alarms.throttle_rate,
        "OutputTokens": alarms.output_tokens,
        "AliasErrorRate": alarms.alias_error_rate,
    }
    return {name: resources[logical(built, alarm)] for name, alarm in named.items()}


def test_router_alarms_read_exactly_what_the_router_emits(built, resources, emitted):
    expected_stats = {
        "ErrorRate": {"Invocations": "Sum", "ServerErrors": "Sum", "Throttles": "Sum"},
        "LatencyP99": {"Latency": "p99"},
        "ThrottleRate": {"Invocations": "Sum", "Throttles": "Sum"},
        "OutputTokens": {"OutputTokens": "Average"},
        "AliasErrorRate": {"Invocations": "Sum", "ServerErrors": "Sum", "Throttles": "Sum"},
    }
    for name, alarm in router_alarms(built, resources).items():
        stats = metric_stats(alarm)
        assert {m["MetricName"]: s for m, s, _, _ in stats} == expected_stats[name], name
        for metric, _stat, period, unit in stats:
            # Every version-scoped alarm names the version; the alias-wide one none.
            wide = name == "AliasErrorRate"
            assert wide != any(d["Name"] == "Version" for d in metric["Dimensions"]), name
            emf = emitted[metric["MetricName"] + ("@alias" if wide else "")]
            assert metric["Namespace"] == emf["namespace"], name
            assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == emf["dimensions"], name
            # An alarm with another unit than the datapoints' sees no data at all.
            assert unit == emf["unit"], name
            assert period == 10
            assert emf["resolution"] == 1, "a 10 s period needs high-resolution metrics"


def test_the_new_version_is_watched_not_the_alias(built, emitted):
    alias = built.aliases[STACK][ALIAS]
    assert emitted["Invocations"]["dimensions"]["Version"] == alias.model_version.version_id


def test_error_and_throttle_rates_are_percentages_of_invocations(built, resources):
    alarms = router_alarms(built, resources)
    expressions = {
        name: next(
            q["Expression"] for q in alarms[name]["Properties"]["Metrics"] if "Expression" in q
        )
        for name in ("ErrorRate", "ThrottleRate", "AliasErrorRate")
    }
    ids = {
        name: {
            q["Id"]: q["MetricStat"]["Metric"]["MetricName"]
            for q in alarms[name]["Properties"]["Metrics"]
            if "MetricStat" in q
        }
        for name in ("ErrorRate", "ThrottleRate", "AliasErrorRate")
    }
    assert (
        ids["ErrorRate"]
        == ids["AliasErrorRate"]
        == {
            "invocations": "Invocations",
            "errors": "ServerErrors",
            "throttles": "Throttles",
        }
    )
    assert expressions["AliasErrorRate"] == expressions["ErrorRate"]
    assert expressions["ErrorRate"] == "100 * (FILL(errors, 0) + FILL(throttles, 0)) / invocations"
    assert expressions["ThrottleRate"] == "100 * FILL(throttles, 0) / invocations"
    # prod overrides the error rate and latency; staging (this stack) keeps the defaults.
    thresholds = {name: a["Properties"]["Threshold"] for name, a in alarms.items()}
    assert thresholds == {
        "ErrorRate": 5,
        "LatencyP99": 15000,
        "ThrottleRate": 10,
        "OutputTokens": 360,  # 2 x the declared baseline of 180
        "AliasErrorRate": 5,  # the same limit, across every version the alias serves
    }
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (3, 2)
        assert props["ComparisonOperator"] == "GreaterThanThreshold"


def test_lambda_errors_alarm_watches_every_version_behind_the_alias(built, resources):
    """A crash of the version still serving during a canary stops the rollout too."""
    stack = built.stacks[STACK]
    alias = built.aliases[STACK][ALIAS]
    alarm = built.rollouts[STACK].rollouts[ALIAS].regression_alarms.lambda_errors
    props = resources[logical(built, alarm)]["Properties"]
    function_name = stack.resolve(alias.function.function_name)
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (
        "AWS/Lambda",
        "Errors",
        "Sum",
    )
    # No ExecutedVersion: Lambda's per-alias metric counts every version it routes to.
    assert props["Dimensions"] == [
        {"Name": "FunctionName", "Value": function_name},
        {"Name": "Resource", "Value": {"Fn::Join": ["", [function_name, ":live"]]}},
    ]
    assert props["Period"] == 60  # Lambda's own metrics exist per minute
    assert (props["Threshold"], props["ComparisonOperator"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
    )


def test_the_alias_wide_error_rate_has_a_threshold_of_its_own(shipped_config, tmp_path):
    from bedrock_lifecycle.constructs.regression_alarms import RegressionAlarms
    from bedrock_lifecycle.values import AlarmThresholds
    from tests.constructs.test_rollout import first_staging_alias

    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Wide")
    alias = first_staging_alias(shipped_config, stack)
    alarms = RegressionAlarms(
        stack,
        "Alarms",
        model_alias=alias,
        thresholds=AlarmThresholds(error_rate_percent=2, alias_error_rate_percent=20),
    )
    template = Template.from_stack(stack).to_json()["Resources"]
    threshold = {
        name: template[stack.resolve(a.node.default_child.logical_id)]["Properties"]["Threshold"]
        for name, a in (("version", alarms.error_rate), ("alias", alarms.alias_error_rate))
    }
    assert threshold == {"version": 2, "alias": 20}


def test_alarms_do_not_reference_the_deployment_group(built, resources):
    # A reference from an alarm to the group would be a dependency cycle (group -> alarm).
    group = logical(built, built.rollouts[STACK].rollouts[ALIAS].deployment_group)
    alarms = {k: v for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms
    assert all(group not in str(alarm) for alarm in alarms.values())


def test_canary_analysis_queries_what_the_router_emits(built, emitted):
    folder = built.rollouts[STACK].hooks.settings_folder
    settings = json.loads((folder / "rollout/settings.json").read_text())
    metrics = settings["groups"]["summarizer.live"]["metrics"]
    for key in ("invocations", "server_errors", "throttles", "latency"):
        emf = emitted[metrics[key]]
        assert metrics["namespace"] == emf["namespace"]
        version = emf["dimensions"][metrics["version_dimension"]]
        assert {**metrics["dimensions"], metrics["version_dimension"]: version} == emf["dimensions"]
    assert settings["groups"]["summarizer.live"]["previous_version"] == {
        "variable": "ROUTER_CONFIG",
        "key": "version_id",
    }


def test_the_alias_wide_alarm_stops_a_rollout_that_hurts_the_serving_version(built, resources):
    """It watches every version, is in the deployment group, and is OK on a quiet alias."""
    rollout = built.rollouts[STACK].rollouts[ALIAS]
    alarm = rollout.regression_alarms.alias_error_rate
    props = resources[logical(built, alarm)]["Properties"]
    # No request in a period is no failed caller: OK, never INSUFFICIENT_DATA that
    # neither stops a rollout nor notifies anyone.
    assert props["TreatMissingData"] == "notBreaching"
    stack = built.stacks[STACK]
    topic = stack.resolve(stack.node.find_child("AlarmTopic").topic.topic_arn)
    assert props["AlarmActions"] == [topic]
    group = resources[logical(built, rollout.deployment_group)]["Properties"]
    assert {"Name": {"Ref": logical(built, alarm)}} in group["AlarmConfiguration"]["Alarms"]
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
    dimensions = {
        d["Name"]: d["Value"]
        for query in props["Metrics"]
        if "MetricStat" in query
        for d in query["MetricStat"]["Metric"]["Dimensions"]
    }
    assert dimensions == {"Environment": "staging", "Family": "summarizer", "Alias": "live"}
