"""The AfterAllowTraffic analysis against stubbed CodeDeploy, Lambda and CloudWatch."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from botocore.stub import Stubber

from tests.lambdas.evaluation_gate.codedeploy_stubs import (
    EVENT,
    FUNCTION,
    GROUP,
    stub_report,
    stub_target,
)
from tests.support.lambda_assets import stubbed_clients

NEW, OLD = "v2@0123456789ab", "v1@ba9876543210"
NOW = dt.datetime(2026, 11, 26, 6, 12, 10, tzinfo=dt.UTC)
# Whole minutes around [CREATED, NOW]: 06:00 to 06:13, one 780 s period.
START, END, PERIOD = (
    dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC),
    NOW.replace(minute=13, second=0),
    780,
)
ANALYSIS = {
    "min_samples": 20,
    "error_rate_tolerance_percent": 2.0,
    "latency_tolerance_percent": 25.0,
}
METRICS = {
    "namespace": "BedrockLifecycle/Router",
    "dimensions": {"Environment": "prod", "Family": "summarizer", "Alias": "live"},
    "version_dimension": "Version",
    "invocations": "Invocations",
    "server_errors": "ServerErrors",
    "throttles": "Throttles",
    "latency": "Latency",
}


@contextmanager
def hook_clients():
    """codedeploy, lambda and cloudwatch clients and their Stubbers; every stub must be used."""
    with stubbed_clients("codedeploy", "lambda", "cloudwatch") as pairs:
        yield [part for pair in pairs for part in pair]


@pytest.fixture
def settings(tmp_path: Path) -> str:
    group = {
        "environment": "prod",
        "family": "summarizer",
        "alias": "live",
        "kind": "chat",
        "version_id": NEW,
        "strategy": "canary",
        "analysis": ANALYSIS,
        "metrics": METRICS,
        "previous_version": {"variable": "ROUTER_CONFIG", "key": "version_id"},
    }
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"groups": {GROUP: group}}))
    return str(path)


def stub_previous(stub: Stubber, version_id: str | None = OLD) -> None:
    config = {"version_id": version_id, "family": "summarizer"} if version_id else {}
    stub.add_response(
        "get_function_configuration",
        {
            "FunctionName": FUNCTION,
            "Environment": {"Variables": {"ROUTER_CONFIG": json.dumps(config)}},
        },
        {"FunctionName": FUNCTION, "Qualifier": "6"},  # the version being replaced
    )


def queries(key: str, version_id: str) -> list[dict]:
    dimensions = [
        {"Name": "Alias", "Value": "live"},
        {"Name": "Environment", "Value": "prod"},
        {"Name": "Family", "Value": "summarizer"},
        {"Name": "Version", "Value": version_id},
    ]
    return [
        {
            "Id": f"{key}_{name}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "BedrockLifecycle/Router",
                    "MetricName": metric,
                    "Dimensions": dimensions,
                },
                "Period": PERIOD,
                "Stat": stat,
            },
            "ReturnData": True,
        }
        for name, metric, stat in (
            ("inv", "Invocations", "Sum"),
            ("err", "ServerErrors", "Sum"),
            ("thr", "Throttles", "Sum"),
            ("p99", "Latency", "p99"),
        )
    ]


def stub_metrics(
    stub: Stubber, values: dict[str, list[float]], versions=(("new", NEW), ("old", OLD))
):
    expected_queries = [q for key, vid in versions for q in queries(key, vid)]
    stub.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": query_id, "Values": found, "StatusCode": "Complete"}
                for query_id, found in values.items()
            ]
        },
        {
            "MetricDataQueries": expected_queries,
            "StartTime": START,
            "EndTime": END,
            "ScanBy": "TimestampAscending",
        },
    )


def call(analysis, settings, clients) -> str:
    codedeploy, _, lam, _, cloudwatch, _ = clients
    return analysis.analyse(
        EVENT,
        codedeploy=codedeploy,
        lambda_client=lam,
        cloudwatch=cloudwatch,
        settings_file=settings,
        now=lambda: NOW,
    )


def run(analysis, settings, values, *, expected, previous=OLD, versions=None):
    with hook_clients() as clients:
        _, cd, _, lm, _, cw = clients
        stub_target(cd)
        stub_previous(lm, previous)
        if values is not None:
            stub_metrics(cw, values, *([versions] if versions else []))
        stub_report(cd, expected)
        return call(analysis, settings, clients)


def reports(caplog) -> list[dict]:
    return [vars(r) for r in caplog.records if r.getMessage() == "canary analysis report"]


HEALTHY = {
    "new_inv": [120.0], "new_err": [1.0], "new_thr": [0.0], "new_p99": [2100.0],
    "old_inv": [1080.0], "old_err": [9.0], "old_thr": [2.0], "old_p99": [2000.0],
}  # fmt: skip


def test_passes_when_the_canary_served_enough_and_no_worse(analysis, settings, caplog):
    assert run(analysis, settings, HEALTHY, expected="Succeeded") == "Succeeded"
    (report,) = reports(caplog)
    assert report["reasons"] == []
    assert report["new"]["invocations"] == 120
    assert report["baseline"]["version_id"] == OLD


def test_fails_a_silent_canary(analysis, settings, caplog):
    values = {**HEALTHY, "new_inv": [12.0], "new_err": [], "new_p99": [1900.0]}
    assert run(analysis, settings, values, expected="Failed") == "Failed"
    (report,) = reports(caplog)
    assert report["reasons"] == [
        "silent canary: the new version served 12 requests, min_samples is 20"
    ]


def test_fails_a_canary_that_saw_no_data_at_all(analysis, settings, caplog):
    assert run(analysis, settings, {}, expected="Failed") == "Failed"
    (report,) = reports(caplog)
    assert report["reasons"][0].startswith("silent canary: the new version served 0 requests")


def test_fails_an_error_rate_regression_versus_baseline(analysis, settings, caplog):
    # new: (5 + 1) / 120 = 5 %; old: 11 / 1080 = 1.02 %; tolerance 2 points.
    values = {**HEALTHY, "new_err": [5.0], "new_thr": [1.0]}
    assert run(analysis, settings, values, expected="Failed") == "Failed"
    (report,) = reports(caplog)
    assert report["reasons"] == [
        "error rate 5.00 % is worse than the previous version's 1.02 % by more than 2 points"
    ]


def test_fails_a_latency_regression_versus_baseline(analysis, settings, caplog):
    values = {**HEALTHY, "new_p99": [2600.0]}  # limit 2000 * 1.25 = 2500
    assert run(analysis, settings, values, expected="Failed") == "Failed"
    (report,) = reports(caplog)
    assert report["reasons"] == [
        "p99 latency 2600 ms is worse than the previous version's 2000 ms by more than 25 %"
    ]


def test_latency_within_tolerance_passes(analysis, settings):
    values = {**HEALTHY, "new_p99": [2500.0]}
    assert run(analysis, settings, values, expected="Succeeded") == "Succeeded"


def test_without_a_comparable_previous_version_only_samples_count(analysis, settings, caplog):
    # The previous Lambda version serves the same model version (a router-only change).
    values = {"new_inv": [40.0], "new_err": [30.0], "new_p99": [9000.0]}
    status = run(
        analysis, settings, values, expected="Succeeded", previous=NEW, versions=(("new", NEW),)
    )
    assert status == "Succeeded"
    (report,) = reports(caplog)
    assert report["baseline"] is None and "no baseline" in report["baseline_note"]


def test_an_exception_still_reports_failed(analysis, settings):
    with hook_clients() as clients:
        _, cd, _, lm, _, cw = clients
        stub_target(cd)
        stub_previous(lm)
        cw.add_client_error("get_metric_data", "Throttling", "Rate exceeded")
        stub_report(cd, "Failed")
        status = call(analysis, settings, clients)
    assert status == "Failed"


def test_an_event_without_ids_is_refused_before_any_call(analysis, settings):
    # Any call would raise: nothing is stubbed.
    with (
        hook_clients() as (codedeploy, _, lam, _, cloudwatch, _),
        pytest.raises(ValueError, match=r"LifecycleEventHookExecutionId must be .*, got nothing"),
    ):
        analysis.analyse(
            {"DeploymentId": "d-1"},
            codedeploy=codedeploy,
            lambda_client=lam,
            cloudwatch=cloudwatch,
            settings_file=settings,
        )


def test_metric_pages_are_summed(analysis):
    metrics = METRICS
    expected = {
        "MetricDataQueries": queries("new", NEW),
        "StartTime": START,
        "EndTime": END,
        "ScanBy": "TimestampAscending",
    }
    with stubbed_clients("cloudwatch") as [(cloudwatch, cw)]:
        cw.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [{"Id": "new_inv", "Values": [15.0]}],
                "NextToken": "page-2",
            },
            expected,
        )
        cw.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "new_inv", "Values": [10.0]},
                    {"Id": "new_p99", "Values": [900.0]},
                ]
            },
            {**expected, "NextToken": "page-2"},
        )
        stats = analysis.fetch_stats(cloudwatch, metrics, {"new": NEW}, START, END, PERIOD)
    assert stats["new"].invocations == 25
    assert stats["new"].p99_latency_ms == 900


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Whole minutes that cover the window; at least one minute.
        ("06:00:30", "06:12:10", ("06:00:00", "06:13:00", 780)),
        ("06:00:00", "06:00:00", ("06:00:00", "06:01:00", 60)),
        ("06:59:59", "07:00:01", ("06:59:00", "07:01:00", 120)),
    ],
)
def test_window_is_whole_minutes_as_one_period(analysis, start, end, expected):
    def at(text):
        return dt.datetime.fromisoformat(f"2026-11-26T{text}+00:00")

    first, last, period = analysis.window(at(start), at(end))
    assert (first, last, period) == (at(expected[0]), at(expected[1]), expected[2])
