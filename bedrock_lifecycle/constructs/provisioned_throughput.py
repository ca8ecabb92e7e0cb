"""Provisioned throughput for Amazon Bedrock, on a custom resource.

Bedrock has no CloudFormation resource for provisioned throughput, so
:class:`ProvisionedThroughput` is a ``Custom::BedrockProvisionedThroughput``
served by one provider per stack (:class:`ProvisionedThroughputProvider`),
whose handlers live in ``bedrock_lifecycle/lambdas/provisioned_throughput``.
The resource's Ref (physical id) is the provisioned model ARN.

A committed throughput is always retained on delete and on replacement
(``RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE``): Bedrock cannot delete it before
its term ends, and a stack must never get stuck on it. It is *not* retained when
its own creation fails: CloudFormation's rollback then sends a Delete, so a
purchase that failed or timed out is not left behind unknown to any stack.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
import jsii
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..shared import contract
from ..values import Commitment
from .throughput_provider import PROVIDER_ID, ProvisionedThroughputProvider

RESOURCE_TYPE = "Custom::BedrockProvisionedThroughput"

# lifecycle.yaml commitment -> Bedrock's commitmentDuration ("None": no commitment).
COMMITMENT_DURATIONS: dict[Commitment, str] = {
    Commitment(name): duration for name, duration in contract.COMMITMENT_DURATIONS.items()
}

INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


TAG_PREFIX = "bedrock-lifecycle"
# Tags under ``bedrock-lifecycle:`` are the project's own. Applied with this priority (the
# CDK default is 100), they win over any tag a user adds at the default priority.
BUILT_IN_TAG_PRIORITY = 1000
# The keys a throughput sets itself: a value for them in ``tags`` is ignored.
OWN_TAG_KEYS = tuple(f"{TAG_PREFIX}:{key}" for key in ("environment", "family", "version"))


def _unresolved(value: object) -> bool:
    return cdk.Token.is_unresolved(value)


# Retained on delete and replacement, deleted by the rollback of a failed creation.
COMMITTED_REMOVAL_POLICY = cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
RETAINED_POLICIES = (cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)


def validate_props(
    *,
    model: str,
    model_units: int,
    provisioned_model_name: str,
    commitment: Commitment,
    tags: Mapping[str, str],
    removal_policy: cdk.RemovalPolicy | None,
) -> None:
    """Check every prop before any resource is made; one error lists every problem."""
    problems: list[str] = []
    if not _unresolved(model_units) and (
        isinstance(model_units, bool) or not isinstance(model_units, int) or model_units < 1
    ):
        problems.append(f"model_units must be a whole number >= 1, got {model_units!r}")
    if not _unresolved(provisioned_model_name) and not (
        isinstance(provisioned_model_name, str)
        and 1 <= len(provisioned_model_name) <= contract.PROVISIONED_MODEL_NAME_MAX
        and contract.PROVISIONED_MODEL_NAME.fullmatch(provisioned_model_name)
    ):
        problems.append(
            "provisioned_model_name must be 1-63 characters of letters and digits, each "
            f"optionally followed by one - or _, got {provisioned_model_name!r}"
        )
    if not isinstance(commitment, Commitment):
        allowed = ", ".join(c.value for c in Commitment)
        problems.append(f"commitment must be a Commitment ({allowed}), got {commitment!r}")
    if not _unresolved(model) and not (
        isinstance(model, str)
        and len(model) <= 2048
        and any(
            p.fullmatch(model)
            for p in (
                contract.FOUNDATION_MODEL_ID,
                contract.FOUNDATION_MODEL_ARN,
                contract.CUSTOM_MODEL_ARN,
            )
        )
    ):
        problems.append(
            "model must be a foundation model id (for example amazon.nova-pro-v1:0:300k) or a "
            f"custom-model or foundation-model ARN, got {model!r}"
        )
    for key, value in tags.items():
        if _unresolved(key) or _unresolved(value):
            continue
        if not (
            1 <= len(key) <= contract.TAG_KEY_MAX and contract.TAG_TEXT.fullmatch(key)
        ) or key.lower().startswith("aws:"):
            problems.append(
                "tag keys must be 1-128 characters of letters, digits, spaces and ._:/=+@- "
                f"and must not start with aws:, got {key!r}"
            )
        if not (len(value) <= contract.TAG_VALUE_MAX and contract.TAG_TEXT.fullmatch(value)):
            problems.append(
                "tag values must be at most 256 characters of letters, digits, spaces and "
                f"._:/=+@-, got {value!r} for {key!r}"
            )
    if (
        isinstance(commitment, Commitment)
        and commitment is not Commitment.NONE
        and removal_policy is not None
        and removal_policy not in RETAINED_POLICIES
    ):
        problems.append(
            f"a throughput with commitment {commitment.value} is always retained (Bedrock cannot "
            f"delete it before its term ends), got removal_policy {removal_policy}"
        )
    if problems:
        raise ValueError("; ".join(problems))


def model_arn_of(scope: Construct, model: str) -> str:
    """The ARN IAM needs for ``model``: an ARN as given, a foundation model id in this region."""
    if _unresolved(model) or model.startswith("arn:"):
        return model
    stack = cdk.Stack.of(scope)
    return f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{model}"


class _ThroughputBase(Construct):
    """What a created and an imported throughput share."""

    provisioned_model_arn: str
    # What identifies the purchase behind the ARN (ModelVersion.purchase_key).
    purchase_key: str

    @property
    def model_arn(self) -> str:
        """The provisioned model ARN (``aws_bedrock.IModel``)."""
        return self.provisioned_model_arn

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` invoke the provisioned model (InvokeModel, Converse, streaming)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(INVOKE_ACTIONS),
            resource_arns=[self.provisioned_model_arn],
        )


@jsii.implements(bedrock.IModel)
class ImportedProvisionedThroughput(_ThroughputBase):
    """A throughput bought elsewhere; see :meth:`ProvisionedThroughput.from_provisioned_model_arn`.

    :param provisioned_model_arn: its ARN, ``arn:<partition>:bedrock:<region>:<account>:
        provisioned-model/<id>``, or a token.

    Attributes: ``provisioned_model_arn``, ``model`` (``aws_bedrock.IModel``).
    """

    def __init__(self, scope: Construct, construct_id: str, *, provisioned_model_arn: str) -> None:
        if not _unresolved(provisioned_model_arn) and not contract.PROVISIONED_MODEL_ARN.fullmatch(
            provisioned_model_arn
        ):
            raise ValueError(
                "provisioned_model_arn must be arn:<partition>:bedrock:<region>:<account>:"
                f"provisioned-model/<12 characters>, got {provisioned_model_arn!r}"
            )
        super().__init__(scope, construct_id)
        self.provisioned_model_arn = provisioned_model_arn
        self.purchase_key = provisioned_model_arn
        self.model: bedrock.IModel = bedrock.ProvisionedModel.from_provisioned_model_arn(
            self, "Model", provisioned_model_arn
        )


@jsii.implements(bedrock.IModel)
class ProvisionedThroughput(_ThroughputBase):
    """A Bedrock provisioned throughput (``Custom::BedrockProvisionedThroughput``).

    :param model: foundation model id (with its context suffix, for example
        ``amazon.nova-pro-v1:0:300k``), foundation-model ARN or custom-model ARN.
    :param model_units: whole number >= 1 of model units to buy.
    :param provisioned_model_name: Bedrock's name of the throughput, 1-63 characters
        of ``[0-9a-zA-Z]`` each optionally followed by ``-`` or ``_``. Renaming is done in place.
    :param commitment: term bought. Default: ``Commitment.NONE`` (hourly, deletable any time).
    :param allow_replacement: let a change that needs a new throughput (units, commitment,
        model of a foundation-model throughput) replace a committed one whose term has
        not ended; the old one is retained and keeps billing. Default: False (refused).
    :param tags: tags of the throughput. A value for one of the keys the throughput sets
        itself (``bedrock-lifecycle:environment``, ``:family``, ``:version``) is ignored
        with a warning. Default: none besides those.
    :param family: family served, tagged ``bedrock-lifecycle:family``. Default: not tagged.
    :param version: version(s) served, tagged ``bedrock-lifecycle:version``. Default: not tagged.
    :param environment: tagged ``bedrock-lifecycle:environment``, the owner tag: the
        provider's handlers may update, retag and delete only throughputs that carry
        the value of a throughput of their stack, and buy only with it. Keep it unique
        among the stacks of one account and region, and do not change it once bought
        (the handler could no longer touch the throughput). Default: the stack's name.
    :param removal_policy: what removing it from the stack does. Default:
        RETAIN_ON_UPDATE_OR_DELETE for a committed throughput (forced; RETAIN is accepted,
        anything else is an error), DESTROY otherwise.

    Attributes: ``provisioned_model_arn`` (Ref), ``model`` (``aws_bedrock.IModel``),
    ``resource`` (the ``CustomResource``), ``commitment``, ``provider``,
    ``removal_policy`` (the one applied), ``purchase_key`` (path, model, units and
    commitment: what a replacement changes; pass it to ``ModelVersion``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: str,
        model_units: int,
        provisioned_model_name: str,
        commitment: Commitment = Commitment.NONE,
        allow_replacement: bool = False,
        tags: Mapping[str, str] | None = None,
        family: str | None = None,
        version: str | None = None,
        environment: str | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
    ) -> None:
        stack = cdk.Stack.of(scope)
        # The environment tag is the owner tag the provider's IAM conditions rely on.
        owner = environment if environment is not None else stack.stack_name
        own = {
            f"{TAG_PREFIX}:{key}": value
            for key, value in (("family", family), ("version", version), ("environment", owner))
            if value is not None
        }
        given = dict(tags) if tags is not None else {}
        overridden = sorted(k for k in given if isinstance(k, str) and k.lower() in OWN_TAG_KEYS)
        all_tags = {k: v for k, v in given.items() if k not in overridden}
        all_tags.update(own)
        validate_props(
            model=model,
            model_units=model_units,
            provisioned_model_name=provisioned_model_name,
            commitment=commitment,
            tags=all_tags,
            removal_policy=removal_policy,
        )
        super().__init__(scope, construct_id)
        if overridden:
            cdk.Annotations.of(self).add_warning_v2(
                "bedrock-lifecycle:reserved-tag",
                f"tags {', '.join(overridden)} are set by the throughput itself; the values "
                "given in tags are ignored",
            )
        self.commitment = commitment
        self.provider = ProvisionedThroughputProvider.of(self)
        self.provider.add_model(model_arn_of(self, model))
        self.provider.add_owner(owner)
        committed = commitment is not Commitment.NONE
        self.removal_policy = (
            (removal_policy if removal_policy is not None else COMMITTED_REMOVAL_POLICY)
            if committed
            else (removal_policy if removal_policy is not None else cdk.RemovalPolicy.DESTROY)
        )
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                "ProvisionedModelName": provisioned_model_name,
                "ModelId": model,
                "ModelUnits": (
                    cdk.Token.as_string(model_units)
                    if _unresolved(model_units)
                    else str(model_units)
                ),
                "CommitmentDuration": COMMITMENT_DURATIONS[commitment],
                "AllowReplacement": "true" if allow_replacement else "false",
                "Tags": [{"Key": k, "Value": v} for k, v in sorted(all_tags.items())],
            },
            removal_policy=self.removal_policy,
        )
        self.provisioned_model_arn: str = self.resource.ref
        # A change of any of these buys a new throughput with a new ARN (the handler's
        # replacement), under the same logical id.
        self.purchase_key = (
            f"{self.node.path}:{model}:{model_units}:{COMMITMENT_DURATIONS[commitment]}"
        )
        self.model: bedrock.IModel = bedrock.ProvisionedModel.from_provisioned_model_arn(
            self, "Model", self.provisioned_model_arn
        )

    @staticmethod
    def from_provisioned_model_arn(
        scope: Construct, construct_id: str, provisioned_model_arn: str
    ) -> ImportedProvisionedThroughput:
        """Use a throughput bought outside this stack (``...:provisioned-model/<id>``)."""
        return ImportedProvisionedThroughput(
            scope, construct_id, provisioned_model_arn=provisioned_model_arn
        )


__all__ = [
    "BUILT_IN_TAG_PRIORITY",
    "COMMITMENT_DURATIONS",
    "PROVIDER_ID",
    "RESOURCE_TYPE",
    "ImportedProvisionedThroughput",
    "ProvisionedThroughput",
    "ProvisionedThroughputProvider",
]
