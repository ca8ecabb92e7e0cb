"""How an alias rolls out: policy, regression alarm thresholds, canary analysis, gate."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .. import values
from ..values import RolloutStrategy
from .base import Props

__all__ = ["AlarmThresholds", "CanaryAnalysis", "Evaluation", "RolloutPolicy"]


@dataclass(frozen=True, kw_only=True)
class RolloutPolicy(Props):
    """How CodeDeploy moves an alias's traffic to a new version.

    ``RolloutPolicy(strategy=RolloutStrategy.CANARY, percent=10, interval_minutes=10)`` is
    what an alias gets when nothing says otherwise (``DEFAULT_ROLLOUT``).
    """

    _MODEL = values.RolloutPolicy

    strategy: RolloutStrategy
    """``ALL_AT_ONCE``, ``CANARY`` or ``LINEAR``. Default: none, required."""
    percent: int | None = None
    """Canary: share (1-99) on the new version during the interval; linear: share added each
    step. Default: none; required for canary and linear, refused for all at once."""
    interval_minutes: int | None = None
    """Canary: minutes before the rest shifts; linear: minutes between steps (1-2880).
    Default: none; required for canary and linear, refused for all at once."""

    def _check_model(self, model: values.RolloutPolicy) -> None:
        problems = values.policy_errors(model)  # a linear policy of over 48 h
        if problems:
            raise ValueError("\n".join(f"RolloutPolicy: {p}" for p in problems))

    @property
    def total_minutes(self) -> int:
        """Minutes from the first shift until all traffic is on the new version."""
        return int(self.to_model().total_minutes)


DEFAULT_ROLLOUT = RolloutPolicy(strategy=RolloutStrategy.CANARY, percent=10, interval_minutes=10)


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds(Props):
    """The limits of the regression alarm's terms and the periods of both rollback alarms."""

    _MODEL = values.AlarmThresholds

    error_rate_percent: float = 5.0
    """Server errors and throttles over invocations of the new version. Default: 5."""
    alias_error_rate_percent: float | None = None
    """The same rate across every version the alias serves. Default: ``error_rate_percent``."""
    throttle_rate_percent: float = 10.0
    """Throttled requests over invocations of the new version. Default: 10."""
    p99_latency_ms: int = 15000
    """p99 of the router's latency, at most its 4-minute timeout. Default: 15000."""
    output_tokens_factor: float = 2.0
    """The output-tokens limit as this factor of ``baseline_output_tokens``. Default: 2."""
    baseline_output_tokens: int | None = None
    """Declared output tokens per request. Default: none (no output-tokens term)."""
    period_seconds: Literal[10, 30, 60] = 10
    """Period of the regression alarm; 10 and 30 are high resolution. Default: 10."""
    evaluation_periods: int = 3
    """Periods each alarm looks back over (1-30). Default: 3."""
    datapoints_to_alarm: int = 2
    """Breaching periods among them that raise the alarm. Default: 2."""


@dataclass(frozen=True, kw_only=True)
class CanaryAnalysis(Props):
    """What the AfterAllowTraffic hook requires of the new version against the old one."""

    _MODEL = values.CanaryAnalysis

    min_samples: int = 20
    """Requests the new version must serve during the rollout (1-100000). Default: 20."""
    error_rate_tolerance_percent: float = 2.0
    """Percentage points of error rate worse than the old version allowed. Default: 2."""
    latency_tolerance_percent: float = 25.0
    """How much worse (percent) the p99 latency may be than the old version's. Default: 25."""


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """The evaluation gate: golden prompts that must pass before any traffic moves.

    The same prompts on a schedule after the rollout (the file's ``continuous``) are
    :class:`ContinuousEvaluator`'s, one :class:`EvaluatedAlias` per alias.
    """

    golden_prompts: Path
    """The golden-prompt JSONL file, read and checked when the rollout is made (its format:
    docs/rollouts.md). Default: none, required."""
    pass_rate: float = 1.0
    """Share of the prompts that must pass, more than 0 and at most 1. Default: 1."""

    def __post_init__(self) -> None:
        if not isinstance(self.golden_prompts, Path):
            raise ValueError(
                f"Evaluation.golden_prompts: must be a pathlib.Path (got {self.golden_prompts!r})"
            )
        rate = self.pass_rate
        if (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not math.isfinite(rate)
            or not 0 < rate <= 1
        ):
            raise ValueError(
                f"Evaluation.pass_rate: must be a number more than 0 and at most 1 (got {rate!r})"
            )
