"""On-demand deployments of custom models, on a custom resource.

Bedrock serves a custom model on demand through a *custom model deployment*,
which CloudFormation has no resource for: :class:`CustomModelDeployment` is a
``Custom::BedrockCustomModelDeployment`` served by one provider per stack
(:class:`CustomModelDeploymentProvider`), whose handlers live in
``bedrock_lifecycle/lambdas/custom_model_deployment``. Its Ref (physical id) is
the deployment ARN, which routers call as their model id.

A deployment has no update: any change of its properties makes a new one under
a new Bedrock name, and CloudFormation deletes the old one in the clean-up,
after every alias has moved off the versions that call it. Nothing is
committed, so nothing is retained: removing the last version that uses it
deletes it, as does the rollback of a failed creation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..shared import contract
from .function import LifecycleFunction
from .polling_provider import polling_provider, sorted_at_synth, stack_wildcard
from .singletons import stack_singleton
from .throughput_provider import OWNER_TAG

RESOURCE_TYPE = "Custom::BedrockCustomModelDeployment"
PROVIDER_ID = "CustomModelDeploymentProvider"
SOURCE = "custom_model_deployment"
INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")

# Bedrock's modelDeploymentName is 1-63 characters; the handler adds "-<8 hex>".
NAME_PREFIX_MAX = 54
NAME_PATTERN = re.compile(r"([0-9a-zA-Z][_-]?)+")
DESCRIPTION_MAX = 200
CUSTOM_MODEL_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/[A-Za-z0-9.:/-]+"
)
# Bedrock's description pattern is ``.*``: no line break (the handler's rule too).
DESCRIPTION_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _unresolved(value: object) -> bool:
    return cdk.Token.is_unresolved(value)


class CustomModelDeploymentProvider(Construct):
    """The stack's one provider of ``Custom::BedrockCustomModelDeployment``.

    Use :meth:`of`; it is created on first use with the stable construct id
    ``CustomModelDeploymentProvider``. Polls every minute for at most one hour.

    The handlers may deploy only the declared custom models (:meth:`add_model`), only
    with the owner tag ``bedrock-lifecycle:environment`` of a deployment of this stack
    in the request (:meth:`add_owner`), and may delete only deployments that carry it.
    Reading a deployment is not conditioned (one deleted by hand has no tags, and the
    handler must learn that it is gone).

    Attributes: ``provider``, ``on_event``, ``is_complete``, ``service_token``.
    """

    @classmethod
    def of(cls, scope: Construct) -> CustomModelDeploymentProvider:
        """The provider of the stack that holds ``scope`` (created once)."""
        return stack_singleton(scope, PROVIDER_ID, cls, lambda stack: cls(stack, PROVIDER_ID))

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        deployments = stack.format_arn(
            service="bedrock", resource="custom-model-deployment", resource_name="*"
        )
        self.on_event = LifecycleFunction(
            self,
            "OnEvent",
            source=SOURCE,
            handler="app.on_event",
            description="Creates and deletes Bedrock custom model deployments",
            # Two Bedrock calls of five attempts with 20 s read timeouts each, and a lookup.
            timeout=cdk.Duration.minutes(5),
            service_name="custom-model-deployment",
        )
        self.is_complete = LifecycleFunction(
            self,
            "IsComplete",
            source=SOURCE,
            handler="app.is_complete",
            description="Waits for Bedrock custom model deployments to be Active or deleted",
            timeout=cdk.Duration.minutes(5),
            service_name="custom-model-deployment",
        )
        self._owners: list[str] = []
        self._models: list[str] = []
        owners = sorted_at_synth(self._owners)
        read = iam.PolicyStatement(
            sid="ReadDeployments",
            actions=["bedrock:GetCustomModelDeployment"],
            resources=[deployments],
        )
        delete = iam.PolicyStatement(
            sid="DeleteOwnedDeployments",
            actions=["bedrock:DeleteCustomModelDeployment"],
            resources=[deployments],
            conditions={"StringEquals": {f"aws:ResourceTag/{OWNER_TAG}": owners}},
        )
        # Create is authorized on the deployment and on the model it deploys.
        self._create = iam.PolicyStatement(
            sid="DeployDeclaredModelsWithTheOwnerTag",
            actions=["bedrock:CreateCustomModelDeployment"],
            resources=[deployments],
            conditions={"StringEquals": {f"aws:RequestTag/{OWNER_TAG}": owners}},
        )
        for role in (self.on_event.role, self.is_complete.role):
            role.add_to_principal_policy(read)
            role.add_to_principal_policy(delete)
        self.provider = polling_provider(
            self,
            on_event=self.on_event,
            is_complete=self.is_complete,
            wildcard=stack_wildcard(stack, "custom-model-deployment"),
            wildcard_reason="Bedrock assigns a deployment's ARN when it is made, so the "
            "handlers are limited to custom-model-deployment/* of this stack's account and "
            "region (delete and create further to the stack's owner tag)",
        )
        self.service_token = self.provider.service_token

    def add_model(self, model_arn: str) -> None:
        """Let the handler deploy ``model_arn`` (once per distinct ARN)."""
        if model_arn in self._models:
            return
        if not self._models:
            self.on_event.role.add_to_principal_policy(self._create)
        self._models.append(model_arn)
        self._create.add_resources(model_arn)

    def add_owner(self, owner: str) -> None:
        """Let the handlers create and delete deployments tagged
        ``bedrock-lifecycle:environment=owner`` (once per distinct value)."""
        if owner not in self._owners:
            self._owners.append(owner)


def validate_props(
    *, model_arn: str, deployment_name: str, description: str | None, tags: Mapping[str, str]
) -> None:
    """Check every prop before any resource is made; one error lists every problem."""
    problems: list[str] = []
    if not _unresolved(model_arn) and not (
        isinstance(model_arn, str)
        and len(model_arn) <= 1011
        and CUSTOM_MODEL_ARN.fullmatch(model_arn)
    ):
        problems.append(
            "model_arn must be arn:<partition>:bedrock:<region>:<account>:custom-model/..., "
            f"got {model_arn!r}"
        )
    if not (
        isinstance(deployment_name, str)
        and 1 <= len(deployment_name) <= NAME_PREFIX_MAX
        and NAME_PATTERN.fullmatch(deployment_name)
    ):
        problems.append(
            f"deployment_name must be 1-{NAME_PREFIX_MAX} letters and digits, each optionally "
            f"followed by one - or _, got {deployment_name!r}"
        )
    if description is not None and not (
        isinstance(description, str)
        and 1 <= len(description) <= DESCRIPTION_MAX
        and not DESCRIPTION_REFUSED.search(description)
    ):
        problems.append(
            f"description must be 1-{DESCRIPTION_MAX} characters without line breaks or "
            f"control characters, got {description!r}"
        )
    if len(tags) > contract.MAX_TAGS:
        problems.append(f"at most {contract.MAX_TAGS} tags, got {len(tags)}")
    for key, value in tags.items():
        if not (_unresolved(key) or _unresolved(value)):
            problems.extend(contract.tag_errors(key, value))
    if problems:
        raise ValueError("; ".join(problems))


class CustomModelDeployment(Construct):
    """An on-demand deployment of a custom model (``Custom::BedrockCustomModelDeployment``).

    :param model_arn: the custom model deployed (``arn:...:custom-model/...``).
    :param deployment_name: the start of its Bedrock name, 1-54 characters of
        ``[0-9a-zA-Z]`` each optionally followed by ``-`` or ``_``; the handler adds
        ``-<8 hex>`` of the stack, the logical id and the properties, so that a
        replacement never collides with the deployment it replaces.
    :param description: Bedrock's description. Default: none.
    :param tags: tags of the deployment. ``bedrock-lifecycle:environment`` is set from
        ``environment`` (a value given here is replaced). Default: none besides it.
    :param environment: the owner tag's value: the provider's handlers may delete only
        deployments that carry the value of a deployment of their stack. Default: the
        stack's name.

    Attributes: ``deployment_arn`` (Ref), ``resource`` (the ``CustomResource``),
    ``provider``, ``purchase_key`` (the path and every property: what a replacement
    changes; pass it to ``ModelVersion`` so that a replacement is a rollout).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_arn: str,
        deployment_name: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        environment: str | None = None,
    ) -> None:
        stack = cdk.Stack.of(scope)
        owner = environment if environment is not None else stack.stack_name
        all_tags = {k: v for k, v in (tags or {}).items() if k.lower() != OWNER_TAG}
        all_tags[OWNER_TAG] = owner
        validate_props(
            model_arn=model_arn,
            deployment_name=deployment_name,
            description=description,
            tags=all_tags,
        )
        super().__init__(scope, construct_id)
        self.provider = CustomModelDeploymentProvider.of(self)
        self.provider.add_model(model_arn)
        self.provider.add_owner(owner)
        properties: dict[str, object] = {
            "DeploymentName": deployment_name,
            "ModelArn": model_arn,
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(all_tags.items())],
        }
        if description is not None:
            properties["Description"] = description
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.deployment_arn: str = self.resource.ref
        # Any change of these makes a new deployment with a new ARN under the same
        # logical id: the template shows no change of the ARN the routers call.
        self.purchase_key = json.dumps(
            [self.node.path, stack.resolve(properties)], sort_keys=True, default=str
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` invoke the deployment (InvokeModel, Converse, streaming)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(INVOKE_ACTIONS), resource_arns=[self.deployment_arn]
        )


__all__ = [
    "PROVIDER_ID",
    "RESOURCE_TYPE",
    "CustomModelDeployment",
    "CustomModelDeploymentProvider",
]
