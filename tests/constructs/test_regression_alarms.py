"""The regression alarms watch exactly what the router emits, and alarm when a term does.

The router is run once (in-process, real botocore against the Bedrock
stand-in on 127.0.0.1) with the ``ROUTER_CONFIG`` the synthesized template
deploys, through a success, a server error and a throttle. Its EMF lines are
the reference: every metric the ``Regression`` alarm reads must match their
namespace, metric names, dimensions and unit, and the periods below a minute
need its high-resolution storage. Nothing here copies the router's constants.

The alarm's expression is evaluated here, one period at a time, by a small
model of metric math (FILL, MAX of an array, arithmetic, no datapoint as none),
so that its value is checked against the six former alarms' conditions.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_lifecycle.constructs import AlarmThresholds
from bedrock_lifecycle.constructs.model_alias import ModelAlias
from bedrock_lifecycle.constructs.regression_alarms import (
    MAX_ALARM_DESCRIPTION,
    MAX_ALARM_EXPRESSIONS,
    MAX_ALARM_METRICS,
    RegressionAlarms,
)
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


def queries(alarm: dict) -> dict[str, dict]:
    """The alarm's ``Metrics`` by id."""
    return {query["Id"]: query for query in alarm["Properties"]["Metrics"]}


def regression(built, resources) -> dict:
    alarms = built.rollouts[STACK].rollouts[ALIAS].regression_alarms
    return resources[logical(built, alarms.regression)]


# Metric id in the Regression alarm -> (router metric, statistic, alias-wide).
READS = {
    "invocations": ("Invocations", "Sum", False),
    "server_errors": ("ServerErrors", "Sum", False),
    "throttles": ("Throttles", "Sum", False),
    "latency": ("Latency", "p99", False),
    "tokens": ("OutputTokens", "Average", False),
    "all_invocations": ("Invocations", "Sum", True),
    "all_server_errors": ("ServerErrors", "Sum", True),
    "all_throttles": ("Throttles", "Sum", True),
}
# Staging keeps the default limits (prod overrides the error rate and latency), and
# summarizer/live declares a baseline of 180 output tokens.
EXPRESSIONS = {
    "error_rate": "(100 * (FILL(server_errors, 0) + FILL(throttles, 0)) / invocations) / 5",
    "throttle_rate": "(100 * FILL(throttles, 0) / invocations) / 10",
    "latency_p99": "latency / 15000",
    "output_tokens": "tokens / 360",  # 2 x the declared baseline of 180
    "alias_error_rate": (
        "(100 * (FILL(all_server_errors, 0) + FILL(all_throttles, 0)) / all_invocations) / 5"
    ),
}
WORST_TERM = (
    "MAX([FILL(error_rate, 0), FILL(throttle_rate, 0), FILL(latency_p99, 0), "
    "FILL(output_tokens, 0), FILL(alias_error_rate, 0)])"
)


def test_the_regression_alarm_reads_exactly_what_the_router_emits(built, resources, emitted):
    stats = {
        query["Id"]: query["MetricStat"]
        for query in regression(built, resources)["Properties"]["Metrics"]
        if "MetricStat" in query
    }
    assert {i: (s["Metric"]["MetricName"], s["Stat"]) for i, s in stats.items()} == {
        i: (name, stat) for i, (name, stat, _wide) in READS.items()
    }
    for metric_id, stat in stats.items():
        metric, (_name, _stat, wide) = stat["Metric"], READS[metric_id]
        # Every version-scoped metric names the version; the alias-wide ones none.
        assert wide != any(d["Name"] == "Version" for d in metric["Dimensions"]), metric_id
        emf = emitted[metric["MetricName"] + ("@alias" if wide else "")]
        assert metric["Namespace"] == emf["namespace"], metric_id
        assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == emf["dimensions"], metric_id
        # An alarm with another unit than the datapoints' sees no data at all.
        assert stat.get("Unit") == emf["unit"], metric_id
        assert stat["Period"] == 10, metric_id
        assert emf["resolution"] == 1, "a 10 s period needs high-resolution metrics"


