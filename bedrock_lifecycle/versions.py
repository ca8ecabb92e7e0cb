"""Model versions: an immutable binding of a family to a model target and its settings.

A :class:`ModelVersion` is the value the router serves. Its ``version_id`` is
``label@<12 hex of sha256 of its canonical content>``, the hash the lock file
records. :meth:`ModelVersion.resolve` gives the exact ARNs the router needs
``bedrock:InvokeModel`` on, per target kind and, for system inference
profiles, per destination region (the table is in docs/aliases.md, "Targets
and the permissions they get").
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from . import props
from .values import FamilyKind, Target, VersionSpec
from .values.targets import GLOBAL_PROFILE_PREFIX, PROFILE_DESTINATION_REGIONS

ID_HEX_LENGTH = 12


def canonical_content(version: VersionSpec | props.VersionSpec) -> dict[str, Any]:
    """The content of a version as plain JSON values, defaults left out.

    A version's content is everything that changes what the model answers: its
    target and inference settings, system prompt and guardrail; its lifecycle
    state and description are not content. Only values that differ from the
    defaults count, so adding an optional setting later changes no existing id.
    """
    model = version.to_model() if isinstance(version, props.VersionSpec) else version
    return model.model_dump(
        mode="json", exclude=set(VersionSpec.NON_CONTENT), exclude_defaults=True
    )


def content_hash(version: VersionSpec | props.VersionSpec) -> str:
    """Full sha256 hex digest of the canonical JSON of a version's content."""
    text = json.dumps(
        canonical_content(version), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def version_id(label: str, version: VersionSpec | props.VersionSpec) -> str:
    """``label@<first 12 hex of the content hash>``: what audit records carry."""
    return id_of_hash(label, content_hash(version))


def id_of_hash(label: str, digest: str) -> str:
    """The version id of ``label`` whose content hash is ``digest``."""
    return f"{label}@{digest[:ID_HEX_LENGTH]}"


_PROFILE_PREFIX = re.compile(
    "^("
    + "|".join(re.escape(p) for p in (*PROFILE_DESTINATION_REGIONS, GLOBAL_PROFILE_PREFIX))
    + r")\."
)


@dataclass(frozen=True)
class ResolvedTarget:
    """A version's target in one partition, region and account.

    Values may be CDK tokens (an environment-agnostic stack, a throughput ARN).

    :ivar model_id: what the router passes as ``modelId``.
    :ivar model_arn: the ARN of the target, recorded in every audit record.
    :ivar invoke_arns: every ARN ``bedrock:InvokeModel`` must allow, no duplicates.
    :ivar guardrail_arn: the guardrail's ARN, or None without a guardrail.
    """

    model_id: str
    model_arn: str
    invoke_arns: tuple[str, ...]
    guardrail_arn: str | None


def foundation_model_arn(partition: str, region: str, model_id: str) -> str:
    """``arn:<partition>:bedrock:<region>::foundation-model/<id>`` (no account)."""
    return f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}"


def profile_prefix(profile_id: str) -> str:
    """The geography prefix of a system inference profile id: ``us.anthropic...`` -> ``us``."""
    return profile_id.split(".", 1)[0]


def profile_model_id(profile_id: str) -> str:
    """The model behind a system-defined inference profile: ``us.x.y`` -> ``x.y``.

    Only a known geography prefix is taken off; any other id is returned as it is.
    """
    return _PROFILE_PREFIX.sub("", profile_id, count=1)


def destination_regions(target: Target | props.Target) -> tuple[str, ...]:
    """Regions a system inference profile routes to: explicit, else from its prefix.

    :raises ValueError: for a prefix with no known regions and no explicit list.
    """
    if target.destination_regions is not None:
        return target.destination_regions
    assert target.inference_profile is not None
    prefix = profile_prefix(target.inference_profile)
    if prefix == GLOBAL_PROFILE_PREFIX:
        return ()
    regions = PROFILE_DESTINATION_REGIONS.get(prefix)
    if regions is None:
        known = ", ".join(sorted([*PROFILE_DESTINATION_REGIONS, GLOBAL_PROFILE_PREFIX]))
        raise ValueError(
            f"inference profile {target.inference_profile!r} has prefix {prefix!r} with no known "
            f"destination regions (known: {known}); set target.destination_regions"
        )
    return regions


