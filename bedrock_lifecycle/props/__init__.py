"""The props and value types the constructs take, as frozen dataclasses and enums.

Each field has one line of documentation and its default, like aws-cdk-lib's props.
Making a value checks it against the same bounds as the lifecycle file (its model in
:mod:`bedrock_lifecycle.values`, which is internal), so a bad value is refused where it
is written, with the field, the value and what is allowed. Import them from
:mod:`bedrock_lifecycle.constructs`, the package's one public surface.
"""

from __future__ import annotations

from ..values import (
    Commitment,
    FamilyKind,
    InferenceOverride,
    LifecycleState,
    ObjectLockMode,
    RolloutStrategy,
)
from .base import Props, require_props
from .rollout import DEFAULT_ROLLOUT, AlarmThresholds, CanaryAnalysis, Evaluation, RolloutPolicy
from .versions import Guardrail, InferenceConfig, Target, VersionLifecycle, VersionSpec

__all__ = [
    "DEFAULT_ROLLOUT",
    "AlarmThresholds",
    "CanaryAnalysis",
    "Commitment",
    "Evaluation",
    "FamilyKind",
    "Guardrail",
    "InferenceConfig",
    "InferenceOverride",
    "LifecycleState",
    "ObjectLockMode",
    "Props",
    "RolloutPolicy",
    "RolloutStrategy",
    "Target",
    "VersionLifecycle",
    "VersionSpec",
    "require_props",
]
