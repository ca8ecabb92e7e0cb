"""AfterAllowTraffic hook: the new version must have served, and served no worse.

CodeDeploy calls this function once all traffic is on the new version. It
reads the router's own metrics (CloudWatch ``GetMetricData``, Version
dimension) for the rollout window, from the deployment's creation until now,
and fails the deployment when

- the new version served fewer than ``min_samples`` requests (a silent canary:
  alarms that never left INSUFFICIENT_DATA or OK for lack of traffic do not
  roll anything back), or
- its error rate (server errors and throttles over invocations) is worse than
  the previous version's by more than ``error_rate_tolerance_percent``
  percentage points, or
- its p99 latency is worse than the previous version's by more than
  ``latency_tolerance_percent`` percent.

Without a baseline (the previous version served nothing in the window, or
both Lambda versions serve the same model version id) only the sample count is
checked. It reports to CodeDeploy on every path.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import boto3
import hook as hooks
from aws_lambda_powertools import Logger
from hook import FAILED, SUCCEEDED, DeploymentTarget, HookEvent

logger = Logger()


@dataclass(frozen=True)
class VersionStats:
    """What one model version did during the window."""

    version_id: str
    invocations: float
    server_errors: float
    throttles: float
    p99_latency_ms: float | None

    @property
    def error_rate_percent(self) -> float | None:
        if self.invocations <= 0:
            return None
        return 100.0 * (self.server_errors + self.throttles) / self.invocations


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def window(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime, int]:
    """Whole minutes covering [start, end]: one period, so p99 is over the whole window."""
    first = start.replace(second=0, microsecond=0)
    minutes = max(1, math.ceil((end - first).total_seconds() / 60))
    return first, first + dt.timedelta(minutes=minutes), minutes * 60


def previous_version_id(
    lambda_client: Any, target: DeploymentTarget, source: dict[str, str]
) -> str | None:
    """The model version id the previous Lambda version serves.

    The router's configuration is a JSON environment variable of each Lambda
    version (``source["variable"]``, key ``source["key"]``); a version that
    does not carry one has no comparable metrics.
    """
    config = lambda_client.get_function_configuration(
        FunctionName=target.function_name, Qualifier=target.current_version
    )
    variables = (config.get("Environment") or {}).get("Variables") or {}
    try:
        value = json.loads(variables[source["variable"]])[source["key"]]
    except (KeyError, TypeError, ValueError):
        return None
    return value if isinstance(value, str) and value else None


def metric_queries(metrics: dict[str, Any], version_id: str, key: str, period: int) -> list[dict]:
    """GetMetricData queries of one version: three sums and the p99 latency."""
    dimensions = [{"Name": k, "Value": v} for k, v in sorted(metrics["dimensions"].items())]
    dimensions.append({"Name": metrics["version_dimension"], "Value": version_id})

    def query(name: str, metric: str, stat: str) -> dict:
        return {
            "Id": f"{key}_{name}",
            "MetricStat": {
                "Metric": {
                    "Namespace": metrics["namespace"],
                    "MetricName": metrics[metric],
                    "Dimensions": dimensions,
                },
                "Period": period,
                "Stat": stat,
            },
            "ReturnData": True,
        }

    return [
        query("inv", "invocations", "Sum"),
        query("err", "server_errors", "Sum"),
        query("thr", "throttles", "Sum"),
        query("p99", "latency", "p99"),
    ]


def fetch_stats(
    cloudwatch: Any,
    metrics: dict[str, Any],
    versions: dict[str, str],
    start: dt.datetime,
    end: dt.datetime,
    period: int,
) -> dict[str, VersionStats]:
    """One GetMetricData call for every version in ``versions`` (query key -> version id)."""
    queries = [
        q for key, vid in versions.items() for q in metric_queries(metrics, vid, key, period)
    ]
    values: dict[str, list[float]] = {}
    kwargs: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    while True:
        page = cloudwatch.get_metric_data(**kwargs)
        for result in page["MetricDataResults"]:
            values.setdefault(result["Id"], []).extend(result.get("Values", []))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]

    def total(query_id: str) -> float:
        return float(sum(values.get(query_id, [])))

    def p99(query_id: str) -> float | None:
        found = values.get(query_id) or []
        return float(max(found)) if found else None

    return {
        key: VersionStats(
            vid, total(f"{key}_inv"), total(f"{key}_err"), total(f"{key}_thr"), p99(f"{key}_p99")
        )
        for key, vid in versions.items()
    }


def verdict(
    new: VersionStats, baseline: VersionStats | None, analysis: dict[str, Any]
) -> tuple[str, list[str]]:
    """``Succeeded`` or ``Failed`` with every reason."""
    reasons = []
    min_samples = int(analysis["min_samples"])
    if new.invocations < min_samples:
        reasons.append(
            f"silent canary: the new version served {int(new.invocations)} requests, "
            f"min_samples is {min_samples}"
        )
    if baseline is not None and baseline.invocations > 0 and new.invocations > 0:
        tolerance = float(analysis["error_rate_tolerance_percent"])
        new_rate, base_rate = new.error_rate_percent, baseline.error_rate_percent
        assert new_rate is not None and base_rate is not None
        if new_rate > base_rate + tolerance:
            reasons.append(
                f"error rate {new_rate:.2f} % is worse than the previous version's "
                f"{base_rate:.2f} % by more than {tolerance:g} points"
            )
        latency_tolerance = float(analysis["latency_tolerance_percent"])
        if new.p99_latency_ms is not None and baseline.p99_latency_ms is not None:
            limit = baseline.p99_latency_ms * (1 + latency_tolerance / 100)
            if new.p99_latency_ms > limit:
                reasons.append(
                    f"p99 latency {new.p99_latency_ms:.0f} ms is worse than the previous "
                    f"version's {baseline.p99_latency_ms:.0f} ms by more than "
                    f"{latency_tolerance:g} %"
                )
    return (FAILED if reasons else SUCCEEDED), reasons


def analyse(
    event: object,
    *,
    codedeploy: Any,
    lambda_client: Any,
    cloudwatch: Any,
    settings_file: str | None = None,
    now: Callable[[], dt.datetime] = utc_now,
) -> str:
    """Analyse one deployment's canary window and report the verdict. Returns the status sent."""
    return hooks.run_and_report(
        event,
        codedeploy,
        lambda hook: _analyse(hook, codedeploy, lambda_client, cloudwatch, settings_file, now),
        logger,
    )


