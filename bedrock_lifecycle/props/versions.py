"""What a version is: its target, inference settings, guardrail and lifecycle state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from .. import values
from ..values import LifecycleState
from .base import Props

__all__ = ["Guardrail", "InferenceConfig", "Target", "VersionLifecycle", "VersionSpec"]


@dataclass(frozen=True, kw_only=True)
class Target(Props):
    """Where a version's requests go: exactly one of the first six fields is set."""

    _MODEL = values.Target

    foundation_model: str | None = None
    """An on-demand foundation model id (``amazon.nova-lite-v1:0``). Default: none."""
    inference_profile: str | None = None
    """A system-defined (cross-region) inference profile id. Default: none."""
    application_inference_profile: str | None = None
    """An application inference profile's ARN; needs ``model``. Default: none."""
    provisioned_throughput: str | None = None
    """The name of a ``ProvisionedThroughput``; ``ModelVersion.from_spec`` then takes its
    ARN. Default: none."""
    custom_model_deployment: str | None = None
    """A custom model deployment's ARN made outside the stack. Default: none."""
    custom_model: str | None = None
    """The name of a custom model served on demand by a ``CustomModelDeployment``;
    ``ModelVersion.from_spec`` then takes its ``deployment_arn``. Default: none."""
    deployment: Literal["on_demand"] | None = None
    """``custom_model``: how it is served; unset, it is served on demand too, but
    ``"on_demand"`` spelt out is content (another ``version_id``). Default: none."""
    model: str | None = None
    """The foundation model behind an application inference profile or a custom deployment,
    for the grants and the end-of-life watch. Default: none."""
    destination_regions: tuple[str, ...] | None = None
    """Regions an inference profile routes to. Default: from the profile id's prefix."""

    @property
    def kind(self) -> str:
        """Which of the target kinds is set (``foundation_model``, ``inference_profile``, ...)."""
        return next(k for k in values.Target.KINDS if getattr(self, k) is not None)

    @property
    def value(self) -> str:
        """The id, ARN or name of the target."""
        return str(getattr(self, self.kind))


@dataclass(frozen=True, kw_only=True)
class InferenceConfig(Props):
    """Inference settings a version fixes; embedding versions use ``dimensions`` and
    ``normalize``."""

    _MODEL = values.InferenceConfig

    max_tokens: int | None = None
    """Chat: most tokens to generate (1-200000). Default: the model's."""
    temperature: float | None = None
    """Chat: 0 to 1. Default: the model's."""
    top_p: float | None = None
    """Chat: 0 to 1. Default: the model's."""
    stop_sequences: tuple[str, ...] = ()
    """Chat: up to 32 sequences that end generation. Default: none."""
    dimensions: Literal[256, 384, 512, 1024] | None = None
    """Embedding: vector length. Default: the model's."""
    normalize: bool | None = None
    """Embedding: unit-length vectors. Default: the model's."""


@dataclass(frozen=True, kw_only=True)
class Guardrail(Props):
    """A Bedrock guardrail applied to every request of a version."""

    _MODEL = values.Guardrail

    id: str
    """The guardrail's id (12 lowercase letters and digits). Default: none, required."""
    version: str
    """A published version number, or ``DRAFT`` (not for production). Default: none,
    required."""


@dataclass(frozen=True, kw_only=True)
class VersionLifecycle(Props):
    """The project's lifecycle state of a version (not part of its content)."""

    _MODEL = values.VersionLifecycle

    state: LifecycleState = LifecycleState.ACTIVE
    """``ACTIVE``, ``DEPRECATED`` or ``RETIRED``. Default: active."""
    sunset: dt.date | None = None
    """Deprecated: the date after which no alias may serve it. Default: none; required when
    deprecated."""
    replacement: str | None = None
    """Deprecated: the label of the version callers should move to. Default: none; required
    when deprecated."""


@dataclass(frozen=True, kw_only=True)
class VersionSpec(Props):
    """An immutable version's content: target, inference settings, system prompt and
    guardrail. Equal content gives an equal ``version_id``, whatever defaults are spelt out."""

    _MODEL = values.VersionSpec

    target: Target
    """Where requests go. Default: none, required."""
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    """Inference settings the version fixes. Default: ``InferenceConfig()`` (the model's)."""
    system_prompt: str | None = None
    """Chat: the system prompt sent with every request. Default: none."""
    guardrail: Guardrail | None = None
    """Chat: the guardrail applied to every request. Default: none."""
    lifecycle: VersionLifecycle = field(default_factory=VersionLifecycle)
    """The lifecycle state, which is not content. Default: active."""
    description: str | None = None
    """Free text, which is not content. Default: none."""
