"""RegressionAlarms: the CloudWatch alarms that roll a rollout back.

The router alarms watch the NEW version only (the router's metrics carry the
model version id in their ``Version`` dimension), except ``AliasErrorRate``;
it and ``LambdaErrors`` watch every version the alias serves: during a canary
the version still serving most callers must stay healthy too. The alarms are
built from the alias's metric factories (``ModelAlias.metric_*``,
``Alias.metric_errors``), never from the deployment group, so that the
deployment group can list them without a circular dependency.

Missing data is ``notBreaching`` on every alarm: no data means no requests in
that period, which is not a regression. A canary that saw too few requests is
failed by the AfterAllowTraffic canary analysis instead (an alarm that never
breaches never rolls back).
"""

from __future__ import annotations

from typing import Any, Protocol

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..values import AlarmThresholds
from .alarm_topic import AlarmTopic

# CodeDeploy's own limit per deployment group (docs/architecture.md).
MAX_ALARMS_PER_DEPLOYMENT_GROUP = 10
# Lambda publishes its own metrics once per minute.
LAMBDA_METRIC_PERIOD = cdk.Duration.minutes(1)


class AliasMetrics(Protocol):
    """What RegressionAlarms needs of an alias: ModelAlias satisfies it."""

    @property
    def qualified_name(self) -> str: ...
    @property
    def function(self) -> lambda_.IFunction: ...
    @property
    def alias(self) -> lambda_.Alias: ...

    def metric_invocations(self, **metric_options: Any) -> cloudwatch.Metric: ...
    def metric_server_errors(self, **metric_options: Any) -> cloudwatch.Metric: ...
    def metric_throttles(self, **metric_options: Any) -> cloudwatch.Metric: ...
    def metric_latency(self, **metric_options: Any) -> cloudwatch.Metric: ...
    def metric_output_tokens(self, **metric_options: Any) -> cloudwatch.Metric: ...
    def metric_all_versions(self, metric_name: str, **metric_options: Any) -> cloudwatch.Metric: ...