def test_the_new_version_is_watched_not_the_alias(built, emitted):
    alias = built.aliases[STACK][ALIAS]
    assert emitted["Invocations"]["dimensions"]["Version"] == alias.model_version.version_id


def test_the_regression_alarm_is_the_worst_term_over_its_limit(built, resources):
    alarm = regression(built, resources)
    props, by_id = alarm["Properties"], queries(alarm)
    expressions = {i: q["Expression"] for i, q in by_id.items() if "Expression" in q}
    (returned,) = [i for i, q in by_id.items() if q["ReturnData"]]
    assert expressions.pop(returned) == WORST_TERM
    assert expressions == EXPRESSIONS
    assert (props["Threshold"], props["ComparisonOperator"]) == (1, "GreaterThanThreshold")
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (3, 2)
    assert props["TreatMissingData"] == "notBreaching"
    assert props["AlarmName"] == "Canaries-summarizer-live-regression"
    # CloudWatch's limits of one metric-math alarm: 10 metrics and 10 expressions.
    metrics = [q for q in by_id.values() if "MetricStat" in q]
    assert (len(metrics), len(expressions) + 1) == (8, 6)
    assert len(metrics) <= MAX_ALARM_METRICS == 10
    assert len(expressions) + 1 <= MAX_ALARM_EXPRESSIONS == 10


class Point:
    """One datapoint of metric math, or none (``None``): arithmetic on none is none."""

    def __init__(self, value: float | None) -> None:
        self.value = value

    def _apply(self, other: object, op) -> Point:
        theirs = other.value if isinstance(other, Point) else other
        if self.value is None or theirs is None:
            return Point(None)
        return Point(op(self.value, theirs))

    def __add__(self, other):
        return self._apply(other, lambda a, b: a + b)

    __radd__ = __add__

    def __mul__(self, other):
        return self._apply(other, lambda a, b: a * b)

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self._apply(other, lambda a, b: a / b)

    def __rtruediv__(self, other):
        return Point(other)._apply(self, lambda a, b: a / b)


def evaluate(alarm: dict, datapoints: dict[str, float]) -> float | None:
    """The alarm's value for one period, where ``datapoints`` holds each metric id's
    datapoint (a metric left out has none): FILL, MAX of an array, + * / and ids."""
    by_id = queries(alarm)

    class Ids(dict):
        def __missing__(self, name: str) -> Point:
            query = by_id[name]
            if "MetricStat" in query:
                return Point(datapoints.get(name))
            return eval(query["Expression"], {"__builtins__": {}}, self)

    def fill(point: Point, value: float) -> Point:
        return point if point.value is not None else Point(value)

    def maximum(points: list[Point]) -> Point:
        values = [p.value for p in points if p.value is not None]
        return Point(max(values) if values else None)

    ids = Ids(FILL=fill, MAX=maximum)
    (returned,) = [q for q in by_id.values() if q["ReturnData"]]
    result = eval(returned["Expression"], {"__builtins__": {}}, ids)
    return result.value


@pytest.fixture(scope="module")
def regression_alarm(built, resources) -> dict:
    return regression(built, resources)


