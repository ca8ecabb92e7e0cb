"""LifecycleWatcher: a daily look at Bedrock's lifecycle of every model an environment uses.

A scheduled Lambda function (EventBridge, once a day) calls GetFoundationModel
for each model behind the environment's aliases and publishes, per model (once,
however many aliases share it), ``IsLegacy`` and ``DaysUntilEndOfLife``. Alarms,
one set per model, fire when a model turns Legacy, when its end of life is nearer
than a threshold, and when Bedrock's own ``LegacyModelInvocations`` shows calls to
a Legacy model; each names the aliases that run on the model. A model that no
longer answers (end of life reached) counts as Legacy with 0 days left: the most
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
from .keys import DEAD_LETTER_QUEUE_REDRIVE

# The watcher's contract (bedrock_lifecycle/lambdas/lifecycle_watcher/app.py);
# tests/constructs/test_lifecycle_watcher.py checks both sides agree.
NAMESPACE = contract.WATCHER_NAMESPACE
CONFIG_ENV = contract.WATCHER_CONFIG_ENV
DIMENSIONS = contract.WATCHER_DIMENSIONS
METRIC_IS_LEGACY = contract.WATCHER_IS_LEGACY
METRIC_DAYS_UNTIL_END_OF_LIFE = contract.WATCHER_DAYS_UNTIL_END_OF_LIFE
DEFAULT_END_OF_LIFE_WARNING_DAYS = 90
ONE_DAY = cdk.Duration.days(1)
# Lambda holds at most 4 KB of environment variables per function; Powertools' own
# variables take about 60 bytes of that.
MAX_CONFIG_BYTES = 3900
# CloudWatch's limit of an AlarmDescription (characters).
MAX_ALARM_DESCRIPTION = 1024


def alarm_id_part(name: str) -> str:
    """``summarizer/pinned-v1`` -> ``SummarizerPinnedV1``, ``amazon.nova-pro-v1:0`` ->
    ``AmazonNovaProV10``: the PascalCase part of an alarm's construct id."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", name) if p)


