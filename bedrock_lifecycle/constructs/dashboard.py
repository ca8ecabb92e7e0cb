"""LifecycleDashboard: one CloudWatch screen per stack of an environment, by alias.

Per alias (:class:`AliasPanel`), eight widgets in two rows: a title; invocations by
version (during a canary both versions show, and the split); the error rate by
version; p50 and p99 latency by version; input and output tokens per request by
version; the evaluation gate's and the continuous evaluation's pass rates; days until
the end of life of each model the alias runs on; the status of the alias's alarms.

Every widget reads exactly the metric names and dimensions the router, the gate, the
continuous evaluator and the lifecycle watcher publish (``shared/contract.py``):
per-version series come from ``SEARCH`` over the router's dimension set, so a version
the template no longer names (the one a rollout left) still shows.

CloudWatch holds at most 500 widgets and 1 MB of body per dashboard: the aliases are
laid out on pages of at most :data:`ALIASES_PER_PAGE`, each page its own dashboard
(``<name>``, ``<name>-2``, ...), the first one linking to the others and to
``links`` (the dashboards of the environment's other stacks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from ..shared import contract
from .model_alias import ModelAlias

MAX_WIDGETS = 500
MAX_BODY_BYTES = 1_000_000
WIDGETS_PER_ALIAS = 8
# The first page's own widgets: its title with the links, the environment's alarm
# status and up to 20 end-of-life figures.
OVERVIEW_WIDGETS = 22
ALIASES_PER_PAGE = (MAX_WIDGETS - OVERVIEW_WIDGETS) // WIDGETS_PER_ALIAS  # 59
MAX_MODEL_FIGURES = 20
# CloudWatch dashboard names: 1-255 of these.
_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
PERIOD = cdk.Duration.minutes(1)
ONE_DAY = cdk.Duration.days(1)
WIDTH, HEIGHT = 8, 6


@dataclass(frozen=True)
class AliasPanel:
    """What the dashboard shows of one alias.

    :param model_alias: the alias.
    :param alarms: its alarms, for the status widget (the rollout's, the continuous
        evaluation's; CloudWatch shows at most 100). Default: none.
    :param model_ids: the foundation models it runs on (the lifecycle watcher's
        ``DaysUntilEndOfLife``). Default: none.
    """

    model_alias: ModelAlias
    alarms: Sequence[cloudwatch.IAlarm] = ()
    model_ids: Sequence[str] = ()


def search(
    namespace: str, dimensions: Sequence[str], metric: str, values: Mapping[str, str]
) -> str:
    """A CloudWatch ``SEARCH`` schema term: every series of ``metric`` in ``namespace``
    with exactly the dimension set ``dimensions`` and the given values."""
    terms = " ".join(f'{name}="{_quoted(value)}"' for name, value in values.items())
    return f'{{{namespace},{",".join(dimensions)}}} {terms} MetricName="{metric}"'


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def search_expression(
    namespace: str,
    dimensions: Sequence[str],
    metric: str,
    values: Mapping[str, str],
    statistic: str,
    period_seconds: int = 60,
) -> str:
    """``SEARCH('<schema term>', '<statistic>', <period>)``."""
    term = search(namespace, dimensions, metric, values).replace("'", "\\'")
    return f"SEARCH('{term}', '{statistic}', {period_seconds})"


def _by_version(
    alias: ModelAlias, metric: str, statistic: str, label: str, namespace: str | None = None
) -> cloudwatch.MathExpression:
    values = _alias_values(alias)
    return cloudwatch.MathExpression(
        expression=search_expression(
            namespace or contract.ROUTER_NAMESPACE,
            contract.ROUTER_DIMENSIONS,
            metric,
            values,
            statistic,
        ),
        using_metrics={},
        label=label,
        period=PERIOD,
    )


def _alias_values(alias: ModelAlias) -> dict[str, str]:
    return {
        "Environment": alias.environment_name,
        "Family": alias.model_version.family,
        "Alias": alias.alias_name,
    }


def alias_widgets(panel: AliasPanel) -> list[list[cloudwatch.IWidget]]:
    """The two rows of one alias (title row, then graphs): :data:`WIDGETS_PER_ALIAS`."""
    alias = panel.model_alias
    versions = [alias.model_version, *alias.standby_versions]
    title = cloudwatch.TextWidget(
        markdown=(
            f"### {alias.qualified_name} serves `{alias.model_version.version_id}`\n"
            f"model `{alias.target.model_id}`; versions it may serve: "
            + ", ".join(f"`{v.version_id}`" for v in versions)
        ),
        width=24,
        height=2,
    )
    invocations = cloudwatch.GraphWidget(
        title=f"{alias.qualified_name}: invocations by version",
        left=[_by_version(alias, "Invocations", "Sum", "")],
        stacked=True,
        width=WIDTH,
        height=HEIGHT,
    )
    error_rates: list[cloudwatch.IMetric] = []
    for index, version in enumerate(versions):
        invoked = alias.metric_invocations(version_id=version.version_id, period=PERIOD)
        failed = alias.metric_server_errors(version_id=version.version_id, period=PERIOD)
        error_rates.append(
            cloudwatch.MathExpression(
                expression=f"IF(i{index} > 0, 100 * e{index} / i{index}, 0)",
                using_metrics={f"i{index}": invoked, f"e{index}": failed},
                label=f"{version.version_id} server errors %",
                period=PERIOD,
            )
        )
    errors = cloudwatch.GraphWidget(
        title=f"{alias.qualified_name}: error rate by version (%)",
        left=error_rates,
        width=WIDTH,
        height=HEIGHT,
    )
    latency = cloudwatch.GraphWidget(
        title=f"{alias.qualified_name}: latency by version (ms)",
        left=[
            _by_version(alias, "Latency", "p50", "p50"),
            _by_version(alias, "Latency", "p99", "p99"),
        ],
        width=WIDTH,
        height=HEIGHT,
    )
    tokens = cloudwatch.GraphWidget(
        title=f"{alias.qualified_name}: tokens per request by version",
        left=[_by_version(alias, "InputTokens", "Average", "input")],
        # Embedding routers count input tokens only (the router emits no OutputTokens).
        right=(
            []
            if alias.model_version.kind.value == "embedding"
            else [_by_version(alias, "OutputTokens", "Average", "output")]
        ),
        width=WIDTH,
        height=HEIGHT,
    )
    pass_rates = cloudwatch.GraphWidget(
        title=f"{alias.qualified_name}: golden prompts passed (%)",
        left=[
            _by_version(
                alias, contract.GATE_PASS_RATE, "Minimum", "gate", contract.ROLLOUTS_NAMESPACE
            ),
            cloudwatch.MathExpression(
                expression=search_expression(
                    contract.EVALUATION_NAMESPACE,
                    contract.ALIAS_WIDE_DIMENSIONS,
                    contract.CONTINUOUS_PASS_RATE,
                    _alias_values(alias),
                    "Minimum",
                    3600,
                ),
                using_metrics={},
                label="continuous",
                period=cdk.Duration.hours(1),
            ),
        ],
        left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
        width=WIDTH,
        height=HEIGHT,
    )
    end_of_life = cloudwatch.SingleValueWidget(
        title="days until end of life",
        metrics=[days_until_end_of_life(alias.environment_name, m) for m in panel.model_ids],
        width=4,
        height=HEIGHT,
    )
    status = cloudwatch.AlarmStatusWidget(
        title=f"{alias.qualified_name}: alarms",
        alarms=list(panel.alarms)[:100],
        width=4,
        height=HEIGHT,
    )
    return [[title], [invocations, errors, latency], [tokens, pass_rates, end_of_life, status]]


def days_until_end_of_life(environment: str, model_id: str) -> cloudwatch.Metric:
    """The lifecycle watcher's ``DaysUntilEndOfLife`` of one model (Minimum per day)."""
    name = contract.WATCHER_DAYS_UNTIL_END_OF_LIFE
    return cloudwatch.Metric(
        namespace=contract.WATCHER_NAMESPACE,
        metric_name=name,
        dimensions_map=dict(zip(contract.WATCHER_DIMENSIONS, (environment, model_id), strict=True)),
        statistic=contract.WATCHER_METRICS[name][1],
        period=ONE_DAY,
        label=model_id,
    )


def link(name: str) -> str:
    """A markdown link to dashboard ``name`` in the same account and region."""
    return f"[{name}](#dashboards:name={name})"


def _check_name(name: str) -> None:
    if not 1 <= len(name) <= 255 - 4 or not set(name) <= _NAME_CHARACTERS:
        raise ValueError(
            "dashboard_name must be 1-251 characters of letters, digits, - and _ (room for "
            f"a page suffix), got {name!r}"
        )


class LifecycleDashboard(Construct):
    """The dashboards of one stack's aliases: one page per :data:`ALIASES_PER_PAGE`.

    :param dashboard_name: the first page's name; further pages add ``-2``, ``-3``...
    :param environment: shown in the title.
    :param panels: the aliases, in display order.
    :param links: ``(title, dashboard name)`` of related dashboards (the environment's
        other stacks), linked from the first page. Default: none.
    :param alarms: environment-wide alarms for the first page's status widget (the
        watcher's, the evaluator's). Default: none.
    :param model_ids: foundation models whose days until end of life the first page
        shows (at most 20). Default: none.

    Construct ids: ``Page1``, ``Page2``, ... (``cloudwatch.Dashboard``). Attributes:
    ``pages`` (the dashboards, in order), ``page_names``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        environment: str,
        panels: Sequence[AliasPanel],
        links: Sequence[tuple[str, str]] = (),
        alarms: Sequence[cloudwatch.IAlarm] = (),
        model_ids: Sequence[str] = (),
    ) -> None:
        _check_name(dashboard_name)
        super().__init__(scope, construct_id)
        chunks = [
            list(panels[start : start + ALIASES_PER_PAGE])
            for start in range(0, len(panels), ALIASES_PER_PAGE)
        ] or [[]]
        self.page_names = [
            dashboard_name if index == 0 else f"{dashboard_name}-{index + 1}"
            for index in range(len(chunks))
        ]
        self.pages: list[cloudwatch.Dashboard] = []
        for index, chunk in enumerate(chunks):
            rows: list[list[cloudwatch.IWidget]] = []
            if index == 0:
                rows += self._overview(environment, links, alarms, model_ids, len(panels))
            else:
                rows.append(
                    [
                        cloudwatch.TextWidget(
                            markdown=f"## {environment}, page {index + 1} of {len(chunks)}\n"
                            f"Back to {link(self.page_names[0])}",
                            width=24,
                            height=2,
                        )
                    ]
                )
            for panel in chunk:
                rows += alias_widgets(panel)
            self.pages.append(
                cloudwatch.Dashboard(
                    self,
                    f"Page{index + 1}",
                    dashboard_name=self.page_names[index],
                    default_interval=cdk.Duration.hours(3),
                    widgets=rows,
                )
            )

    def _overview(
        self,
        environment: str,
        links: Sequence[tuple[str, str]],
        alarms: Sequence[cloudwatch.IAlarm],
        model_ids: Sequence[str],
        alias_count: int,
    ) -> list[list[cloudwatch.IWidget]]:
        lines = [f"## bedrock-lifecycle: {environment}", f"{alias_count} aliases on this stack."]
        others = [(f"page {i + 1}", name) for i, name in enumerate(self.page_names) if i > 0]
        for title, name in [*others, *links]:
            lines.append(f"- {title}: {link(name)}")
        lines.append(
            "What each alarm means: docs/operations.md in the bedrock-lifecycle repository."
        )
        rows: list[list[cloudwatch.IWidget]] = [
            [
                cloudwatch.TextWidget(
                    markdown="\n".join(lines), width=24, height=2 + len(others + list(links)) // 2
                )
            ]
        ]
        row: list[cloudwatch.IWidget] = []
        if alarms:
            row.append(
                cloudwatch.AlarmStatusWidget(
                    title=f"{environment}: environment alarms",
                    alarms=list(alarms)[:100],
                    width=12,
                    height=HEIGHT,
                )
            )
        figures = [
            days_until_end_of_life(environment, m) for m in list(model_ids)[:MAX_MODEL_FIGURES]
        ]
        if figures:
            row.append(
                cloudwatch.SingleValueWidget(
                    title="days until end of life, by model",
                    metrics=figures,
                    width=12,
                    height=HEIGHT,
                )
            )
        if row:
            rows.append(row)
        return rows