def _region_of_arn(arn: str) -> str:
    return arn.split(":")[3]


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class ModelVersion:
    """One immutable version of a family, as the router serves it.

    Build it with :meth:`from_spec`. Two versions with equal content have the
    same ``version_id`` whatever their key order or default values written out.

    :param family: the family name.
    :param label: the version label (``v2``).
    :param spec: the version's content (``VersionSpec``; the lifecycle file's own model
        of it is converted).
    :param kind: what the router calls. Default: chat (Converse).
    :param provisioned_model_arn: the ARN of the provisioned throughput a
        ``provisioned_throughput`` target names (usually a token). Required for
        that target kind, refused for the others. Default: none.
    :param purchase_key: with ``provisioned_model_arn`` or ``deployment_arn``, what
        identifies the resource behind it (``ProvisionedThroughput.purchase_key``,
        ``CustomModelDeployment.purchase_key``). A replaced throughput gets a new ARN
        under the same logical id, which the template does not show; the alias mixes
        this key into its Lambda version and grants, so a replacement is a rollout.
        Default: none (for an ARN written out, which changes in the template).
    :param deployment_arn: the ARN of the on-demand deployment of a ``custom_model``
        target (``CustomModelDeployment.deployment_arn``). Required for that target kind,
        refused for the others. Default: none.
    """

    family: str
    label: str
    spec: props.VersionSpec
    kind: FamilyKind = FamilyKind.CHAT
    provisioned_model_arn: str | None = None
    purchase_key: str | None = None
    deployment_arn: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.spec, VersionSpec):  # the file's model: the builders' input
            object.__setattr__(self, "spec", props.VersionSpec.from_model(self.spec))
        if not isinstance(self.spec, props.VersionSpec):
            raise TypeError(
                f"spec must be a bedrock_lifecycle.constructs.VersionSpec, got {self.spec!r}"
            )
        if not isinstance(self.kind, FamilyKind):
            raise TypeError(f"kind must be a FamilyKind (CHAT or EMBEDDING), got {self.kind!r}")
        kind = self.target.kind
        if (kind == "custom_model") != (self.deployment_arn is not None):
            raise ValueError(
                f"{self.family}/{self.label} targets {kind}: deployment_arn (the ARN of the "
                "custom model's on-demand deployment) goes with custom_model targets, and only "
                "with them"
            )
        if kind == "provisioned_throughput" and self.provisioned_model_arn is None:
            raise ValueError(
                f"{self.family}/{self.label} targets provisioned throughput "
                f"{self.target.value!r}: pass provisioned_model_arn (the throughput's ARN)"
            )
        if (
            self.purchase_key is not None
            and self.provisioned_model_arn is None
            and self.deployment_arn is None
        ):
            raise ValueError(
                f"{self.family}/{self.label}: purchase_key goes with provisioned_model_arn or "
                f"deployment_arn, got purchase_key {self.purchase_key!r} alone"
            )
        if kind != "provisioned_throughput" and self.provisioned_model_arn is not None:
            raise ValueError(
                f"{self.family}/{self.label} targets {kind}, got a provisioned_model_arn; "
                "it applies to provisioned_throughput targets only"
            )
        if kind == "application_inference_profile" and self.target.model is None:
            raise ValueError(
                f"{self.family}/{self.label}: an application_inference_profile target needs "
                "model (the foundation model behind it) so the router can be granted it"
            )
        if kind == "inference_profile":
            destination_regions(self.target)  # fail now on an unknown prefix
        if self.kind is FamilyKind.EMBEDDING and kind != "foundation_model":
            # Only Titan text embeddings' body is implemented by the router.
            raise ValueError(
                f"{self.family}/{self.label}: embedding versions must target a foundation_model, "
                f"got {kind}"
            )

    @classmethod
    def from_spec(
        cls,
        family: str,
        label: str,
        spec: props.VersionSpec | VersionSpec,
        *,
        kind: FamilyKind = FamilyKind.CHAT,
        provisioned_model_arn: str | None = None,
        purchase_key: str | None = None,
        deployment_arn: str | None = None,
    ) -> ModelVersion:
        """The version ``family/label`` of ``spec``, a ``VersionSpec`` (the builders pass
        the lifecycle file's own model of it, the same content).

        :param kind: the family's kind. Default: chat.
        :param provisioned_model_arn: for a ``provisioned_throughput`` target, the
            throughput's ARN (``ProvisionedThroughput.provisioned_model_arn``). Default: none.
        :param purchase_key: with it, ``ProvisionedThroughput.purchase_key``. Default: none.
        :param deployment_arn: for a ``custom_model`` target, its deployment's ARN.
            Default: none.
        :raises ValueError: when the target cannot be served as declared.
        """
        return cls(
            family=family,
            label=label,
            spec=spec,  # type: ignore[arg-type]  # the file's model is converted
            kind=kind,
            provisioned_model_arn=provisioned_model_arn,
            purchase_key=purchase_key,
            deployment_arn=deployment_arn,
        )

    @property
    def target(self) -> props.Target:
        """Where requests go."""
        return self.spec.target

    @property
    def inference(self) -> props.InferenceConfig:
        """The inference settings the version fixes."""
        return self.spec.inference

    @property
    def system_prompt(self) -> str | None:
        """The system prompt sent before the caller's, or None."""
        return self.spec.system_prompt

    @property
    def guardrail(self) -> props.Guardrail | None:
        """The guardrail applied to every request, or None."""
        return self.spec.guardrail

    @functools.cached_property
    def content_hash(self) -> str:
        """Full sha256 of the canonical content: the value the lock file records."""
        return content_hash(self.spec)

    @property
    def version_id(self) -> str:
        """``label@<first 12 hex of content_hash>``: what requests and audit records carry."""
        return id_of_hash(self.label, self.content_hash)

    @property
    def qualified_name(self) -> str:
        """``family/label``: the version's key in the lock file."""
        return f"{self.family}/{self.label}"

    def resolve(self, *, partition: str, region: str, account: str) -> ResolvedTarget:
        """The model id, target ARN and the exact ARNs to grant, in one place.

        Arguments may be tokens (``Stack.partition``, ``Stack.region``, ``Stack.account``).
        """
        target = self.target
        kind = target.kind
        arns: list[str]
        if kind == "foundation_model":
            assert target.foundation_model is not None
            model_id = target.foundation_model
            model_arn = foundation_model_arn(partition, region, model_id)
            arns = [model_arn]
        elif kind == "inference_profile":
            assert target.inference_profile is not None
            model_id = target.inference_profile
            model_arn = f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{model_id}"
            base = profile_model_id(model_id)
            arns = [model_arn, foundation_model_arn(partition, region, base)]
            arns += [foundation_model_arn(partition, r, base) for r in destination_regions(target)]
            if profile_prefix(model_id) == GLOBAL_PROFILE_PREFIX:
                arns.append(f"arn:{partition}:bedrock:::foundation-model/{base}")
        elif kind == "application_inference_profile":
            assert target.application_inference_profile is not None
            assert target.model is not None
            model_id = model_arn = target.application_inference_profile
            regions = (
                target.destination_regions
                if target.destination_regions is not None
                else (_region_of_arn(model_arn),)
            )
            arns = [model_arn, *(foundation_model_arn(partition, r, target.model) for r in regions)]
        elif kind == "provisioned_throughput":
            assert self.provisioned_model_arn is not None
            model_id = model_arn = self.provisioned_model_arn
            arns = [model_arn]
        elif kind == "custom_model":
            assert self.deployment_arn is not None
            model_id = model_arn = self.deployment_arn
            arns = [model_arn]
        else:
            assert target.custom_model_deployment is not None
            model_id = model_arn = target.custom_model_deployment
            arns = [model_arn]
        guardrail = self.guardrail
        guardrail_arn = (
            f"arn:{partition}:bedrock:{region}:{account}:guardrail/{guardrail.id}"
            if guardrail is not None
            else None
        )
        return ResolvedTarget(
            model_id=model_id,
            model_arn=model_arn,
            invoke_arns=_unique(arns),
            guardrail_arn=guardrail_arn,
        )