HEALTHY = {
    "invocations": 100,
    "server_errors": 1,
    "throttles": 1,
    "latency": 9000,
    "tokens": 200,
    "all_invocations": 1000,
    "all_server_errors": 10,
    "all_throttles": 0,
}


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ({}, 9000 / 15000),  # the worst term: latency at 60 % of its limit
        ({"server_errors": 4}, 1.0),  # 5 % exactly is not above the limit
        ({"server_errors": 5}, 6 / 5),
        ({"throttles": 11}, 12 / 5),  # throttles count in the error rate too
        ({"latency": 15001}, 15001 / 15000),
        ({"tokens": 361}, 361 / 360),
        ({"all_server_errors": 51}, 5.1 / 5),
        # A term without data hides no other: every request failed, so no latency.
        ({"server_errors": 99, "latency": None, "tokens": None}, 100 / 5),
        # The new version is quiet, the version still serving fails.
        ({"invocations": None, "server_errors": None, "throttles": None, "latency": None,
          "tokens": None, "all_server_errors": 200}, 20 / 5),
        # No request at all: 0, below the threshold (as missing data, not breaching).
        (dict.fromkeys(HEALTHY), 0),
    ],
    ids=[
        "healthy", "at-the-limit", "error-rate", "throttles", "latency", "output-tokens",
        "alias-wide", "no-latency", "old-version-failing", "no-data",
    ],
)  # fmt: skip
def test_the_value_is_the_worst_term_over_its_limit(built, resources, change, value):
    points = {k: v for k, v in {**HEALTHY, **change}.items() if v is not None}
    assert evaluate(regression(built, resources), points) == pytest.approx(value)


@settings(max_examples=300, deadline=None)
@given(
    points=st.fixed_dictionaries(
        {},
        optional={
            "invocations": st.integers(1, 10_000),
            "server_errors": st.integers(0, 10_000),
            "throttles": st.integers(0, 10_000),
            "latency": st.integers(1, 240_000),
            "tokens": st.integers(1, 4_096),
            "all_invocations": st.integers(1, 10_000),
            "all_server_errors": st.integers(0, 10_000),
            "all_throttles": st.integers(0, 10_000),
        },
    )
)
def test_it_alarms_exactly_when_one_of_the_former_alarms_would(regression_alarm, points):
    """ErrorRate, ThrottleRate, LatencyP99, OutputTokens and AliasErrorRate, each above
    its threshold with a datapoint (missing data: not breaching): any of them."""

    def rate(count_ids: tuple[str, ...], total: str) -> float | None:
        if total not in points:
            return None
        return 100 * sum(points.get(i, 0) for i in count_ids) / points[total]

    former = [
        (rate(("server_errors", "throttles"), "invocations"), 5),
        (rate(("throttles",), "invocations"), 10),
        (points.get("latency"), 15000),
        (points.get("tokens"), 360),
        (rate(("all_server_errors", "all_throttles"), "all_invocations"), 5),
    ]
    breaching = any(value is not None and value > limit for value, limit in former)
    value = evaluate(regression_alarm, points)
    assert value is not None
    assert (value > 1) is breaching


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


def standalone(shipped_config, tmp_path, **props) -> tuple:
    """RegressionAlarms of the shipped file's first staging alias in a stack of its own:
    (the construct, its stack, the template's resources)."""
    from tests.constructs.test_rollout import first_staging_alias

    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Alone")
    alias = first_staging_alias(shipped_config, stack)
    alarms = RegressionAlarms(stack, "Alarms", model_alias=alias, **props)
    return alarms, stack, Template.from_stack(stack).to_json()["Resources"]


def resource_of(stack: cdk.Stack, resources: dict, alarm) -> dict:
    return resources[stack.resolve(alarm.node.default_child.logical_id)]


def test_the_alias_wide_error_rate_has_a_limit_of_its_own(shipped_config, tmp_path):
    alarms, stack, resources = standalone(
        shipped_config,
        tmp_path,
        thresholds=AlarmThresholds(error_rate_percent=2, alias_error_rate_percent=20),
    )
    expressions = queries(resource_of(stack, resources, alarms.regression))
    assert expressions["error_rate"]["Expression"].endswith("/ invocations) / 2")
    assert expressions["alias_error_rate"]["Expression"].endswith("/ all_invocations) / 20")
    assert {t.id: t.limit for t in alarms.terms} == {
        "error_rate": 2,
        "throttle_rate": 10,
        "latency_p99": 15000,
        "alias_error_rate": 20,
    }