def users_of_models(aliases: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """``{family/alias: model ids}`` -> ``{model id: the aliases that run on it}``, both sorted."""
    users: dict[str, list[str]] = {}
    for alias in sorted(aliases):
        for model_id in aliases[alias]:
            users.setdefault(model_id, []).append(alias)
    return {model_id: tuple(users[model_id]) for model_id in sorted(users)}


def listed(names: Sequence[str], room: int) -> str:
    """``a, b, c``, or as many as fit in ``room`` characters and ``and 3 more``."""
    # n names of at least one character take at least 3n - 2: no more can fit.
    for shown in range(min(len(names), (room + 2) // 3), 0, -1):
        rest = len(names) - shown
        text = ", ".join(names[:shown]) + (f" and {rest} more" if rest else "")
        if len(text) <= room:
            return text
    return "too many to name here" if names else ""


def alarm_description(what: str, aliases: Sequence[str], tail: str) -> str:
    """``<what>; used by N aliases: a, b and 3 more. <tail>``, at most 1,024 characters
    (CloudWatch's limit): the aliases that do not fit are counted, not named."""
    head = f"{what}; used by {len(aliases)} alias{'' if len(aliases) == 1 else 'es'}: "
    tail = f". {tail}" if tail else ""
    text = head + listed(aliases, MAX_ALARM_DESCRIPTION - len(head) - len(tail)) + tail
    return text if len(text) <= MAX_ALARM_DESCRIPTION else text[: MAX_ALARM_DESCRIPTION - 3] + "..."


def watcher_config(environment: str, users: Mapping[str, Sequence[str]]) -> str:
    """WATCHER_CONFIG: the environment and each model's aliases (for the function's log).

    When all the names do not fit in ``MAX_CONFIG_BYTES``, the longest lists lose their
    last names, one at a time, and ``more`` counts them: the alarms still name them.
    """
    named = {model_id: list(aliases) for model_id, aliases in users.items()}
    more: dict[str, int] = {}

    def text() -> str:
        body = {"environment": environment, "namespace": NAMESPACE, "models": named}
        if more:
            body["more"] = dict(sorted(more.items()))
        return json.dumps(body, separators=(",", ":"))

    config = text()
    while config_size(config) > MAX_CONFIG_BYTES:
        # Drop names one at a time from the longest list until the bytes they took cover
        # the excess, then measure again (the counts in ``more`` take a few bytes back):
        # one serialization per round, not per name.
        excess = config_size(config) - MAX_CONFIG_BYTES
        while excess > 0:
            longest = max(named, key=lambda model_id: len(named[model_id]), default=None)
            if longest is None or not named[longest]:
                return config
            excess -= len(json.dumps(named[longest].pop()).encode()) + 1  # and its comma
            more[longest] = more.get(longest, 0) + 1
        config = text()
    return config


def config_size(config: str) -> int:
    """The bytes of Lambda's 4 KB of environment variables that WATCHER_CONFIG takes."""
    return len(CONFIG_ENV) + len(config.encode())


def _validate(
    *,
    aliases: Mapping[str, Sequence[str]],
    models: Sequence[str],
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
    made: dict[str, str] = {}
    for prefix, names in (
        ("Legacy", models),
        ("EndOfLife", models),
        ("LegacyInvocations", invoked),
    ):
        for name in sorted(names):
            alarm_id = prefix + alarm_id_part(name)
            if made.setdefault(alarm_id, name) != name:
                raise ValueError(
                    f"model ids {made[alarm_id]!r} and {name!r} both make alarm id "
                    f"{alarm_id!r}; rename one"
                )
    size = config_size(config)
    if size > MAX_CONFIG_BYTES:
        raise ValueError(
            f"the watcher's configuration of {len(models)} models must fit in "
            f"{MAX_CONFIG_BYTES} bytes of Lambda environment variables, got {size}; "
            "split the environment's aliases across watchers"
        )


class LifecycleWatcher(Construct):
    """Watch Bedrock's Legacy and end-of-life status of the models behind some aliases.

    :param environment: the environment name (the ``Environment`` metric dimension).
    :param aliases: ``family/alias`` -> the foundation model ids it runs on. The watcher
        derives its models from them: one check, one metric series and one pair of
        alarms per model, however many aliases share it. Each model's aliases travel in
        the function's environment (for its log), which Lambda caps at 4 KB: when they
        do not fit, the longest lists name fewer and count the rest; models whose ids
        alone do not fit (about 80) raise ValueError at synth.
    :param invoked_model_ids: ``ModelId`` values of Bedrock's own metrics to watch
        for ``LegacyModelInvocations``. Default: every model id of ``aliases``.
    :param end_of_life_warning_days: alarm when fewer days are left. Default: 90.
    :param schedule: when the check runs. Default: once a day.
    :param alarm_topic: notified of every alarm's ALARM and OK transitions.
        Default: none (add actions to ``alarms`` yourself).

    Attributes: ``environment_name``, ``aliases`` (``family/alias`` -> its model ids,
    without repeats), ``models`` (model id -> the aliases that run on it, sorted),
    ``function`` (a LifecycleFunction), ``dead_letter_queue``, ``rule``, ``alarms``
    (every alarm, by construct id), ``legacy_alarms``, ``end_of_life_alarms`` and
    ``legacy_invocation_alarms`` (by model id).

    Alarm construct ids come from model ids, so adding an alias leaves the alarms in
    place (a new model adds its own): ``Legacy<ModelId>`` and ``EndOfLife<ModelId>``
    per model of ``aliases`` (``LegacyAmazonNovaProV10``), ``LegacyInvocations<ModelId>``
    per model id of ``invoked_model_ids`` (``LegacyInvocationsAmazonNovaProV10``),
    ``WatcherErrors``: 2 x models + invoked ids + 1 alarms. Two model ids that make the
    same id raise ValueError. The Legacy and EndOfLife alarms' descriptions name the
    aliases on the model (at most 1,024 characters: the rest are counted).
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
        users = users_of_models(watched)
        models = list(users)
        invoked = sorted(set(invoked_model_ids if invoked_model_ids is not None else models))
        config = watcher_config(environment, users)
        _validate(
            aliases=watched,
            models=models,
            invoked=invoked,
            end_of_life_warning_days=end_of_life_warning_days,
            config=config,
        )
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.environment_name = environment
        self.aliases = watched
        self.models = users

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            # SSE-SQS: EventBridge cannot use the AWS managed aws/sqs KMS key of a DLQ.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            redrive_allow_policy=DEAD_LETTER_QUEUE_REDRIVE,
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
        # Ids from model ids, not positions or aliases: adding an alias must not replace
        # an alarm (a replaced alarm forgets its state until the next daily run). Only its
        # description, which names the aliases, changes: an update in place.
        for model_id, users_of_model in self.models.items():
            part = alarm_id_part(model_id)
            self.legacy_alarms[model_id] = self._alarm(
                f"Legacy{part}",
                metric=self.metric_is_legacy(model_id),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                description=alarm_description(
                    f"{environment} {model_id}: Bedrock marks this model Legacy, or it "
                    "reached its end of life",
                    users_of_model,
                    "See docs/governance.md",
                ),
            )
            self.end_of_life_alarms[model_id] = self._alarm(
                f"EndOfLife{part}",
                metric=self.metric_days_until_end_of_life(model_id),
                threshold=end_of_life_warning_days,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                description=alarm_description(
                    f"{environment} {model_id}: fewer than {end_of_life_warning_days} days "
                    "until this model reaches its end of life (0: reached)",
                    users_of_model,
                    "See docs/governance.md",
                ),
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

    def metric_is_legacy(self, model_id: str, **metric_options: object) -> cloudwatch.Metric:
        """1 when ``model_id`` is Legacy or ended, else 0 (Maximum per day)."""
        return self._metric(METRIC_IS_LEGACY, model_id, metric_options)

    def metric_days_until_end_of_life(
        self, model_id: str, **metric_options: object
    ) -> cloudwatch.Metric:
        """Days to the end of life of ``model_id``, 0 once reached (Minimum per day)."""
        return self._metric(METRIC_DAYS_UNTIL_END_OF_LIFE, model_id, metric_options)

    def _metric(
        self, name: str, model_id: str, metric_options: Mapping[str, object]
    ) -> cloudwatch.Metric:
        if model_id not in self.models:
            hint = (
                f"; {model_id!r} is an alias, and the watcher's metrics are per model: "
                f"use one of its models ({', '.join(self.aliases[model_id]) or 'none'})"
                if model_id in self.aliases
                else ""
            )
            raise ValueError(
                f"{model_id!r} is not a model watched here "
                f"(watched: {', '.join(self.models) or 'none'}){hint}"
            )
        _, statistic = contract.WATCHER_METRICS[name]
        props: dict[str, object] = {"period": ONE_DAY, "statistic": statistic, **metric_options}
        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=name,
            dimensions_map=dict(zip(DIMENSIONS, (self.environment_name, model_id), strict=True)),
            **props,  # type: ignore[arg-type]
        )
