"""Value types that the constructs take and the lifecycle file is made of.

Enums, rollout policies, alarm thresholds, canary-analysis and evaluation
settings, targets and versions. The constructs import them from here, never
from :mod:`bedrock_lifecycle.config` (docs/architecture.md); the lifecycle
file's schema (:mod:`bedrock_lifecycle.config.schema`) is built from them.
Every model forbids unknown keys and is immutable.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, model_validator

from .common import (
    LOG_RETENTION_DAYS,
    MAX_OUTPUT_TOKENS,
    MAX_RESERVED_CONCURRENCY,
    MAX_ROUTER_LATENCY_MS,
    AliasName,
    Arn,
    AwsAccount,
    AwsRegion,
    Description,
    EnvName,
    FamilyName,
    InferenceProfileId,
    ModelId,
    StrictModel,
    TagKey,
    TagValue,
    ThroughputName,
    VersionLabel,
)
from .customization import (
    MAX_ATTEMPTS,
    Customization,
    CustomizationType,
    CustomModelName,
    CustomModelSpec,
    InvocationLogData,
    JobNetwork,
    TrainingData,
    custom_model_hash,
    job_name,
    metadata_filters,
)
from .evaluation import DEFAULT_SCHEDULE, ContinuousEvaluation, schedule_errors
from .targets import Target

__all__ = [
    "DEFAULT_ROLLOUT",
    "DEFAULT_SCHEDULE",
    "LOG_RETENTION_DAYS",
    "MAX_ATTEMPTS",
    "MAX_OUTPUT_TOKENS",
    "MAX_RESERVED_CONCURRENCY",
    "MAX_ROUTER_LATENCY_MS",
    "MAX_SHIFT_MINUTES",
    "AlarmThresholds",
    "AliasName",
    "Arn",
    "AwsAccount",
    "AwsRegion",
    "CanaryAnalysis",
    "Commitment",
    "ContinuousEvaluation",
    "CustomModelName",
    "CustomModelSpec",
    "Customization",
    "CustomizationType",
    "Description",
    "EnvName",
    "Evaluation",
    "FamilyKind",
    "FamilyName",
    "Guardrail",
    "InferenceConfig",
    "InferenceOverride",
    "InferenceProfileId",
    "InvocationLogData",
    "JobNetwork",
    "LifecycleState",
    "ModelId",
    "ObjectLockMode",
    "RolloutPolicy",
    "RolloutStrategy",
    "StrictModel",
    "TagKey",
    "TagValue",
    "Target",
    "ThroughputName",
    "TrainingData",
    "VersionLabel",
    "VersionLifecycle",
    "VersionSpec",
    "custom_model_hash",
    "job_name",
    "metadata_filters",
    "policy_errors",
    "schedule_errors",
]


class RolloutStrategy(StrEnum):
    """How CodeDeploy moves an alias from one version to the next."""

    ALL_AT_ONCE = "all_at_once"
    CANARY = "canary"
    LINEAR = "linear"


class Commitment(StrEnum):
    """Provisioned throughput commitment term."""

    NONE = "none"
    ONE_MONTH = "one_month"
    SIX_MONTHS = "six_months"


class ObjectLockMode(StrEnum):
    """S3 Object Lock mode of the audit bucket."""

    GOVERNANCE = "GOVERNANCE"
    COMPLIANCE = "COMPLIANCE"


class LifecycleState(StrEnum):
    """The project's own lifecycle state of a version."""

    ACTIVE = "active"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


class FamilyKind(StrEnum):
    """What a family's router calls: Converse for chat, InvokeModel for embeddings."""

    CHAT = "chat"
    EMBEDDING = "embedding"


class InferenceOverride(StrEnum):
    """Inference settings a caller may override per request, if the alias allows it."""

    MAX_TOKENS = "max_tokens"
    TEMPERATURE = "temperature"
    TOP_P = "top_p"
    STOP_SEQUENCES = "stop_sequences"


