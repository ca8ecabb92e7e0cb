"""The names, identifiers and bounds every value type shares, and their base model."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Names become parts of construct ids, SSM parameter paths and metric
# dimensions: keep them short, lowercase and free of separators we rely on.
EnvName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,15}$")]
FamilyName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
AliasName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
VersionLabel = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,31}$")]
# Bedrock's own pattern for provisionedModelName, 1-63 characters.
ThroughputName = Annotated[
    str, StringConstraints(pattern=r"^([0-9a-zA-Z][_-]?)+$", min_length=1, max_length=63)
]
ModelId = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9-]+\.[A-Za-z0-9._:-]+$", max_length=140)
]
InferenceProfileId = Annotated[
    str, StringConstraints(pattern=r"^[a-z-]+\.[a-z0-9-]+\.[A-Za-z0-9._:-]+$", max_length=140)
]
AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
AwsAccount = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Arn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:.+$")]
Description = Annotated[str, StringConstraints(max_length=1024)]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TagValue = Annotated[str, StringConstraints(max_length=256)]


# Bounds of numbers in the file: finite and meaningful, so that editors show them.
MAX_OUTPUT_TOKENS = 200_000
MAX_RESERVED_CONCURRENCY = 100_000  # over the account's Lambda quota, CloudFormation refuses
MAX_ROUTER_LATENCY_MS = 240_000  # the router's timeout (constructs.model_alias.ROUTER_TIMEOUT)

# The retention values CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


class StrictModel(BaseModel):
    """Base: unknown keys are errors, instances are immutable."""

    # No infinity or NaN anywhere: every number of the file ends up in a template, a
    # Lambda environment or a JSON settings file, none of which can hold them.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
