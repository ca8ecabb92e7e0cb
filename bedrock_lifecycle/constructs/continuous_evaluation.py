"""ContinuousEvaluator: a family's golden prompts on a schedule, through the path callers use.

One Lambda function per stack (asset ``lambdas/continuous_evaluation``) and one
EventBridge rule per distinct schedule. Each run invokes every alias of the schedule
through its Lambda alias ``live`` with its family's golden prompts (or a random sample),
checks the answers with the evaluation gate's own checks (``shared/prompts.py``),
publishes ``ContinuousPassRate``, ``ContinuousLatency`` and ``ContinuousPrompts`` per
alias and per version that answered, and writes one report record to the log group it
is given (the environment's audit log group). :class:`ContinuousEvaluationAlarm` alarms
on an alias's pass rate; docs/operations.md says what to do when it fires.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..nag.acknowledgements import acknowledge_dead_letter_queue, acknowledge_inline_policy
from ..shared import contract, golden
from ..values import DEFAULT_SCHEDULE, schedule_errors
from .alarm_topic import AlarmTopic
from .function import ARCHITECTURE, RUNTIME, LifecycleFunction
from .keys import DEAD_LETTER_QUEUE_REDRIVE
from .model_alias import ModelAlias
from .staging import stage_files

SOURCE = "continuous_evaluation"
SETTINGS_DIR = "continuous"  # under /opt, the layer root
SETTINGS_FILE = f"/opt/{SETTINGS_DIR}/settings.json"
# Lambda's longest: a run of many aliases ends its prompts in time and reports.
TIMEOUT = cdk.Duration.minutes(15)
# Lambda holds at most 4 KB of environment variables; the function names of this
# stack's routers travel in one of them (each name at most 64 characters once deployed).
MAX_FUNCTIONS_BYTES = 3600
FUNCTION_NAME_ALLOWANCE = 64
# The pass-rate alarm's period: one run's datapoint falls into one period, and between
# runs the alarm keeps its state (missing data is ignored), so a schedule may be hourly
# or daily without the alarm ever dropping to INSUFFICIENT_DATA after a run.
ALARM_PERIOD = cdk.Duration.hours(1)
ONE_DAY = cdk.Duration.days(1)


@dataclass(frozen=True)
class EvaluatedAlias:
    """One alias the continuous evaluator runs golden prompts against.

    :param model_alias: the alias (a :class:`ModelAlias` of the evaluator's stack).
    :param golden_prompts: the family's golden-prompt file (JSONL,
        docs/evaluation-gate.md). Read at synth and staged with the function.
    :param pass_rate: the share of prompts that must pass (0 < rate <= 1); the alarm
        fires below it. Default: 1.0.
    :param schedule: an EventBridge ``rate(...)`` or ``cron(...)`` expression, at most
        hourly. Default: ``rate(1 day)``.
    :param sample: prompts per run, drawn at random each run. Default: every prompt.
    """

    model_alias: ModelAlias
    golden_prompts: Path
    pass_rate: float = 1.0
    schedule: str = DEFAULT_SCHEDULE
    sample: int | None = None

    @property
    def qualified_name(self) -> str:
        """``family/alias``."""
        return self.model_alias.qualified_name


def schedule_key(schedule: str) -> str:
    """The construct id part of a schedule: 8 hex digits of its expression."""
    return hashlib.sha256(schedule.encode()).hexdigest()[:8]


def _validate(aliases: Sequence[EvaluatedAlias]) -> None:
    if not aliases:
        raise ValueError("aliases must name at least one EvaluatedAlias, got none")
    names = [a.qualified_name for a in aliases]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"aliases must be evaluated once each, got {', '.join(repeated)} twice")
    for alias in aliases:
        where = f"EvaluatedAlias {alias.qualified_name}"
        if not 0 < alias.pass_rate <= 1:
            raise ValueError(f"{where}: pass_rate must be > 0 and <= 1, got {alias.pass_rate}")
        if alias.sample is not None and not 1 <= alias.sample <= golden.MAX_GOLDEN_PROMPTS:
            raise ValueError(
                f"{where}: sample must be 1-{golden.MAX_GOLDEN_PROMPTS}, got {alias.sample}"
            )
        problems = schedule_errors(alias.schedule)
        if problems:
            raise ValueError(f"{where}: {problems[0]}")
        kind = alias.model_alias.model_version.kind.value
        errors = golden.file_errors(Path(alias.golden_prompts), kind)
        if errors:
            raise ValueError(f"{where}: {alias.golden_prompts}: {errors[0]}")


def stage_settings(scope: Construct, environment: str, aliases: Sequence[EvaluatedAlias]) -> Path:
    """The settings layer's content: which aliases each schedule runs, their prompt
    files (one copy per distinct file) and pass rates; deterministic, like the hooks'."""
    files: dict[str, bytes] = {}
    entries = {}
    schedules: dict[str, list[str]] = {}
    for alias in aliases:
        data = Path(alias.golden_prompts).read_bytes()
        path = f"golden/{hashlib.sha256(data).hexdigest()[:16]}.jsonl"
        files[f"{SETTINGS_DIR}/{path}"] = data
        entries[alias.qualified_name] = {
            "family": alias.model_alias.model_version.family,
            "alias": alias.model_alias.alias_name,
            "prompts": path,
            "pass_rate": alias.pass_rate,
            "sample": alias.sample,
        }
        schedules.setdefault(alias.schedule, []).append(alias.qualified_name)
    settings = {"environment": environment, "schedules": schedules, "aliases": entries}
    files[f"{SETTINGS_DIR}/settings.json"] = json.dumps(
        settings, indent=1, sort_keys=True, ensure_ascii=False
    ).encode()
    return stage_files(scope, "continuous-settings", files)