def test_without_baseline_nor_all_versions_three_terms_remain(shipped_config, tmp_path):
    alarms, stack, resources = standalone(
        shipped_config, tmp_path, watch_all_versions=False, thresholds=AlarmThresholds()
    )
    by_id = queries(resource_of(stack, resources, alarms.regression))
    (returned,) = [q for q in by_id.values() if q["ReturnData"]]
    assert returned["Expression"] == (
        "MAX([FILL(error_rate, 0), FILL(throttle_rate, 0), FILL(latency_p99, 0)])"
    )
    assert {i for i, q in by_id.items() if "MetricStat" in q} == {
        "invocations",
        "server_errors",
        "throttles",
        "latency",
    }
    assert [t.id for t in alarms.terms] == ["error_rate", "throttle_rate", "latency_p99"]
    assert alarms.alarms == (alarms.regression, alarms.lambda_errors)
    assert len(Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")) == 2


@pytest.mark.parametrize("period", [30, 60])
def test_every_router_metric_uses_the_period_lambda_errors_60_s(shipped_config, tmp_path, period):
    alarms, stack, resources = standalone(
        shipped_config,
        tmp_path,
        thresholds=AlarmThresholds(period_seconds=period, baseline_output_tokens=100),
    )
    stats = [
        q["MetricStat"]
        for q in resource_of(stack, resources, alarms.regression)["Properties"]["Metrics"]
        if "MetricStat" in q
    ]
    assert len(stats) == 8
    assert {s["Period"] for s in stats} == {period}
    assert resource_of(stack, resources, alarms.lambda_errors)["Properties"]["Period"] == 60


def test_the_description_lists_every_term_with_its_limit(built, resources):
    description = regression(built, resources)["Properties"]["AlarmDescription"]
    assert description.startswith(
        "summarizer/live: ALARM when the largest of these terms (each its value over its "
        "limit) is above 1 in 2 of 3 periods of 10 s. "
    )
    for term, limit in [
        ("error_rate", "limit 5 %"),
        ("throttle_rate", "limit 10 %"),
        ("latency_p99", "limit 15000 ms"),
        ("output_tokens", "2 x the declared baseline of 180: a cost regression), limit 360 tokens"),
        ("alias_error_rate", "limit 5 %"),
    ]:
        (line,) = [
            part
            for part in description.split("; ")
            if part.rsplit("s. ", 1)[-1].startswith(f"{term}: ")
        ]
        assert limit in line, term
    assert "every version the alias serves" in description
    assert description.endswith(
        "Which term breached: docs/runbook.md. While a rollout runs, ALARM makes CodeDeploy "
        "roll the alias back (docs/rollouts.md)."
    )
    assert len(description) <= MAX_ALARM_DESCRIPTION == 1024


def test_the_longest_description_fits_cloudwatch(shipped_config, tmp_path):
    from bedrock_lifecycle.versions import ModelVersion
    from tests.constructs.rollout_fixtures import DEPLOYMENT_ARN

    spec = shipped_config.aliases_for("staging")[0]
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Long")
    alias = ModelAlias(
        stack,
        "Alias",
        model_version=ModelVersion.from_spec(
            "f" * 32,
            spec.version_label,
            spec.version,
            deployment_arn=DEPLOYMENT_ARN if spec.version.target.custom_model else None,
        ),
        alias_name="a" * 32,
        environment="staging",
    )
    thresholds = AlarmThresholds(
        error_rate_percent=1 / 3,
        alias_error_rate_percent=2 / 3,
        throttle_rate_percent=1 / 7,
        output_tokens_factor=1 + 1 / 3,
        baseline_output_tokens=100_001 // 7,
        p99_latency_ms=239_999,
        evaluation_periods=30,
        datapoints_to_alarm=30,
    )
    alarms = RegressionAlarms(stack, "Alarms", model_alias=alias, thresholds=thresholds)
    props = Template.from_stack(stack).to_json()["Resources"]
    description = resource_of(stack, props, alarms.regression)["Properties"]["AlarmDescription"]
    assert len(description) <= MAX_ALARM_DESCRIPTION
    # Limits are plain decimals, as metric math reads them.
    assert "e-" not in description


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("MAX_ALARM_METRICS", 7, r"would read 8 metrics in 6 expressions; CloudWatch allows"),
        ("MAX_ALARM_EXPRESSIONS", 5, r"would read 8 metrics in 6 expressions; CloudWatch allows"),
    ],
)
def test_more_than_cloudwatch_allows_in_one_alarm_is_refused(
    shipped_config, tmp_path, monkeypatch, limit, value, message
):
    from bedrock_lifecycle.constructs import regression_alarms

    monkeypatch.setattr(regression_alarms, limit, value)
    with pytest.raises(ValueError, match=message):
        standalone(shipped_config, tmp_path, thresholds=AlarmThresholds(baseline_output_tokens=9))


