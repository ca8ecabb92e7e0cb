"""LifecycleWatcher: a daily look at Bedrock's lifecycle of every model an environment uses.

A scheduled Lambda function (EventBridge, once a day) calls GetFoundationModel
for each model behind the environment's aliases and publishes, per alias,
``IsLegacy`` and ``DaysUntilEndOfLife``. Alarms fire when a model turns Legacy,
when its end of life is nearer than a threshold, and when Bedrock's own
``LegacyModelInvocations`` shows calls to a Legacy model. A model that no longer
answers (end of life reached) counts as Legacy with 0 days left: the most
urgent state. The function is invoked asynchronously, so failed runs land in a
dead-letter queue, and an alarm watches its errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..nag import acknowledge
from ..nag.acknowledgements import acknowledge_dead_letter_queue, acknowledge_inline_policy
from ..shared import contract
from .alarm_topic import AlarmTopic
from .function import LifecycleFunction

# The watcher's contract (bedrock_lifecycle/lambdas/lifecycle_watcher/app.py);
# tests/constructs/test_lifecycle_watcher.py checks both sides agree.
NAMESPACE = contract.WATCHER_NAMESPACE
CONFIG_ENV = contract.WATCHER_CONFIG_ENV
DEFAULT_END_OF_LIFE_WARNING_DAYS = 90
ONE_DAY = cdk.Duration.days(1)
# Lambda holds at most 4 KB of environment variables per function; Powertools' own
# variables take about 60 bytes of that.
MAX_CONFIG_BYTES = 3900


def alarm_id_part(name: str) -> str:
    """``summarizer/pinned-v1`` -> ``SummarizerPinnedV1``, ``amazon.nova-pro-v1:0`` ->
    ``AmazonNovaProV10``: the PascalCase part of an alarm's construct id."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", name) if p)


def _validate(
    *,
    aliases: Mapping[str, Sequence[str]],
    invoked: Sequence[str],
    end_of_life_warning_days: int,
    config: str,
) -> None:
    """Every prop check, before any resource exists."""
    if not 1 <= end_of_life_warning_days <= 3650:
        raise ValueError(
            f"end_of_life_warning_days must be between 1 and 3650, got {end_of_life_warning_days}"
        )
    for alias in aliases:
        if "/" not in alias:
            raise ValueError(f"aliases keys must be 'family/alias', got {alias!r}")
    for what, names in (("aliases", list(aliases)), ("model ids", list(invoked))):
        seen: dict[str, str] = {}
        for name in names:
            part = alarm_id_part(name)
            if part in seen:
                raise ValueError(
                    f"{what} {seen[part]!r} and {name!r} both make alarm id part {part!r}; "
                    "rename one"
                )
            seen[part] = name
    size = len(CONFIG_ENV) + len(config.encode())
    if size > MAX_CONFIG_BYTES:
        raise ValueError(
            f"the watcher's configuration of {len(aliases)} aliases must fit in "
            f"{MAX_CONFIG_BYTES} bytes of Lambda environment variables, got {size}; "
            "split the environment's aliases across watchers"
        )


