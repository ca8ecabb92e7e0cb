"""The router's metrics of one alias: the ``metric_*`` factories of :class:`ModelAlias`.

They return exactly the metrics the router emits (namespace, names, units and
dimensions from :mod:`bedrock_lifecycle.shared.contract`), so alarms and
dashboards built from them see the router's data.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

from ..shared import contract
from ..versions import ModelVersion

METRIC_NAMESPACE = contract.ROUTER_NAMESPACE
_UNITS = {"Count": cloudwatch.Unit.COUNT, "Milliseconds": cloudwatch.Unit.MILLISECONDS}
# Metric name -> (unit, default statistic). The router emits exactly these.
ROUTER_METRICS: dict[str, tuple[cloudwatch.Unit, str]] = {
    name: (_UNITS[unit], statistic) for name, (unit, statistic) in contract.ROUTER_METRICS.items()
}
# Also published per alias across all its versions.
ALIAS_WIDE_METRICS = contract.ALIAS_WIDE_METRICS


class RouterMetrics:
    """Metric factories of an alias; the class using it sets ``environment_name``,
    ``alias_name`` and ``model_version``."""

    environment_name: str
    alias_name: str
    model_version: ModelVersion

    def metric_dimensions(self, version_id: str | None = None) -> dict[str, str]:
        """The router's metric dimensions for ``version_id``. Default: the current version."""
        return {
            "Environment": self.environment_name,
            "Family": self.model_version.family,
            "Alias": self.alias_name,
            "Version": version_id if version_id is not None else self.model_version.version_id,
        }

    def metric(
        self, metric_name: str, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """A router metric of this alias (namespace ``BedrockLifecycle/Router``).

        :param metric_name: one of ``ROUTER_METRICS``.
        :param version_id: whose requests. Default: the version this alias serves now.
        :param metric_options: ``cloudwatch.Metric`` options. Default: period 1 minute,
            the metric's unit, statistic Sum (Average for Latency).
        """
        return _router_metric(
            metric_name, ROUTER_METRICS, self.metric_dimensions(version_id), metric_options
        )

    def metric_all_versions(self, metric_name: str, **metric_options: Any) -> cloudwatch.Metric:
        """A router metric of this alias across every version it serves (no Version dimension).

        What callers of the alias see, whichever Lambda version answered them: during a
        canary mostly the version still serving. Routers built before this metric existed
        do not publish it.

        :param metric_name: one of ``ALIAS_WIDE_METRICS``.
        :param metric_options: ``cloudwatch.Metric`` options. Default: period 1 minute,
            statistic Sum, the metric's unit.
        """
        everything = self.metric_dimensions()
        dimensions = {name: everything[name] for name in contract.ALIAS_WIDE_DIMENSIONS}
        return _router_metric(metric_name, ALIAS_WIDE_METRICS, dimensions, metric_options)

    def metric_invocations(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Requests received (every request, valid or not). Default: Sum per minute."""
        return self.metric("Invocations", version_id=version_id, **metric_options)

    def metric_client_errors(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Requests refused as the caller's fault (malformed, Bedrock ValidationException)."""
        return self.metric("ClientErrors", version_id=version_id, **metric_options)

    def metric_server_errors(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Requests that failed after retries for any reason but the caller's or throttling."""
        return self.metric("ServerErrors", version_id=version_id, **metric_options)

    def metric_throttles(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Requests Bedrock still throttled after the router's retries."""
        return self.metric("Throttles", version_id=version_id, **metric_options)

    def metric_latency(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Milliseconds in the router for requests that reached Bedrock. Default: Average."""
        return self.metric("Latency", version_id=version_id, **metric_options)

    def metric_input_tokens(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Input tokens of successful requests, as Bedrock counted them."""
        return self.metric("InputTokens", version_id=version_id, **metric_options)

    def metric_output_tokens(
        self, *, version_id: str | None = None, **metric_options: Any
    ) -> cloudwatch.Metric:
        """Output tokens of successful chat requests (embeddings emit none)."""
        return self.metric("OutputTokens", version_id=version_id, **metric_options)


@functools.cache
def _one_minute() -> cdk.Duration:
    """The default period, made once (each ``Duration`` is a round trip to jsii)."""
    return cdk.Duration.minutes(1)


def _router_metric(
    metric_name: str,
    allowed: Collection[str],
    dimensions: dict[str, str],
    metric_options: Mapping[str, Any],
) -> cloudwatch.Metric:
    """One router metric: the contract's unit and default statistic, period 1 minute."""
    if metric_name not in allowed:
        raise ValueError(f"metric_name must be one of {', '.join(allowed)}, got {metric_name!r}")
    unit, statistic = ROUTER_METRICS[metric_name]
    options: dict[str, Any] = {"statistic": statistic, "unit": unit, **metric_options}
    if "period" not in options:
        options["period"] = _one_minute()
    return cloudwatch.Metric(
        namespace=METRIC_NAMESPACE,
        metric_name=metric_name,
        dimensions_map=dimensions,
        **options,
    )