def test_one_term_makes_an_alarm_of_your_own(shipped_config, tmp_path):
    """What docs/extending.md shows: one term, its own alarm at 1 (= its limit)."""
    from aws_cdk import aws_cloudwatch as cloudwatch

    from tests.constructs.test_rollout import first_staging_alias

    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Own")
    alarms = RegressionAlarms(
        stack, "Alarms", model_alias=first_staging_alias(shipped_config, stack)
    )
    (latency,) = [t for t in alarms.terms if t.id == "latency_p99"]
    assert (latency.limit, latency.unit, latency.all_versions) == (15000, "ms", False)
    own = cloudwatch.Alarm(
        stack, "Mine", metric=latency.normalised, threshold=1, evaluation_periods=1
    )
    props = Template.from_stack(stack).to_json()["Resources"]
    metrics = resource_of(stack, props, own)["Properties"]["Metrics"]
    assert [q.get("Expression") for q in metrics if q["ReturnData"]] == ["latency / 15000"]
    assert [q["MetricStat"]["Stat"] for q in metrics if "MetricStat" in q] == ["p99"]


@pytest.mark.parametrize(
    "name", ["error_rate", "latency_p99", "throttle_rate", "output_tokens", "alias_error_rate"]
)
def test_a_removed_alarm_attribute_names_its_term(built, name):
    alarms = built.rollouts[STACK].rollouts[ALIAS].regression_alarms
    with pytest.raises(AttributeError, match=rf"now the term '{name}' of the one alarm"):
        getattr(alarms, name)
    assert name in {t.id for t in alarms.terms}
    with pytest.raises(AttributeError, match="has no attribute 'errror_rate'"):
        alarms.errror_rate  # noqa: B018


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


def test_the_regression_alarm_stops_a_rollout_that_hurts_the_serving_version(built, resources):
    """Its alias-wide term watches every version; the alarm is in the deployment group,
    notifies the topic and is OK on a quiet alias."""
    rollout = built.rollouts[STACK].rollouts[ALIAS]
    alarm = rollout.regression_alarms.regression
    props = resources[logical(built, alarm)]["Properties"]
    # No request in a period is no failed caller: OK, never INSUFFICIENT_DATA that
    # neither stops a rollout nor notifies anyone.
    assert props["TreatMissingData"] == "notBreaching"
    stack = built.stacks[STACK]
    topic = stack.resolve(stack.node.find_child("AlarmTopic").topic.topic_arn)
    assert props["AlarmActions"] == props["OKActions"] == [topic]
    group = resources[logical(built, rollout.deployment_group)]["Properties"]
    assert group["AlarmConfiguration"]["Alarms"] == [
        {"Name": {"Ref": logical(built, alarm)}},
        {"Name": {"Ref": logical(built, rollout.regression_alarms.lambda_errors)}},
    ]
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
    dimensions = {
        d["Name"]: d["Value"]
        for metric_id in ("all_invocations", "all_server_errors", "all_throttles")
        for d in queries(resources[logical(built, alarm)])[metric_id]["MetricStat"]["Metric"][
            "Dimensions"
        ]
    }
    assert dimensions == {"Environment": "staging", "Family": "summarizer", "Alias": "live"}
