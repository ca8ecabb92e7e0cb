"""RegressionAlarms: the CloudWatch alarms that roll a rollout back.

Two alarms per alias. ``Regression`` is one metric-math alarm over the
router's EMF metrics: each thing that can regress (error rate, throttle rate,
p99 latency, output tokens, the alias-wide error rate) is a *term*, its value
divided by its own limit, and the alarm watches the largest term: above 1 means
at least one term is over its limit. ``LambdaErrors`` watches Lambda's own
``Errors`` metric, which exists per minute only and cannot share the router
alarm's period.

The router terms watch the NEW version only (the router's metrics carry the
model version id in their ``Version`` dimension), except ``alias_error_rate``;
it and ``LambdaErrors`` watch every version the alias serves: during a canary
the version still serving most callers must stay healthy too. The alarms are
built from the alias's metric factories (``ModelAlias.metric_*``,
``Alias.metric_errors``), never from the deployment group, so that the
deployment group can list them without a circular dependency.

Missing data is not breaching: no data means no requests in that period, which
is not a regression. Every term is filled with 0 where it has no datapoint, so
a term without data (no answered request, so no latency) never hides another,
and a period without any request reads 0 (OK). A canary that saw too few
requests is failed by the AfterAllowTraffic canary analysis instead (an alarm
that never breaches never rolls back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..props import AlarmThresholds, require_props
from .alarm_topic import AlarmTopic

# CodeDeploy's own limit per deployment group (docs/architecture.md).
MAX_ALARMS_PER_DEPLOYMENT_GROUP = 10
# Lambda publishes its own metrics once per minute.
LAMBDA_METRIC_PERIOD = cdk.Duration.minutes(1)
# CloudWatch's limits of one metric-math alarm (PutMetricAlarm ``Metrics``): at most 10
# queries that retrieve a metric (``MetricStat``) and at most 10 expressions, the one
# the alarm watches included.
MAX_ALARM_METRICS = 10
MAX_ALARM_EXPRESSIONS = 10
# CloudWatch's limit of an AlarmDescription (characters).
MAX_ALARM_DESCRIPTION = 1024
# Attributes of the alarms that are now terms of ``regression``, each named as its term.
REMOVED_ATTRIBUTES = (
    "error_rate",
    "latency_p99",
    "throttle_rate",
    "output_tokens",
    "alias_error_rate",
)


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


@dataclass(frozen=True)
class RegressionTerm:
    """One term of the ``Regression`` alarm.

    :ivar id: the term's expression id in the alarm's ``Metrics`` (``error_rate``, ...),
        what ``get-metric-data`` and the console's graph call it.
    :ivar text: what it measures and its limit, as the alarm description says it.
    :ivar limit: the limit the value is divided by (in ``unit``).
    :ivar unit: ``%``, ``ms`` or ``tokens``.
    :ivar all_versions: whether it reads every version the alias serves (else the
        new version only).
    :ivar normalised: the value over the limit (1 = at the limit), for a dashboard.
    :ivar value: the value itself in ``unit``, for a dashboard.
    """

    id: str
    text: str
    limit: float
    unit: str
    all_versions: bool
    normalised: cloudwatch.MathExpression
    value: cloudwatch.IMetric


class RegressionAlarms(Construct):
    """The two alarms that roll a rollout of one alias back: ``Regression``, ``LambdaErrors``.

    ``Regression`` (``regression``) is one metric-math alarm on the router's
    metrics at ``period_seconds``. Each term below is its value over its limit,
    filled with 0 where it has no data; the alarm's value is the largest term
    and it alarms above 1, that is when any term exceeds its limit:

    ``MAX([FILL(error_rate, 0), FILL(throttle_rate, 0), FILL(latency_p99, 0),
    FILL(output_tokens, 0), FILL(alias_error_rate, 0)])``

    - ``error_rate``: 100 * (ServerErrors + Throttles) / Invocations (Sum) of the
      new version over ``error_rate_percent``.
    - ``throttle_rate``: 100 * Throttles / Invocations (Sum) of the new version over
      ``throttle_rate_percent``.
    - ``latency_p99``: router Latency p99 of the new version over ``p99_latency_ms``.
    - ``output_tokens``: router OutputTokens, Average (tokens per answered request),
      of the new version over ``output_tokens_factor`` x ``baseline_output_tokens``;
      only when the baseline is declared (a cost regression).
    - ``alias_error_rate``: the error rate of ``error_rate`` across every version the
      alias serves (the router's alias-wide metrics) over ``alias_error_rate_percent``
      (default: ``error_rate_percent``), so that a rollout during which the version
      still serving most callers fails stops and rolls back; with
      ``watch_all_versions``.

    Reading it: a value of 1.4 means the worst term is 40 % over its limit; the
    alarm's description lists every term with its limit, and its graph in the
    console (or ``get-metric-data`` with the alarm's ``Metrics``, every expression
    returned) shows each term under its id (docs/runbook.md). One alarm for all
    terms is at least as strict as one alarm per term: ``datapoints_to_alarm`` of
    ``evaluation_periods`` counts periods in which any term is over its limit.

    ``LambdaErrors`` (``lambda_errors``): AWS/Lambda Errors of the alias
    (``Resource`` = function:alias), every version behind it, Sum >= 1 per 60 s
    (Lambda's own metrics exist per minute): a router crash or timeout, not a
    model error.

    Both use ``evaluation_periods`` and ``datapoints_to_alarm`` and treat missing
    data as not breaching.

    :param model_alias: the alias (a ``ModelAlias``) whose new version is watched.
    :param thresholds: Default: ``AlarmThresholds()`` (documented defaults).
    :param version_id: the model version id to watch. Default: the version the
        alias serves in this synth (the one being rolled out).
    :param alarm_name_prefix: Default: ``<stack name>-<family>-<alias>``.
    :param alarm_topic: notified on ALARM and OK. Default: no notification.
    :param watch_all_versions: add the ``alias_error_rate`` term. Default: true.

    Attributes: ``alarms`` (tuple of every alarm: ``regression``, ``lambda_errors``),
    ``regression``, ``lambda_errors``, ``terms`` (the ``RegressionTerm`` of each term,
    in the expression's order).

    Changed in the two-alarm version: the alarms ``ErrorRate``, ``LatencyP99``,
    ``ThrottleRate``, ``OutputTokens`` and ``AliasErrorRate`` (attributes
    ``error_rate``, ``latency_p99``, ``throttle_rate``, ``output_tokens``,
    ``alias_error_rate``) are now terms of ``regression``; reading one of those
    attributes raises an ``AttributeError`` that names the term. Build an alarm of
    your own on one term from ``terms`` (docs/extending.md).
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
        require_props(thresholds=(thresholds, AlarmThresholds))
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
        terms: list[RegressionTerm] = []

        def term(
            term_id: str,
            value: str,
            using: Mapping[str, cloudwatch.IMetric],
            limit: float,
            unit: str,
            text: str,
            *,
            all_versions: bool = False,
        ) -> None:
            """A term: ``value`` (an expression over ``using``) divided by ``limit``."""
            shown = f"{_number(limit)} {unit}"
            inner = value if value.isidentifier() else f"({value})"
            if len(using) == 1 and value in using:
                value_metric: cloudwatch.IMetric = using[value]
            else:
                value_metric = cloudwatch.MathExpression(
                    expression=value, using_metrics=dict(using), period=period, label=text
                )
            terms.append(
                RegressionTerm(
                    id=term_id,
                    text=f"{term_id}: {text}, limit {shown}",
                    limit=limit,
                    unit=unit,
                    all_versions=all_versions,
                    normalised=cloudwatch.MathExpression(
                        expression=f"{inner} / {_number(limit)}",
                        using_metrics=dict(using),
                        period=period,
                        label=f"{term_id} (1 = {shown})",
                    ),
                    value=value_metric,
                )
            )

        error_rate = "100 * (FILL({e}, 0) + FILL({t}, 0)) / {i}"
        term(
            "error_rate",
            error_rate.format(e="server_errors", t="throttles", i="invocations"),
            {"invocations": invocations, "server_errors": server_errors, "throttles": throttles},
            t.error_rate_percent,
            "%",
            "server errors and throttles of the new version, % of its requests",
        )
        term(
            "throttle_rate",
            "100 * FILL(throttles, 0) / invocations",
            {"invocations": invocations, "throttles": throttles},
            t.throttle_rate_percent,
            "%",
            "throttles of the new version, % of its requests",
        )
        term(
            "latency_p99",
            "latency",
            {"latency": metric(model_alias.metric_latency, "p99")},
            t.p99_latency_ms,
            "ms",
            "p99 latency of the new version",
        )
        if t.baseline_output_tokens is not None:
            term(
                "output_tokens",
                "tokens",
                {"tokens": metric(model_alias.metric_output_tokens, "Average")},
                t.output_tokens_factor * t.baseline_output_tokens,
                "tokens",
                "output tokens per answered request of the new version "
                f"({_number(t.output_tokens_factor)} x the declared baseline of "
                f"{t.baseline_output_tokens}: a cost regression)",
            )
        if watch_all_versions:
            wide = {
                name: model_alias.metric_all_versions(name, period=period, statistic="Sum")
                for name in ("Invocations", "ServerErrors", "Throttles")
            }
            term(
                "alias_error_rate",
                error_rate.format(e="all_server_errors", t="all_throttles", i="all_invocations"),
                {
                    "all_invocations": wide["Invocations"],
                    "all_server_errors": wide["ServerErrors"],
                    "all_throttles": wide["Throttles"],
                },
                (
                    t.alias_error_rate_percent
                    if t.alias_error_rate_percent is not None
                    else t.error_rate_percent
                ),
                "%",
                "server errors and throttles of every version the alias serves (the one "
                "still serving too), % of their requests",
                all_versions=True,
            )
        self.terms: tuple[RegressionTerm, ...] = tuple(terms)
        _check_alarm_limits(self.terms)
        common: dict[str, Any] = {
            "evaluation_periods": t.evaluation_periods,
            "datapoints_to_alarm": t.datapoints_to_alarm,
            "treat_missing_data": cloudwatch.TreatMissingData.NOT_BREACHING,
        }
        tail = (
            "While a rollout runs, ALARM makes CodeDeploy roll the alias back (docs/rollouts.md)."
        )
        description = (
            f"{label}: ALARM when the largest of these terms (each its value over its limit) "
            f"is above 1 in {t.datapoints_to_alarm} of {t.evaluation_periods} periods of "
            f"{t.period_seconds} s. "
            + "; ".join(term.text for term in self.terms)
            + ". Which term breached: docs/runbook.md. "
            + tail
        )
        if len(description) > MAX_ALARM_DESCRIPTION:
            raise ValueError(
                f"the Regression alarm's description of {label} has {len(description)} "
                f"characters, more than CloudWatch's {MAX_ALARM_DESCRIPTION}"
            )
        self.regression = cloudwatch.Alarm(
            self,
            "Regression",
            metric=cloudwatch.MathExpression(
                expression="MAX([" + ", ".join(f"FILL({term.id}, 0)" for term in self.terms) + "])",
                using_metrics={term.id: term.normalised for term in self.terms},
                period=period,
                label="worst term over its limit (above 1 alarms)",
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            alarm_name=f"{prefix}-regression",
            alarm_description=description,
            **common,
        )
        function_name = model_alias.function.function_name
        # Every version behind the alias (no ExecutedVersion): a crash of the version
        # still serving during a canary stops the rollout as one of the new version does.
        self.lambda_errors = cloudwatch.Alarm(
            self,
            "LambdaErrors",
            metric=model_alias.alias.metric_errors(
                period=LAMBDA_METRIC_PERIOD,
                statistic="Sum",
                dimensions_map={
                    "FunctionName": function_name,
                    "Resource": f"{function_name}:{model_alias.alias.alias_name}",
                },
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            alarm_name=f"{prefix}-lambda-errors",
            alarm_description=(
                f"{label}: router invocations that failed in Lambda (a crash or timeout, not "
                "a model error) on any version the alias serves. " + tail
            ),
            **common,
        )
        self.alarms: tuple[cloudwatch.Alarm, ...] = (self.regression, self.lambda_errors)
        if alarm_topic is not None:
            for alarm in self.alarms:
                alarm_topic.notify(alarm)

    if not TYPE_CHECKING:  # type checkers report the removed names as missing

        def __getattr__(self, name: str) -> Any:
            if name in REMOVED_ATTRIBUTES:
                raise AttributeError(
                    f"RegressionAlarms.{name} was removed: that alarm is now the term {name!r} "
                    "of the one alarm `regression` (see `terms`, docs/extending.md)"
                )
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _check_alarm_limits(terms: tuple[RegressionTerm, ...]) -> None:
    """Refuse what CloudWatch would: more than 10 metrics or 10 expressions in one alarm."""
    metrics: set[str] = set()
    expressions = 1  # the MAX the alarm watches
    for term in terms:
        metrics.update(term.normalised.using_metrics)
        expressions += 1
    if len(metrics) > MAX_ALARM_METRICS or expressions > MAX_ALARM_EXPRESSIONS:
        raise ValueError(
            f"the Regression alarm would read {len(metrics)} metrics in {expressions} "
            f"expressions; CloudWatch allows at most {MAX_ALARM_METRICS} and "
            f"{MAX_ALARM_EXPRESSIONS} in one alarm"
        )


def _number(value: float) -> str:
    """A limit as metric math and people read it: ``5``, ``2.5``, ``0.00001``, never ``1e-05``."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _qualified(model_alias: AliasMetrics, separator: str) -> str:
    """``family<separator>alias``: family and alias names hold no ``/``."""
    return model_alias.qualified_name.replace("/", separator)