def _analyse(
    hook: HookEvent,
    codedeploy: Any,
    lambda_client: Any,
    cloudwatch: Any,
    settings_file: str | None,
    now: Callable[[], dt.datetime],
) -> str:
    _, target, group = hooks.deployment_settings(codedeploy, hook, settings_file)
    if group.get("strategy") == "all_at_once":
        # Not attached to all-at-once groups by the construct; kept safe anyway.
        logger.info("all at once: no canary window to analyse", extra={"group": group})
        return SUCCEEDED
    new_id = group["version_id"]
    previous_id = previous_version_id(lambda_client, target, group["previous_version"])
    versions = {"new": new_id}
    if previous_id is not None and previous_id != new_id:
        versions["old"] = previous_id
    end = now()
    created = target.created if target.created is not None else end - dt.timedelta(hours=1)
    start, end, period = window(created, end)
    stats = fetch_stats(cloudwatch, group["metrics"], versions, start, end, period)
    baseline = stats.get("old")
    status, reasons = verdict(stats["new"], baseline, group["analysis"])
    logger.info(
        "canary analysis report",
        extra={
            "verdict": status,
            "reasons": reasons,
            "deployment_id": hook.deployment_id,
            "deployment_group": target.deployment_group,
            "function_name": target.function_name,
            "current_version": target.current_version,
            "target_version": target.target_version,
            "window": {"start": start.isoformat(), "end": end.isoformat()},
            "new": asdict(stats["new"]),
            "baseline": asdict(baseline) if baseline is not None else None,
            "baseline_note": None
            if baseline is not None
            else "no baseline: the previous Lambda version serves the same model version id "
            "or does not name one; only the sample count is checked",
            "analysis": group["analysis"],
        },
    )
    return status


# The analysis makes at most this many calls, each bounded (hook.CALL_WORST_SECONDS):
# GetDeployment, ListDeploymentTargets, GetDeploymentTarget, GetFunctionConfiguration,
# GetMetricData (one page: 8 queries of one datapoint each) and the report. The
# function's timeout (constructs/evaluation_gate.py) is longer than all of them.
MAX_CALLS = 6
_codedeploy = boto3.client("codedeploy", config=hooks.bounded_config())
_lambda = boto3.client("lambda", config=hooks.bounded_config())
_cloudwatch = boto3.client("cloudwatch", config=hooks.bounded_config())


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Lambda entry point (CodeDeploy AfterAllowTraffic hook)."""
    status = analyse(event, codedeploy=_codedeploy, lambda_client=_lambda, cloudwatch=_cloudwatch)
    return {"status": status}
