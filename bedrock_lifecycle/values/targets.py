"""Where a version's requests go (:class:`Target`)."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .common import Arn, AwsRegion, InferenceProfileId, ModelId, StrictModel, ThroughputName
from .customization import CustomModelName

# Regions a system-defined cross-region inference profile may route to, by the
# prefix of its id (Bedrock user guide, "Supported Regions and models for
# inference profiles"). A superset is harmless: the grant still names one model
# and nothing else. Set ``Target.destination_regions`` to override
# (``versions.destination_regions`` reads it).
PROFILE_DESTINATION_REGIONS: dict[str, tuple[str, ...]] = {
    "us": ("us-east-1", "us-east-2", "us-west-1", "us-west-2"),
    "us-gov": ("us-gov-east-1", "us-gov-west-1"),
    "ca": ("ca-central-1", "ca-west-1"),
    "eu": (
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
    ),
    "apac": (
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
    ),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
}
GLOBAL_PROFILE_PREFIX = "global"


class Target(StrictModel):
    """Where a version's requests go. Exactly one kind of target is set."""

    foundation_model: ModelId | None = Field(
        default=None, description="on-demand foundation model id"
    )
    inference_profile: InferenceProfileId | None = Field(
        default=None, description="system-defined (cross-region) inference profile id"
    )
    application_inference_profile: Arn | None = Field(
        default=None, description="application inference profile ARN"
    )
    provisioned_throughput: ThroughputName | None = Field(
        default=None, description="name of a throughput declared under provisioned_throughputs"
    )
    custom_model_deployment: Arn | None = Field(
        default=None, description="custom model deployment ARN made outside this file"
    )
    custom_model: CustomModelName | None = Field(
        default=None,
        description="name of a model declared under custom_models, served on demand by a "
        "deployment the stack creates (for a throughput, target that throughput instead)",
    )
    deployment: Literal["on_demand"] | None = Field(
        default=None, description="custom_model: how it is served; default on_demand"
    )
    model: ModelId | None = Field(
        default=None,
        description="foundation model behind an application inference profile or custom "
        "deployment (for IAM and lifecycle checks)",
    )
    destination_regions: tuple[AwsRegion, ...] | None = Field(
        default=None,
        description="regions a cross-region profile routes to; default from its prefix",
    )

    KINDS: ClassVar[tuple[str, ...]] = (
        "foundation_model",
        "inference_profile",
        "application_inference_profile",
        "provisioned_throughput",
        "custom_model_deployment",
        "custom_model",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        chosen = [k for k in self.KINDS if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError(
                f"exactly one of {', '.join(self.KINDS)} must be set, got "
                + (", ".join(chosen) if chosen else "none")
            )
        if self.application_inference_profile is not None and not re.search(
            r":application-inference-profile/", self.application_inference_profile
        ):
            raise ValueError(
                "application_inference_profile must be an application-inference-profile ARN"
            )
        if self.custom_model_deployment is not None and not re.search(
            r":custom-model-deployment/", self.custom_model_deployment
        ):
            raise ValueError("custom_model_deployment must be a custom-model-deployment ARN")
        if self.deployment is not None and self.custom_model is None:
            raise ValueError("deployment applies to custom_model targets only")
        if self.destination_regions is not None and self.kind not in (
            "inference_profile",
            "application_inference_profile",
        ):
            raise ValueError("destination_regions applies to inference profiles only")
        if self.model is not None and self.kind not in (
            "application_inference_profile",
            "custom_model_deployment",
        ):
            raise ValueError(
                "model applies to application inference profiles and custom deployments only"
            )
        return self

    @property
    def kind(self) -> str:
        """Which target kind is set (one of ``KINDS``)."""
        return next(k for k in self.KINDS if getattr(self, k) is not None)

    @property
    def value(self) -> str:
        """The id, ARN or name of the target."""
        return str(getattr(self, self.kind))
