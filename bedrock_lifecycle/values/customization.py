"""Custom models: a model made elsewhere (``model_arn``), or a customization job declared here.

A :class:`CustomModelSpec` is content-addressed like a version: its
:func:`custom_model_hash` is recorded in ``lifecycle.lock``, and a changed
declaration needs a new name. A declared job's name and ``clientRequestToken``
derive from that hash, the project and the environment (:func:`job_name`), so
submitting it twice never starts two jobs.

Bounds are Bedrock's own (botocore's ``bedrock`` model, ``CreateModelCustomizationJob``).
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints, model_validator

from .common import Description, EnvName, InferenceProfileId, ModelId, StrictModel

# A name of the file: part of construct ids, job and deployment names, metric
# dimensions. Bedrock's names take no "--" and no trailing "-"; 32 characters leave
# room for the hash suffix in Bedrock's 63.
CustomModelName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=32)
]
# Bedrock's S3Uri: a bucket, then an optional key of safe characters.
S3Uri = Annotated[
    str,
    StringConstraints(
        pattern=r"^s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](/[-!_*'().a-zA-Z0-9]+)*/?$",
        max_length=1024,
    ),
]
CustomModelArn = Annotated[
    str,
    StringConstraints(
        pattern=r"^arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]{1,20}:\d{12}:custom-model/"
        r"[A-Za-z0-9.:/-]+$",
        max_length=1011,
    ),
]
KmsKeyArn = Annotated[
    str,
    StringConstraints(pattern=r"^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]{36}$"),
]
RoleArn = Annotated[
    str,
    StringConstraints(
        pattern=r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9_+=,.@/-]+$", max_length=2048
    ),
]
SubnetId = Annotated[str, StringConstraints(pattern=r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")]
SecurityGroupId = Annotated[str, StringConstraints(pattern=r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")]
# Bedrock's RequestMetadataMap key and value.
MetadataKey = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\s._:/=+$@-]{1,256}$")]
MetadataValue = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\s._:/=+$@-]{0,256}$")]
HyperparameterName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]
HyperparameterValue = Annotated[str, StringConstraints(min_length=1, max_length=256)]

# Bedrock: at most 16 filters in andAll, at most 10 validation data sets.
MAX_METADATA_FILTERS = 16
MAX_VALIDATORS = 10
# Attempts of one declared job (a failed job's name cannot be used again).
MAX_ATTEMPTS = 20


class CustomizationType(StrEnum):
    """What a customization job does (Bedrock's ``customizationType``)."""

    FINE_TUNING = "FINE_TUNING"
    CONTINUED_PRE_TRAINING = "CONTINUED_PRE_TRAINING"
    DISTILLATION = "DISTILLATION"
    REINFORCEMENT_FINE_TUNING = "REINFORCEMENT_FINE_TUNING"


class InvocationLogData(StrictModel):
    """Training records from the environment's own Bedrock invocation logs.

    The routers stamp every call with ``requestMetadata`` (alias, version_id,
    environment, request_id): filtering on it takes the production traffic of
    one alias or version as training data.
    """

    request_metadata: dict[MetadataKey, MetadataValue] = Field(
        min_length=1,
        max_length=MAX_METADATA_FILTERS,
        description="records whose requestMetadata has every one of these values, for "
        "example alias: summarizer/live and version_id: v2@...",
    )
    use_prompt_response: bool = Field(
        default=False,
        description="train on the logged answers too (default: prompts only; a distillation's "
        "teacher answers them)",
    )


class TrainingData(StrictModel):
    """Where a job's training records come from. Exactly one of the two."""

    s3_uri: S3Uri | None = Field(default=None, description="a JSONL file or prefix in S3")
    invocation_logs: InvocationLogData | None = Field(
        default=None,
        description="the environment's invocation logs (its audit bucket), filtered by "
        "requestMetadata; needs audit.invocation_logging and prompt_logging there",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> TrainingData:
        if (self.s3_uri is None) == (self.invocation_logs is None):
            raise ValueError("exactly one of s3_uri, invocation_logs must be set")
        return self


class JobNetwork(StrictModel):
    """The VPC a customization job reads and writes its data from."""

    subnet_ids: tuple[SubnetId, ...] = Field(
        min_length=1, max_length=16, description="subnets of the job"
    )
    security_group_ids: tuple[SecurityGroupId, ...] = Field(
        min_length=1, max_length=5, description="security groups of the job"
    )


class Customization(StrictModel):
    """A customization job, declared: what ``bedrock-lifecycle customize start`` submits."""

    base_model: ModelId = Field(description="the foundation model customized")
    type: CustomizationType = Field(
        default=CustomizationType.FINE_TUNING, description="what the job does"
    )
    environments: tuple[EnvName, ...] = Field(
        min_length=1,
        max_length=20,
        description="environments whose account and region run the job, one job each "
        "(a custom model lives in one account and region)",
    )
    training_data: TrainingData = Field(description="training records")
    validation_data: tuple[S3Uri, ...] = Field(
        default=(), max_length=MAX_VALIDATORS, description="validation data sets; default none"
    )
    output_uri: S3Uri = Field(description="where the job writes its metrics")
    hyperparameters: dict[HyperparameterName, HyperparameterValue] = Field(
        default={}, max_length=50, description="the base model's hyperparameters, as strings"
    )
    kms_key: KmsKeyArn | None = Field(
        default=None,
        description="customer managed key of the custom model and the job's data; default "
        "AWS owned",
    )
    teacher_model: ModelId | InferenceProfileId | None = Field(
        default=None, description="DISTILLATION: the model whose answers are learnt"
    )
    max_response_length: int | None = Field(
        default=None, ge=1, le=32768, description="DISTILLATION: longest teacher answer, tokens"
    )
    network: JobNetwork | None = Field(default=None, description="the job's VPC; default none")
    role_arn: RoleArn | None = Field(
        default=None,
        description="the job's service role; default the one the environment's stack creates",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Customization:
        if self.type is CustomizationType.REINFORCEMENT_FINE_TUNING:
            # CreateModelCustomizationJob takes it only with customizationConfig.rftConfig
            # (a grader, its own hyperparameters), which nothing here declares.
            raise ValueError(
                "type REINFORCEMENT_FINE_TUNING cannot be declared yet: Bedrock needs a grader "
                "for it (customizationConfig.rftConfig), which this file has no field for; run the "
                "job outside this file and declare its model with model_arn and base_model"
            )
        distilling = self.type is CustomizationType.DISTILLATION
        if distilling and self.teacher_model is None:
            raise ValueError("a DISTILLATION needs teacher_model (the model it learns from)")
        if not distilling and (self.teacher_model or self.max_response_length):
            raise ValueError("teacher_model and max_response_length apply to DISTILLATION only")
        repeated = sorted({e for e in self.environments if self.environments.count(e) > 1})
        if repeated:
            raise ValueError(f"environments lists {', '.join(repeated)} more than once")
        return self


class CustomModelSpec(StrictModel):
    """A custom model: made elsewhere (``model_arn``) or by a declared ``customization``."""

    model_arn: CustomModelArn | None = Field(
        default=None, description="a custom or imported model made outside this file"
    )
    base_model: ModelId | None = Field(
        default=None,
        description="with model_arn: the foundation model it was made from, whose Legacy and "
        "end-of-life dates it inherits (default: unknown, not judged)",
    )
    customization: Customization | None = Field(default=None, description="the job that makes it")
    description: Description | None = Field(default=None, description="free text (not content)")

    NON_CONTENT: ClassVar[tuple[str, ...]] = ("description",)

    @model_validator(mode="after")
    def _exactly_one(self) -> CustomModelSpec:
        if (self.model_arn is None) == (self.customization is None):
            raise ValueError("exactly one of model_arn, customization must be set")
        if self.customization is not None and self.base_model is not None:
            raise ValueError("base_model goes with model_arn; a customization has base_model")
        return self

    @property
    def foundation_model(self) -> str | None:
        """The foundation model it was made from, or None if the file does not say."""
        if self.customization is not None:
            return self.customization.base_model
        return self.base_model


def custom_model_hash(spec: CustomModelSpec) -> str:
    """sha256 of the canonical JSON of the declaration's content (defaults left out).

    A customization's ``environments`` are not content: the job is the same in each,
    and adding an environment (to run it in prod after staging) keeps the name, the
    jobs already run and the models the lock records.
    """
    exclude: dict[str, Any] = dict.fromkeys(CustomModelSpec.NON_CONTENT, True)
    exclude["customization"] = {"environments"}
    content = spec.model_dump(mode="json", exclude=exclude, exclude_defaults=True)
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def job_name(project: str, environment: str, name: str, spec: CustomModelSpec, attempt: int) -> str:
    """The job's name, its custom model's name and its ``clientRequestToken``: ``name-<12 hex>``
    (``-<attempt>`` after the first), the hex of the project, environment and content.

    At most 32 + 13 + 3 characters, inside Bedrock's 63 and its name patterns.
    """
    if not 1 <= attempt <= MAX_ATTEMPTS:
        raise ValueError(f"attempt must be from 1 to {MAX_ATTEMPTS}, got {attempt}")
    seed = f"{project}|{environment}|{custom_model_hash(spec)}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:12]
    out = f"{name}-{digest}" + (f"-{attempt}" if attempt > 1 else "")
    assert re.fullmatch(r"([0-9a-zA-Z][_-]?){1,63}", out), out
    return out


def metadata_filters(filters: dict[str, str]) -> dict[str, Any]:
    """Bedrock's ``requestMetadataFilters`` for records carrying every one of ``filters``:
    ``equals`` takes one pair, so two or more go under ``andAll``."""
    pairs = [{"equals": {k: v}} for k, v in sorted(filters.items())]
    return pairs[0] if len(pairs) == 1 else {"andAll": pairs}
