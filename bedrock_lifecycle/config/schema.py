"""The typed schema of ``lifecycle.yaml`` (pydantic v2).

Every model forbids unknown keys, so a misspelt key is an error rather than a
silently ignored setting. Field-level rules live here and in the value types of
:mod:`bedrock_lifecycle.values`, which the constructs share; rules that relate
two parts of the file (an alias naming a declared version, ...) live in
:mod:`bedrock_lifecycle.config.semantic`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from ..values import (
    DEFAULT_ROLLOUT,
    LOG_RETENTION_DAYS,
    MAX_RESERVED_CONCURRENCY,
    AlarmThresholds,
    AliasName,
    Arn,
    AwsAccount,
    AwsRegion,
    CanaryAnalysis,
    Commitment,
    CustomModelName,
    CustomModelSpec,
    Description,
    EnvName,
    Evaluation,
    FamilyKind,
    FamilyName,
    Guardrail,
    InferenceConfig,
    InferenceOverride,
    InferenceProfileId,
    LifecycleState,
    ModelId,
    ObjectLockMode,
    RolloutPolicy,
    RolloutStrategy,
    StrictModel,
    TagKey,
    TagValue,
    Target,
    ThroughputName,
    VersionLabel,
    VersionLifecycle,
    VersionSpec,
)

__all__ = [
    "DEFAULT_ROLLOUT",
    "LOG_RETENTION_DAYS",
    "AlarmThresholds",
    "AliasName",
    "AliasSpec",
    "Arn",
    "AuditSettings",
    "AwsAccount",
    "AwsRegion",
    "CanaryAnalysis",
    "Commitment",
    "CustomModelName",
    "CustomModelSpec",
    "Description",
    "EnvName",
    "EnvironmentSpec",
    "Evaluation",
    "FamilyKind",
    "FamilyName",
    "FamilySpec",
    "Guardrail",
    "InferenceConfig",
    "InferenceOverride",
    "InferenceProfileId",
    "LifecycleFile",
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
    "ThroughputSpec",
    "VersionLabel",
    "VersionLifecycle",
    "VersionSpec",
    "WatcherSettings",
]


class AliasSpec(StrictModel):
    """A stable name pointing at one version, with its rollout policy."""

    version: VersionLabel = Field(description="the version the alias serves")
    environment_versions: dict[EnvName, VersionLabel] = Field(
        default={},
        description="per-environment exceptions to version (for example a throughput-backed "
        "version in prod only); default none",
    )
    environments: tuple[EnvName, ...] | None = Field(
        default=None, description="environments that have this alias; default all"
    )

    def version_in(self, environment: str) -> str:
        """The version label this alias serves in ``environment``."""
        return self.environment_versions.get(environment, self.version)

    rollout: RolloutPolicy | None = Field(
        default=None, description="default: the environment's rollout policy"
    )
    alarms: AlarmThresholds | None = Field(
        default=None,
        description="overrides of the environment's alarm thresholds; keys left out keep "
        "the environment's value",
    )
    canary_analysis: CanaryAnalysis = Field(
        default=CanaryAnalysis(), description="the after-traffic comparison with the old version"
    )
    evaluation_gate: bool = Field(
        default=True,
        description="run the family's golden prompts before traffic moves (only where the "
        "family declares evaluation)",
    )
    allowed_overrides: tuple[InferenceOverride, ...] = Field(
        default=(), description="inference settings callers may override; default none"
    )
    max_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=MAX_RESERVED_CONCURRENCY,
        description="the most requests the alias serves at once (Lambda reserved concurrency "
        "of its router): caps its share of the account's Bedrock quota; default unreserved",
    )
    description: Description | None = Field(default=None, description="free text")


class FamilySpec(StrictModel):
    """A named use of models with its versions and aliases."""

    kind: FamilyKind = Field(
        default=FamilyKind.CHAT, description="chat (Converse) or embedding (InvokeModel)"
    )
    description: Description | None = Field(default=None, description="free text")
    evaluation: Evaluation | None = Field(
        default=None, description="golden prompts; without them aliases have no evaluation gate"
    )
    versions: dict[VersionLabel, VersionSpec] = Field(
        min_length=1, max_length=200, description="versions by label (v1, v2, ...)"
    )
    aliases: dict[AliasName, AliasSpec] = Field(
        min_length=1, max_length=200, description="aliases by name"
    )


class ThroughputSpec(StrictModel):
    """A provisioned throughput purchase, made in the listed environments."""

    model: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = Field(
        default=None,
        description="foundation model id (with context suffix) or custom model ARN; or set "
        "custom_model",
    )
    custom_model: CustomModelName | None = Field(
        default=None, description="a model declared under custom_models, instead of model"
    )
    model_units: int = Field(ge=1, le=1000, description="model units to buy")
    commitment: Commitment = Field(
        default=Commitment.NONE,
        description="none (hourly, deletable), one_month or six_months (kept until the term ends)",
    )
    environments: tuple[EnvName, ...] = Field(
        min_length=1, description="environments that buy it (they must allow it)"
    )
    allow_replacement: bool = Field(
        default=False, description="allow a change that replaces a committed throughput"
    )

    @model_validator(mode="after")
    def _one_model(self) -> ThroughputSpec:
        if (self.model is None) == (self.custom_model is None):
            raise ValueError("exactly one of model, custom_model must be set")
        return self


class AuditSettings(StrictModel):
    """Tamper-proof invocation audit storage of an environment."""

    object_lock_mode: ObjectLockMode = Field(
        default=ObjectLockMode.GOVERNANCE,
        description="COMPLIANCE: nobody can delete before retention ends; GOVERNANCE: "
        "privileged users can",
    )
    retention_days: int = Field(
        default=365, ge=1, le=36500, description="Object Lock retention of the audit bucket"
    )
    log_retention_days: int = Field(
        default=365, description="retention of the audit log group (a CloudWatch Logs value)"
    )
    invocation_logging: bool = Field(
        default=True,
        description="this environment owns Bedrock's account-wide invocation logging "
        "in its account and region",
    )

    @model_validator(mode="after")
    def _retention_allowed(self) -> AuditSettings:
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}, "
                f"got {self.log_retention_days}"
            )
        return self


class WatcherSettings(StrictModel):
    """The daily check of Bedrock's own model lifecycle."""

    end_of_life_warning_days: int = Field(
        default=90, ge=1, le=3650, description="alarm when a model's end of life is nearer"
    )