def functions_variable(stack: cdk.Stack, aliases: Sequence[EvaluatedAlias]) -> str:
    """``ROUTER_FUNCTIONS``: ``{"family/alias": function name}`` (names CloudFormation
    gives, resolved at deploy).

    :raises ValueError: when it could outgrow Lambda's 4 KB of environment variables.
    """
    text = json.dumps(
        {a.qualified_name: a.model_alias.function.function_name for a in aliases},
        sort_keys=True,
        separators=(",", ":"),
    )
    tokens = len(cdk.Tokenization.reverse_string(text).tokens)
    worst = len(text.encode()) + tokens * FUNCTION_NAME_ALLOWANCE
    if worst > MAX_FUNCTIONS_BYTES:
        raise ValueError(
            f"the continuous evaluator of {len(aliases)} aliases must name their functions "
            f"in {MAX_FUNCTIONS_BYTES} bytes of environment variables, needs up to {worst}; "
            "split the aliases across evaluators (one per stack)"
        )
    return text


class ContinuousEvaluator(Construct):
    """Run golden prompts on a schedule against aliases, as callers reach them.

    :param environment: the environment name (the ``Environment`` metric dimension).
    :param aliases: the aliases to evaluate, each with its prompts and schedule.
    :param log_group: where the function logs its report records and metrics: the
        environment's audit log group. Default: its own log group.
    :param log_group_arn: the ARN to grant writes on, for a ``log_group`` imported from
        another stack. Default: ``log_group``'s.
    :param alarm_topic: notified of the errors alarm. Default: none.

    Resources: the function (``Function``, 15 minutes, one attempt per prompt, no retry
    of a failed run: a rerun would pay for every prompt again), its settings layer
    (``Settings``), a dead-letter queue (``DeadLetters``), one rule per distinct schedule
    (``Schedule<8 hex of the expression>``, input ``{"schedule": EXPRESSION}``) and the
    alarm ``EvaluatorErrors`` (the function failed in the last day). The role may invoke
    exactly each alias's ``live`` Lambda alias.

    Attributes: ``function`` (:class:`LifecycleFunction`), ``rules`` (schedule -> rule),
    ``alarms`` (by construct id), ``aliases``, ``settings_folder``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        aliases: Sequence[EvaluatedAlias],
        log_group: logs.ILogGroup | None = None,
        log_group_arn: str | None = None,
        alarm_topic: AlarmTopic | None = None,
    ) -> None:
        evaluated = tuple(aliases)
        _validate(evaluated)
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        variable = functions_variable(stack, evaluated)
        self.aliases = evaluated
        self.settings_folder = stage_settings(self, environment, evaluated)
        settings = lambda_.LayerVersion(
            self,
            "Settings",
            code=lambda_.Code.from_asset(str(self.settings_folder)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="bedrock-lifecycle continuous evaluation settings and golden prompts",
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            redrive_allow_policy=DEAD_LETTER_QUEUE_REDRIVE,
        )
        acknowledge_dead_letter_queue(
            self.dead_letter_queue,
            "this queue is itself the dead-letter queue of the continuous evaluator (its "
            "schedule targets and its asynchronous invocations)",
        )
        self.function = LifecycleFunction(
            self,
            "Function",
            source=SOURCE,
            description=f"{environment}: golden prompts on a schedule through each alias's "
            "live Lambda alias",
            environment={
                contract.CONTINUOUS_SETTINGS_ENV: SETTINGS_FILE,
                contract.CONTINUOUS_FUNCTIONS_ENV: variable,
            },
            timeout=TIMEOUT,
            memory_size=512,
            service_name=SOURCE,
            dead_letter_queue=self.dead_letter_queue,
            log_group=log_group,
            log_group_arn=log_group_arn,
        )
        self.function.function.add_layers(settings)
        # A failed run is not retried: every prompt would be paid for again.
        self.function.function.configure_async_invoke(
            retry_attempts=0, on_failure=destinations.SqsDestination(self.dead_letter_queue)
        )
        self.function.role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeTheLiveAliases",
                actions=["lambda:InvokeFunction"],
                resources=[a.model_alias.alias.function_arn for a in evaluated],
            )
        )
        acknowledge_inline_policy(
            self.function.role,
            "the evaluator role's policy names each live Lambda alias it invokes, belongs "
            "to this one role and is deleted with it",
        )
        self.rules: dict[str, events.Rule] = {}
        for schedule in dict.fromkeys(a.schedule for a in evaluated):
            self.rules[schedule] = events.Rule(
                self,
                f"Schedule{schedule_key(schedule)}",
                schedule=events.Schedule.expression(schedule),
                description=f"{environment}: continuous evaluation, {schedule}",
                targets=[
                    targets.LambdaFunction(
                        self.function.function,
                        event=events.RuleTargetInput.from_object({"schedule": schedule}),
                        retry_attempts=2,
                        dead_letter_queue=self.dead_letter_queue,
                    )
                ],
            )
        self.alarms: dict[str, cloudwatch.Alarm] = {
            "EvaluatorErrors": cloudwatch.Alarm(
                self,
                "EvaluatorErrors",
                metric=self.function.function.metric_errors(period=ONE_DAY, statistic="Sum"),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{environment}: a continuous evaluation run failed before "
                "it could report (see docs/operations.md)",
            )
        }
        if alarm_topic is not None:
            for alarm in self.alarms.values():
                alarm_topic.notify(alarm)


def metric_continuous_pass_rate(
    model_alias: ModelAlias, version_id: str | None = None, **options: object
) -> cloudwatch.Metric:
    """The continuous evaluation's pass rate of ``model_alias`` in percent (Minimum per
    hour): alias-wide, or of one ``version_id``."""
    return _continuous_metric(model_alias, contract.CONTINUOUS_PASS_RATE, version_id, options)


def metric_continuous_latency(
    model_alias: ModelAlias, version_id: str | None = None, **options: object
) -> cloudwatch.Metric:
    """The continuous evaluation's answer latency of ``model_alias`` (p50 per hour)."""
    return _continuous_metric(model_alias, contract.CONTINUOUS_LATENCY, version_id, options)