class RolloutPolicy(StrictModel):
    """A rollout policy. Default (when nowhere set): canary 10 % for 10 minutes."""

    strategy: RolloutStrategy = Field(description="all_at_once, canary or linear")
    percent: int | None = Field(
        default=None,
        ge=1,
        le=99,
        description="canary: share of traffic on the new version during the interval; "
        "linear: share added at each step",
    )
    interval_minutes: int | None = Field(
        default=None,
        ge=1,
        le=2880,
        description="canary: minutes before the rest shifts; linear: minutes between steps",
    )

    @model_validator(mode="after")
    def _fields_match_strategy(self) -> RolloutPolicy:
        if self.strategy is RolloutStrategy.ALL_AT_ONCE:
            if self.percent is not None or self.interval_minutes is not None:
                raise ValueError("all_at_once takes neither percent nor interval_minutes")
        else:
            missing = [
                name for name in ("percent", "interval_minutes") if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"{self.strategy.value} needs {' and '.join(missing)}")
        return self

    @property
    def total_minutes(self) -> int:
        """Minutes from the first shift until all traffic is on the new version."""
        if self.strategy is RolloutStrategy.ALL_AT_ONCE:
            return 0
        assert self.percent is not None and self.interval_minutes is not None
        if self.strategy is RolloutStrategy.CANARY:
            return self.interval_minutes
        steps = -(-100 // self.percent) - 1  # the last step reaches 100 %
        return steps * self.interval_minutes


DEFAULT_ROLLOUT = RolloutPolicy(strategy=RolloutStrategy.CANARY, percent=10, interval_minutes=10)


class AlarmThresholds(StrictModel):
    """Regression alarm thresholds: each term's limit, both alarms' periods; all have defaults."""

    error_rate_percent: float = Field(
        default=5.0, gt=0, le=100, description="server errors + throttles over invocations"
    )
    alias_error_rate_percent: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="the same rate across every version the alias serves (the one still "
        "serving too); default: error_rate_percent",
    )
    throttle_rate_percent: float = Field(
        default=10.0, gt=0, le=100, description="throttled requests over invocations"
    )
    p99_latency_ms: int = Field(
        default=15000,
        ge=1,
        le=MAX_ROUTER_LATENCY_MS,
        description="p99 of router latency; at most the router's 4-minute timeout",
    )
    output_tokens_factor: float = Field(
        default=2.0,
        gt=1,
        le=100,
        description="the Regression alarm's output-tokens limit: this factor of "
        "baseline_output_tokens, in average output tokens per request",
    )
    baseline_output_tokens: int | None = Field(
        default=None,
        ge=1,
        le=MAX_OUTPUT_TOKENS,
        description="declared output tokens per request; no output-tokens term (cost) if unset",
    )
    period_seconds: Literal[10, 30, 60] = Field(
        default=10,
        description="period of the Regression alarm; 10 and 30 use high-resolution metrics "
        "(LambdaErrors: 60)",
    )
    evaluation_periods: int = Field(
        default=3, ge=1, le=30, description="periods each alarm looks back over"
    )
    datapoints_to_alarm: int = Field(
        default=2, ge=1, le=30, description="breaching periods among them that raise the alarm"
    )

    @model_validator(mode="after")
    def _datapoints_fit(self) -> AlarmThresholds:
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"datapoints_to_alarm ({self.datapoints_to_alarm}) must not exceed "
                f"evaluation_periods ({self.evaluation_periods})"
            )
        return self


class CanaryAnalysis(StrictModel):
    """The AfterAllowTraffic comparison of the new version with the previous one."""

    min_samples: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="requests the new version must serve during the rollout",
    )
    error_rate_tolerance_percent: float = Field(
        default=2.0, ge=0, le=100, description="percentage points worse than baseline allowed"
    )
    latency_tolerance_percent: float = Field(
        default=25.0,
        ge=0,
        le=1000,
        description="p99 latency may be this much worse than baseline",
    )


class Evaluation(StrictModel):
    """Golden prompts run by the BeforeAllowTraffic gate."""

    golden_prompts: Annotated[str, StringConstraints(min_length=1, max_length=1024)] = Field(
        description="JSONL file, relative to lifecycle.yaml and inside its folder"
    )
    pass_rate: float = Field(default=1.0, gt=0, le=1, description="share of prompts that must pass")
    continuous: ContinuousEvaluation = Field(
        default=ContinuousEvaluation(),
        description="the same prompts on a schedule, through each alias's live Lambda alias; "
        "default daily, every prompt, every environment",
    )

    @model_validator(mode="after")
    def _inside_the_folder(self) -> Evaluation:
        if not self.golden_prompts.isprintable():
            raise ValueError(
                "golden_prompts must be a path of printable characters (no NUL, line break "
                f"or other control character), got {self.golden_prompts!r}"
            )
        path = PurePosixPath(self.golden_prompts.replace("\\", "/"))
        if path.is_absolute() or re.match(r"^[A-Za-z]:", self.golden_prompts):
            raise ValueError(
                "golden_prompts must be a path relative to the lifecycle file, got the "
                f"absolute path {self.golden_prompts!r}"
            )
        if ".." in path.parts:
            raise ValueError(
                "golden_prompts must stay inside the lifecycle file's folder: no '..', got "
                f"{self.golden_prompts!r}"
            )
        return self