# CloudFormation allows 50 tags a resource; the stacks set up to 5 (project,
# environment, purpose, family, version).
MAX_USER_TAGS = 40


def _aws_id(prefix: str) -> object:
    # An EC2 id: the prefix, then 8 (older) or 17 lowercase hex digits.
    return Annotated[str, StringConstraints(pattern=rf"^{prefix}-([0-9a-f]{{8}}|[0-9a-f]{{17}})$")]


VpcId = _aws_id("vpc")
SubnetId = _aws_id("subnet")
SecurityGroupId = _aws_id("sg")
RouteTableId = _aws_id("rtb")
# Lambda takes at most 16 subnets and 5 security groups per function.
MAX_FUNCTION_SUBNETS = 16
MAX_FUNCTION_SECURITY_GROUPS = 5


class NetworkSettings(StrictModel):
    """The VPC every function of the environment runs in (imported by id, never looked up)."""

    vpc_id: VpcId = Field(description="the VPC, vpc-...")  # type: ignore[valid-type]
    subnet_ids: tuple[SubnetId, ...] = Field(  # type: ignore[valid-type]
        min_length=1,
        max_length=MAX_FUNCTION_SUBNETS,
        description="private subnets of the VPC for the functions' network interfaces "
        f"(1 to {MAX_FUNCTION_SUBNETS}; two or more availability zones for resilience)",
    )
    security_group_ids: tuple[SecurityGroupId, ...] = Field(  # type: ignore[valid-type]
        min_length=1,
        max_length=MAX_FUNCTION_SECURITY_GROUPS,
        description="security groups of those interfaces, allowing HTTPS out "
        f"(1 to {MAX_FUNCTION_SECURITY_GROUPS})",
    )
    functions_in_vpc: bool = Field(
        default=True,
        description="place the functions in the VPC; false moves them out while the "
        "endpoints and the roles' VPC access stay, the first of the two deploys that remove "
        "a network or change its VPC (docs/networking.md)",
    )
    create_endpoints: bool = Field(
        default=False,
        description="add VPC endpoints for every service the functions call (default: the "
        "VPC reaches AWS already, through shared endpoints or a NAT)",
    )
    endpoint_subnet_ids: tuple[SubnetId, ...] = Field(  # type: ignore[valid-type]
        default=(),
        max_length=MAX_FUNCTION_SUBNETS,
        description="subnets of the interface endpoints, at most one per availability zone "
        "(an endpoint takes one subnet per zone); default: subnet_ids",
    )
    route_table_ids: tuple[RouteTableId, ...] = Field(  # type: ignore[valid-type]
        default=(),
        max_length=50,
        description="route tables of the subnets, for the S3 gateway endpoint (needed with "
        "create_endpoints)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> NetworkSettings:
        lists = ("subnet_ids", "security_group_ids", "route_table_ids", "endpoint_subnet_ids")
        for name in lists:
            values = getattr(self, name)
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"{name} lists {', '.join(repeated)} more than once")
        if self.create_endpoints and not self.route_table_ids:
            raise ValueError(
                "create_endpoints needs route_table_ids: the S3 gateway endpoint goes into "
                "the route tables of the subnets"
            )
        if self.endpoint_subnet_ids and not self.create_endpoints:
            raise ValueError(
                "endpoint_subnet_ids is only used with create_endpoints: true; remove it or "
                "set create_endpoints"
            )
        if self.route_table_ids and not self.create_endpoints:
            raise ValueError(
                "route_table_ids is only used with create_endpoints: true (the S3 gateway "
                "endpoint); remove it or set create_endpoints"
            )
        return self

    @property
    def endpoint_subnets(self) -> tuple[str, ...]:
        """The interface endpoints' subnets: ``endpoint_subnet_ids``, or ``subnet_ids``."""
        return self.endpoint_subnet_ids or self.subnet_ids