def _continuous_metric(
    model_alias: ModelAlias, name: str, version_id: str | None, options: dict[str, object]
) -> cloudwatch.Metric:
    dimensions = {
        "Environment": model_alias.environment_name,
        "Family": model_alias.model_version.family,
        "Alias": model_alias.alias_name,
    }
    if version_id is not None:
        dimensions["Version"] = version_id
    props: dict[str, object] = {
        "period": ALARM_PERIOD,
        "statistic": contract.CONTINUOUS_METRICS[name][1],
        **options,
    }
    return cloudwatch.Metric(
        namespace=contract.EVALUATION_NAMESPACE,
        metric_name=name,
        dimensions_map=dimensions,
        **props,  # type: ignore[arg-type]
    )


class ContinuousEvaluationAlarm(Construct):
    """Alarm when an alias's continuous-evaluation pass rate falls below its family's.

    :param model_alias: the alias.
    :param pass_rate: the share that must pass (0 < rate <= 1): the alarm fires below
        ``100 x pass_rate`` percent.
    :param alarm_topic: notified of ALARM and OK. Default: none.

    The alarm (``Resource``) reads the alias-wide ``ContinuousPassRate`` (Minimum over an
    hour, one period). Every run publishes it for every alias, 0 when the alias could
    not be reached; between runs missing data is ignored, so the alarm keeps the last
    run's verdict. It is not a rollback alarm: the deployment group's alarms watch the
    rollout, this one the days after.

    Attribute: ``alarm``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_alias: ModelAlias,
        pass_rate: float,
        alarm_topic: AlarmTopic | None = None,
    ) -> None:
        if not 0 < pass_rate <= 1:
            raise ValueError(f"pass_rate must be > 0 and <= 1, got {pass_rate}")
        super().__init__(scope, construct_id)
        percent = round(pass_rate * 100, 2)
        self.alarm = cloudwatch.Alarm(
            self,
            "Resource",
            metric=metric_continuous_pass_rate(model_alias),
            threshold=percent,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
            alarm_description=(
                f"{model_alias.environment_name} {model_alias.qualified_name}: fewer than "
                f"{percent:g} % of the golden prompts passed in the last continuous "
                "evaluation (or the alias could not be reached); see docs/operations.md"
            ),
        )
        if alarm_topic is not None:
            alarm_topic.notify(self.alarm)