# IAM's limit of one managed policy document: 6,144 characters, whitespace not counted.
MANAGED_POLICY_LIMIT = 6144
# The longest partition, region and account an ARN can have here: the size is a bound.
_WIDEST = {"partition": "aws-us-gov", "region": "ap-southeast-4", "account": "123456789012"}
# The log group a router writes to, at its widest: CloudFormation names it after the
# stack and the construct, and no generated log group name of the project's stacks
# comes near 256 characters (CloudWatch allows 512; a stack name allows 128).
_WIDEST_LOG_GROUP_NAME = "x" * 256
# What rides along in a router's grants policy (LifecycleFunction.base_statements):
# writing its log group, sending X-Ray traces, decrypting its environment variables.
# Counted so that the bound is of the whole document IAM receives, not only of its
# Bedrock part.
ROUTER_BASE_STATEMENTS: tuple[dict[str, object], ...] = (
    {
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Effect": "Allow",
        "Resource": (
            f"arn:{_WIDEST['partition']}:logs:{_WIDEST['region']}:{_WIDEST['account']}:"
            f"log-group:{_WIDEST_LOG_GROUP_NAME}:*"
        ),
    },
    {
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        "Effect": "Allow",
        "Resource": "*",
    },
    {
        "Action": "kms:Decrypt",
        "Effect": "Allow",
        "Resource": (
            f"arn:{_WIDEST['partition']}:kms:{_WIDEST['region']}:{_WIDEST['account']}:"
            f"key/{'0' * 8}-{'0' * 4}-{'0' * 4}-{'0' * 4}-{'0' * 12}"
        ),
    },
)