class RegressionAlarms(Construct):
    """Alarms on the new version of one alias: errors, latency, throttles, cost, crashes.

    - ``ErrorRate``: 100 * (ServerErrors + Throttles) / Invocations (Sum) above
      ``error_rate_percent``.
    - ``LatencyP99``: router Latency, p99, above ``p99_latency_ms``.
    - ``ThrottleRate``: 100 * Throttles / Invocations (Sum) above ``throttle_rate_percent``.
    - ``OutputTokens``: router OutputTokens, Average (tokens per answered request),
      above ``output_tokens_factor`` x ``baseline_output_tokens``; only when the
      baseline is declared (a cost regression).
    - ``LambdaErrors``: AWS/Lambda Errors of the alias (``Resource`` = function:alias),
      every version behind it, Sum >= 1 (a router crash or timeout, not a model error).
    - ``AliasErrorRate``: the error rate of ``ErrorRate`` across every version the
      alias serves (the router's alias-wide metrics), above
      ``alias_error_rate_percent`` (default: ``error_rate_percent``), so that a
      rollout during which the version still serving most callers fails stops and
      rolls back; with ``watch_all_versions``.

    The router alarms use ``period_seconds`` (10 and 30 s read the router's
    high-resolution EMF metrics); Lambda's own metrics exist per minute, so
    ``LambdaErrors`` uses 60 s. All use ``evaluation_periods`` and
    ``datapoints_to_alarm`` and treat missing data as not breaching.

    :param model_alias: the alias (a ``ModelAlias``) whose new version is watched.
    :param thresholds: Default: ``AlarmThresholds()`` (documented defaults).
    :param version_id: the model version id to watch. Default: the version the
        alias serves in this synth (the one being rolled out).
    :param alarm_name_prefix: Default: ``<stack name>-<family>-<alias>``.
    :param alarm_topic: notified on ALARM and OK. Default: no notification.
    :param watch_all_versions: add ``AliasErrorRate``. Default: true.

    Attributes: ``alarms`` (tuple of every alarm), ``error_rate``, ``latency_p99``,
    ``throttle_rate``, ``output_tokens`` (None without ``baseline_output_tokens``),
    ``lambda_errors``, ``alias_error_rate`` (None without ``watch_all_versions``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_alias: AliasMetrics,
        thresholds: AlarmThresholds | None = None,
        version_id: str | None = None,
        alarm_name_prefix: str | None = None,
        alarm_topic: AlarmTopic | None = None,
        watch_all_versions: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        t = thresholds if thresholds is not None else AlarmThresholds()
        period = cdk.Duration.seconds(t.period_seconds)
        prefix = (
            alarm_name_prefix
            if alarm_name_prefix is not None
            else f"{cdk.Stack.of(self).stack_name}-{_qualified(model_alias, '-')}"
        )
        label = _qualified(model_alias, "/")

        def metric(factory: Any, statistic: str) -> cloudwatch.Metric:
            options: dict[str, Any] = {"period": period, "statistic": statistic}
            if version_id is not None:
                options["version_id"] = version_id
            return factory(**options)

        invocations = metric(model_alias.metric_invocations, "Sum")
        server_errors = metric(model_alias.metric_server_errors, "Sum")
        throttles = metric(model_alias.metric_throttles, "Sum")
        common: dict[str, Any] = {
            "evaluation_periods": t.evaluation_periods,
            "datapoints_to_alarm": t.datapoints_to_alarm,
            "treat_missing_data": cloudwatch.TreatMissingData.NOT_BREACHING,
        }
        alarms: list[cloudwatch.Alarm] = []

        def alarm(
            construct: str,
            metric: cloudwatch.IMetric,
            threshold: float,
            what: str,
            operator: cloudwatch.ComparisonOperator = (
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
            ),
            whose: str = "on the new version",
        ) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(
                self,
                construct,
                metric=metric,
                threshold=threshold,
                comparison_operator=operator,
                alarm_name=f"{prefix}-{_kebab(construct)}",
                alarm_description=(
                    f"{label}: {what} {whose}. While a rollout runs, ALARM makes "
                    "CodeDeploy roll the alias back (docs/rollouts.md)."
                ),
                **common,
            )
            if alarm_topic is not None:
                alarm_topic.notify(created)
            alarms.append(created)
            return created

        self.error_rate = alarm(
            "ErrorRate",
            cloudwatch.MathExpression(
                expression="100 * (FILL(errors, 0) + FILL(throttles, 0)) / invocations",
                using_metrics={
                    "invocations": invocations,
                    "errors": server_errors,
                    "throttles": throttles,
                },
                period=period,
                label="error rate (%)",
            ),
            t.error_rate_percent,
            f"server errors and throttles above {t.error_rate_percent:g} % of requests",
        )
        self.latency_p99 = alarm(
            "LatencyP99",
            metric(model_alias.metric_latency, "p99"),
            t.p99_latency_ms,
            f"p99 latency above {t.p99_latency_ms} ms",
        )
        self.throttle_rate = alarm(
            "ThrottleRate",
            cloudwatch.MathExpression(
                expression="100 * FILL(throttles, 0) / invocations",
                using_metrics={"invocations": invocations, "throttles": throttles},
                period=period,
                label="throttle rate (%)",
            ),
            t.throttle_rate_percent,
            f"throttles above {t.throttle_rate_percent:g} % of requests",
        )
        self.output_tokens: cloudwatch.Alarm | None = None
        if t.baseline_output_tokens is not None:
            limit = t.output_tokens_factor * t.baseline_output_tokens
            self.output_tokens = alarm(
                "OutputTokens",
                metric(model_alias.metric_output_tokens, "Average"),
                limit,
                f"output tokens per request above {limit:g} ({t.output_tokens_factor:g} x the "
                f"declared baseline of {t.baseline_output_tokens}): a cost regression",
            )
        function_name = model_alias.function.function_name
        # Every version behind the alias (no ExecutedVersion): a crash of the version
        # still serving during a canary stops the rollout as one of the new version does.
        self.lambda_errors = alarm(
            "LambdaErrors",
            model_alias.alias.metric_errors(
                period=LAMBDA_METRIC_PERIOD,
                statistic="Sum",
                dimensions_map={
                    "FunctionName": function_name,
                    "Resource": f"{function_name}:{model_alias.alias.alias_name}",
                },
            ),
            1,
            "router invocations that failed in Lambda (a crash or timeout, not a model error)",
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            whose="on any version the alias serves",
        )
        self.alias_error_rate: cloudwatch.Alarm | None = None
        if watch_all_versions:
            wide_limit = (
                t.alias_error_rate_percent
                if t.alias_error_rate_percent is not None
                else t.error_rate_percent
            )
            wide = {
                name: model_alias.metric_all_versions(name, period=period, statistic="Sum")
                for name in ("Invocations", "ServerErrors", "Throttles")
            }
            self.alias_error_rate = alarm(
                "AliasErrorRate",
                cloudwatch.MathExpression(
                    expression="100 * (FILL(errors, 0) + FILL(throttles, 0)) / invocations",
                    using_metrics={
                        "invocations": wide["Invocations"],
                        "errors": wide["ServerErrors"],
                        "throttles": wide["Throttles"],
                    },
                    period=period,
                    label="error rate of all versions (%)",
                ),
                wide_limit,
                f"server errors and throttles above {wide_limit:g} % of requests",
                whose="across every version the alias serves (the one still serving too)",
            )
        self.alarms: tuple[cloudwatch.Alarm, ...] = tuple(alarms)


def _qualified(model_alias: AliasMetrics, separator: str) -> str:
    """``family<separator>alias``: family and alias names hold no ``/``."""
    return model_alias.qualified_name.replace("/", separator)


def _kebab(name: str) -> str:
    """``LatencyP99`` -> ``latency-p99``."""
    out = ""
    for i, char in enumerate(name):
        if char.isupper() and i and not name[i - 1].isupper():
            out += "-"
        out += char.lower()
    return out