class EnvironmentSpec(StrictModel):
    """One deployment environment: one CloudFormation stack."""

    account: AwsAccount | None = Field(default=None, description="default: environment-agnostic")
    region: AwsRegion | None = Field(default=None, description="default: environment-agnostic")
    rollout: RolloutPolicy = Field(
        default=DEFAULT_ROLLOUT, description="rollout policy of aliases that set none"
    )
    alarms: AlarmThresholds = Field(
        default=AlarmThresholds(), description="regression alarm thresholds of its aliases"
    )
    provisioned_throughput: bool = Field(
        default=False, description="whether throughputs may be bought here"
    )
    prompt_logging: bool = Field(
        default=False, description="audit records and invocation logs keep prompt and answer text"
    )
    require_evaluation_gate: bool = Field(
        default=False, description="every alias must run an evaluation gate before traffic moves"
    )
    audit: AuditSettings = Field(default=AuditSettings(), description="invocation audit trail")
    network: NetworkSettings | None = Field(
        default=None,
        description="run every function in this VPC (default: Lambda's own network)",
    )
    lifecycle_watcher: WatcherSettings = Field(
        default=WatcherSettings(), description="daily check of Bedrock model lifecycle"
    )
    alarm_emails: tuple[
        Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)], ...
    ] = Field(
        default=(),
        max_length=10,
        description="addresses subscribed to the stack's alarm topic (at most 10; use a list "
        "address for more people)",
    )
    tags: dict[TagKey, TagValue] = Field(
        default={},
        max_length=MAX_USER_TAGS,
        description=f"tags on every resource of the stack (at most {MAX_USER_TAGS}: "
        "CloudFormation allows 50 a resource, and the stack sets up to 5 of its own)",
    )


@dataclass(frozen=True)
class Placement:
    """One alias in one environment, and the label of the version it serves there."""

    environment: str
    family: str
    alias: str
    label: str

    @property
    def qualified_name(self) -> str:
        """``family/alias``."""
        return f"{self.family}/{self.alias}"


class LifecycleFile(StrictModel):
    """The whole ``lifecycle.yaml``."""

    schema_version: Literal[1] = Field(description="version of this file format")
    project: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,31}$")] = Field(
        default="bedrock-lifecycle",
        description="name used in tags, SSM paths and provisioned model names",
    )
    environments: dict[EnvName, EnvironmentSpec] = Field(
        min_length=1, max_length=20, description="environments by name; one stack each"
    )
    provisioned_throughputs: dict[ThroughputName, ThroughputSpec] = Field(
        default={}, max_length=100, description="provisioned throughput purchases by name"
    )
    custom_models: dict[CustomModelName, CustomModelSpec] = Field(
        default={},
        max_length=100,
        description="fine-tuned, distilled or imported models by name (docs/fine-tuning.md)",
    )
    families: dict[FamilyName, FamilySpec] = Field(
        min_length=1, max_length=500, description="model families by name"
    )

    def alias_environments(self, family: str, alias: str) -> tuple[str, ...]:
        """The environments alias ``family/alias`` exists in: its ``environments``, else all.

        An explicit empty list means none. Names that are not declared environments
        are kept (the reference checks report them); :meth:`placements` skips them.
        """
        spec = self.families[family].aliases[alias]
        return spec.environments if spec.environments is not None else tuple(self.environments)

    def placements(self) -> tuple[Placement, ...]:
        """Which alias serves which version label in which declared environment.

        The one resolution of aliases to environments (``environments``,
        ``environment_versions``) that everything else asks: the loader, the lock,
        the lifecycle rules and ``plan``. File order: families, their aliases, then
        each alias's environments.
        """
        return tuple(
            Placement(env, fam_name, alias_name, alias.version_in(env))
            for fam_name, family in self.families.items()
            for alias_name, alias in family.aliases.items()
            for env in self.alias_environments(fam_name, alias_name)
            if env in self.environments
        )