def grants_document_size(versions: tuple[ModelVersion, ...] | list[ModelVersion]) -> int:
    """Characters of the grants policy of a router that may call ``versions``, at most.

    Measured with the widest partition, region and account, and a provisioned
    model ARN in place of a throughput's token, so that the bound holds wherever
    the stack deploys; the whole document, with what every router's policy carries
    besides its Bedrock grants (:data:`ROUTER_BASE_STATEMENTS`).
    """
    invoke: dict[str, None] = {}
    guardrails: dict[str, None] = {}
    for version in versions:
        probe = version
        if version.provisioned_model_arn is not None:
            probe = ModelVersion(
                family=version.family,
                label=version.label,
                spec=version.spec,
                kind=version.kind,
                provisioned_model_arn=(
                    f"arn:{_WIDEST['partition']}:bedrock:{_WIDEST['region']}:"
                    f"{_WIDEST['account']}:provisioned-model/{'x' * 12}"
                ),
            )
        target = probe.resolve(**_WIDEST)
        invoke.update(dict.fromkeys(target.invoke_arns))
        if target.guardrail_arn is not None:
            guardrails[target.guardrail_arn] = None
    statements: list[dict[str, object]] = [
        {
            "Sid": "InvokeTheFamilysVersions",
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": list(invoke),
        }
    ]
    if guardrails:
        statements.append(
            {
                "Sid": "ApplyTheFamilysGuardrails",
                "Effect": "Allow",
                "Action": "bedrock:ApplyGuardrail",
                "Resource": list(guardrails),
            }
        )
    statements.extend(ROUTER_BASE_STATEMENTS)
    document = {"Version": "2012-10-17", "Statement": statements}
    return len(json.dumps(document, separators=(",", ":")))


def check_grants_size(name: str, versions: tuple[ModelVersion, ...] | list[ModelVersion]) -> None:
    """Raise ValueError when the grants of router ``name`` cannot fit one managed policy."""
    size = grants_document_size(versions)
    if size > MANAGED_POLICY_LIMIT:
        raise ValueError(
            f"the Bedrock grants of {name} need {size} characters, more than the "
            f"{MANAGED_POLICY_LIMIT} of one IAM managed policy ({len(versions)} servable "
            "versions of its family); retire the versions no alias needs any more"
        )