class LifecycleWatcher(Construct):
    """Watch Bedrock's Legacy and end-of-life status of the models behind some aliases.

    :param environment: the environment name (the ``Environment`` metric dimension).
    :param aliases: ``family/alias`` -> the foundation model ids it runs on. They travel
        in the function's environment, which Lambda caps at 4 KB (about 90 aliases);
        more raise ValueError at synth.
    :param invoked_model_ids: ``ModelId`` values of Bedrock's own metrics to watch
        for ``LegacyModelInvocations``. Default: every model id of ``aliases``.
    :param end_of_life_warning_days: alarm when fewer days are left. Default: 90.
    :param schedule: when the check runs. Default: once a day.
    :param alarm_topic: notified of every alarm's ALARM and OK transitions.
        Default: none (add actions to ``alarms`` yourself).

    Attributes: ``environment_name``, ``aliases`` (``family/alias`` -> its model ids,
    without repeats), ``function`` (a LifecycleFunction), ``dead_letter_queue``, ``rule``,
    ``alarms`` (every alarm, by construct id), ``legacy_alarms`` and
    ``end_of_life_alarms`` (by alias), ``legacy_invocation_alarms`` (by model id).

    Alarm construct ids come from names, so adding an alias leaves the others'
    alarms in place: ``Legacy<FamilyAlias>`` and ``EndOfLife<FamilyAlias>`` per
    alias (``LegacySummarizerLive``), ``LegacyInvocations<ModelId>`` per model id
    (``LegacyInvocationsAmazonNovaProV10``), ``WatcherErrors``. Two names that
    make the same id raise ValueError.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        aliases: Mapping[str, Sequence[str]],
        invoked_model_ids: Sequence[str] | None = None,
        end_of_life_warning_days: int = DEFAULT_END_OF_LIFE_WARNING_DAYS,
        schedule: events.Schedule | None = None,
        alarm_topic: AlarmTopic | None = None,
    ) -> None:
        watched = {alias: tuple(dict.fromkeys(models)) for alias, models in aliases.items()}
        models = sorted({m for ms in watched.values() for m in ms})
        invoked = sorted(set(invoked_model_ids if invoked_model_ids is not None else models))
        config = json.dumps(
            {"environment": environment, "namespace": NAMESPACE, "aliases": watched},
            separators=(",", ":"),
        )
        _validate(
            aliases=watched,
            invoked=invoked,
            end_of_life_warning_days=end_of_life_warning_days,
            config=config,
        )
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.environment_name = environment
        self.aliases = watched

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            # SSE-SQS: EventBridge cannot use the AWS managed aws/sqs KMS key of a DLQ.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        acknowledge_dead_letter_queue(
            self.dead_letter_queue,
            "this queue is itself the dead-letter queue of the lifecycle watcher (its "
            "schedule target and its asynchronous invocations)",
        )
        self.function = LifecycleFunction(
            self,
            "Function",
            source="lifecycle_watcher",
            description=f"{environment}: daily check of Bedrock's Legacy and end-of-life status "
            "of the models the aliases use",
            environment={CONFIG_ENV: config},
            timeout=cdk.Duration.minutes(5),
            service_name="lifecycle_watcher",
            dead_letter_queue=self.dead_letter_queue,
        )
        if models:
            self.function.role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadTheModelsLifecycle",
                    actions=["bedrock:GetFoundationModel"],
                    resources=[
                        f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{m}"
                        for m in models
                    ],
                )
            )
        self.function.role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishLifecycleMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
            )
        )
        acknowledge(
            self.function.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray and cloudwatch:PutMetricData have no resource-level permissions; "
            "PutMetricData is limited to the watcher's namespace by condition",
        )
        acknowledge_inline_policy(
            self.function.role,
            "the watcher role's policy belongs to this one role and names each model's ARN",
        )

        self.rule = events.Rule(
            self,
            "Schedule",
            schedule=schedule if schedule is not None else events.Schedule.rate(ONE_DAY),
            description=f"{environment}: daily Bedrock model lifecycle check",
            targets=[
                targets.LambdaFunction(
                    self.function.function,
                    retry_attempts=2,
                    dead_letter_queue=self.dead_letter_queue,
                )
            ],
        )

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.legacy_alarms: dict[str, cloudwatch.Alarm] = {}
        self.end_of_life_alarms: dict[str, cloudwatch.Alarm] = {}
        self.legacy_invocation_alarms: dict[str, cloudwatch.Alarm] = {}
        # Ids from names, not positions: adding an alias must not replace the others' alarms
        # (a replaced alarm forgets its state until the next daily run).
        for alias in sorted(self.aliases):
            if not self.aliases[alias]:
                continue
            self.legacy_alarms[alias] = self._alarm(
                f"Legacy{alarm_id_part(alias)}",
                metric=self.metric_is_legacy(alias),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                description=f"{environment} {alias}: Bedrock marks a model of this alias "
                "Legacy, or it reached its end of life; see docs/governance.md",
            )
            self.end_of_life_alarms[alias] = self._alarm(
                f"EndOfLife{alarm_id_part(alias)}",
                metric=self.metric_days_until_end_of_life(alias),
                threshold=end_of_life_warning_days,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                description=f"{environment} {alias}: fewer than {end_of_life_warning_days} days "
                "until a model of this alias reaches its end of life (0: reached)",
            )
        for model_id in invoked:
            self.legacy_invocation_alarms[model_id] = self._alarm(
                f"LegacyInvocations{alarm_id_part(model_id)}",
                metric=cloudwatch.Metric(
                    namespace="AWS/Bedrock",
                    metric_name="LegacyModelInvocations",
                    dimensions_map={"ModelId": model_id},
                    statistic="Sum",
                    period=cdk.Duration.hours(1),
                ),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                description=f"{environment}: calls to {model_id}, which Bedrock marks Legacy",
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        self._alarm(
            "WatcherErrors",
            metric=self.function.function.metric_errors(period=ONE_DAY, statistic="Sum"),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description=f"{environment}: the lifecycle watcher could not check every model",
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if alarm_topic is not None:
            for alarm in self.alarms.values():
                alarm_topic.notify(alarm)

    def _alarm(
        self,
        construct_id: str,
        *,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        description: str,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.IGNORE,
    ) -> cloudwatch.Alarm:
        # The watcher publishes once a day: between runs the alarm keeps its state (IGNORE).
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=1,
            treat_missing_data=missing,
            alarm_description=description,
        )
        self.alarms[construct_id] = alarm
        return alarm

    def metric_is_legacy(self, alias: str, **metric_options: object) -> cloudwatch.Metric:
        """1 when a model of ``alias`` is Legacy or ended, else 0 (Maximum per day)."""
        return self._metric("IsLegacy", alias, "Maximum", metric_options)

    def metric_days_until_end_of_life(
        self, alias: str, **metric_options: object
    ) -> cloudwatch.Metric:
        """Days to the nearest end of life of ``alias``'s models (Minimum per day)."""
        return self._metric("DaysUntilEndOfLife", alias, "Minimum", metric_options)

    def _metric(
        self, name: str, alias: str, statistic: str, metric_options: Mapping[str, object]
    ) -> cloudwatch.Metric:
        if alias not in self.aliases:
            raise ValueError(f"{alias!r} is not watched here (watched: {', '.join(self.aliases)})")
        props: dict[str, object] = {"period": ONE_DAY, "statistic": statistic, **metric_options}
        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=name,
            dimensions_map={"Environment": self.environment_name, "Alias": alias},
            **props,  # type: ignore[arg-type]
        )