class InferenceConfig(StrictModel):
    """Inference settings a version fixes. Embedding families use dimensions/normalize."""

    max_tokens: int | None = Field(
        default=None,
        ge=1,
        le=MAX_OUTPUT_TOKENS,
        description="chat: most tokens to generate; unset: model's",
    )
    temperature: float | None = Field(default=None, ge=0, le=1, description="chat: 0 to 1")
    top_p: float | None = Field(default=None, ge=0, le=1, description="chat: 0 to 1")
    stop_sequences: tuple[Annotated[str, StringConstraints(min_length=1, max_length=256)], ...] = (
        Field(default=(), max_length=32, description="chat: sequences that end generation")
    )
    dimensions: Literal[256, 384, 512, 1024] | None = Field(
        default=None, description="embedding: vector length (Titan Text Embeddings v2)"
    )
    normalize: bool | None = Field(default=None, description="embedding: unit-length vectors")


class Guardrail(StrictModel):
    """A Bedrock guardrail applied to every request of a version."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{12}$")] = Field(
        description="guardrail id"
    )
    version: Annotated[str, StringConstraints(pattern=r"^([1-9][0-9]{0,7}|DRAFT)$")] = Field(
        description="a published version number (or DRAFT, not for production)"
    )


class VersionLifecycle(StrictModel):
    """The project's lifecycle state of a version. Default: active."""

    state: LifecycleState = Field(
        default=LifecycleState.ACTIVE, description="active, deprecated or retired"
    )
    sunset: dt.date | None = Field(
        default=None, description="deprecated: the date after which no alias may use it"
    )
    replacement: VersionLabel | None = Field(
        default=None, description="deprecated: the version callers should move to"
    )

    @model_validator(mode="after")
    def _deprecation_complete(self) -> VersionLifecycle:
        if self.state is LifecycleState.DEPRECATED:
            missing = [n for n in ("sunset", "replacement") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"a deprecated version needs {' and '.join(missing)}")
        elif self.state is LifecycleState.ACTIVE and (
            self.sunset is not None or self.replacement is not None
        ):
            raise ValueError("sunset and replacement apply to deprecated versions only")
        return self


class VersionSpec(StrictModel):
    """An immutable version: target plus inference settings (lifecycle is not content)."""

    target: Target = Field(description="where requests go")
    inference: InferenceConfig = Field(
        default=InferenceConfig(), description="inference settings fixed by the version"
    )
    system_prompt: Annotated[str, StringConstraints(min_length=1, max_length=20000)] | None = Field(
        default=None, description="chat: system prompt sent with every request"
    )
    guardrail: Guardrail | None = Field(
        default=None, description="chat: guardrail applied to every request"
    )
    lifecycle: VersionLifecycle = Field(
        default=VersionLifecycle(), description="lifecycle state (not part of the content)"
    )
    description: Description | None = Field(default=None, description="free text (not content)")

    # Fields that are not part of the version's content hash.
    NON_CONTENT: ClassVar[tuple[str, ...]] = ("lifecycle", "description")


# CodeDeploy runs a Lambda deployment for at most 50 hours: 48 between the
# first and the last traffic shift, plus one hour for each of the two hooks.
MAX_SHIFT_MINUTES = 48 * 60


def policy_errors(policy: RolloutPolicy) -> list[str]:
    """Why CodeDeploy could not run ``policy``; empty when it can.

    The schema already bounds each field; this also covers policies built in
    code (``model_construct``) and the total duration of linear policies.
    """
    if policy.strategy is RolloutStrategy.ALL_AT_ONCE:
        return []
    errors = []
    percent, interval = policy.percent, policy.interval_minutes
    if not isinstance(percent, int) or not 1 <= percent <= 99:
        errors.append(f"percent must be between 1 and 99, got {percent}")
    if not isinstance(interval, int) or not 1 <= interval <= MAX_SHIFT_MINUTES:
        errors.append(f"interval_minutes must be between 1 and {MAX_SHIFT_MINUTES}, got {interval}")
    if errors:
        return errors
    if policy.total_minutes > MAX_SHIFT_MINUTES:
        errors.append(
            f"linear {percent} % every {interval} min reaches 100 % only after "
            f"{policy.total_minutes} min; CodeDeploy stops a Lambda deployment after "
            f"{MAX_SHIFT_MINUTES} min (48 h) of shifting: use a larger percent or a shorter "
            "interval"
        )
    return errors
