"""The stack's one provider of ``Custom::BedrockProvisionedThroughput``: its handlers and IAM."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from .function import LifecycleFunction
from .polling_provider import polling_provider, sorted_at_synth, stack_wildcard
from .singletons import stack_singleton

PROVIDER_ID = "ProvisionedThroughputProvider"
SOURCE = "provisioned_throughput"

# The tag that marks a throughput as this stack's: the handler puts it on at create (it is
# in the resource's Tags), and every grant on an existing throughput requires it.
OWNER_TAG = "bedrock-lifecycle:environment"
# What the handlers may do to throughputs that carry this stack's OWNER_TAG value.
MANAGE_ACTIONS = (
    "bedrock:UpdateProvisionedModelThroughput",
    "bedrock:DeleteProvisionedModelThroughput",
)
# Reading is not conditioned on the tag: a throughput deleted by hand has no tag, and IAM
# would answer AccessDenied instead of Bedrock's ResourceNotFound, so a Delete of the stack
# could never learn that it is gone. Get changes nothing and returns no content.
READ_ACTIONS = ("bedrock:GetProvisionedModelThroughput",)
# What they may do with the declared models (the models a throughput serves). Create has
# no provisioned-model resource: its tag condition is on the request (aws:RequestTag).
CREATE_ACTIONS = ("bedrock:CreateProvisionedModelThroughput",)
MODEL_ACTIONS = ("bedrock:UpdateProvisionedModelThroughput",)
# is_complete reads status (READ_ACTIONS) and retries deletes that Bedrock deferred.
POLL_ACTIONS = ("bedrock:DeleteProvisionedModelThroughput",)


class ProvisionedThroughputProvider(Construct):
    """The stack's one provider of ``Custom::BedrockProvisionedThroughput``.

    Use :meth:`of`; it creates the provider on first use with the stable
    construct id ``ProvisionedThroughputProvider`` (the service token must not
    change between deployments). Polls every minute for at most one hour.

    The handlers may read, update, retag and delete only throughputs tagged
    ``bedrock-lifecycle:environment`` with a value a throughput of this stack
    registered (:meth:`add_owner`), may buy throughput only for the declared models
    (:meth:`add_model`) and only with that tag in the request, and may never remove
    that tag or change its value.

    Attributes: ``provider``, ``on_event``, ``is_complete`` (the handler functions),
    ``service_token``.
    """

    @classmethod
    def of(cls, scope: Construct) -> ProvisionedThroughputProvider:
        """The provider of the stack that holds ``scope`` (created once)."""
        return stack_singleton(scope, PROVIDER_ID, cls, lambda stack: cls(stack, PROVIDER_ID))

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self._throughput_arns = stack.format_arn(
            service="bedrock", resource="provisioned-model", resource_name="*"
        )
        self.on_event = LifecycleFunction(
            self,
            "OnEvent",
            source=SOURCE,
            handler="app.on_event",
            description="Creates, updates and deletes Bedrock provisioned throughputs",
            # Worst case: three Bedrock calls of five attempts with 20 s read timeouts each.
            # A timeout after a create would lose track of what was bought: be generous.
            timeout=cdk.Duration.minutes(10),
            service_name="provisioned-throughput",
        )
        self.is_complete = LifecycleFunction(
            self,
            "IsComplete",
            source=SOURCE,
            handler="app.is_complete",
            description="Waits for Bedrock provisioned throughputs to be InService or deleted",
            timeout=cdk.Duration.minutes(5),
            service_name="provisioned-throughput",
        )
        # Filled by each throughput (add_owner, add_model); rendered at synth.
        self._owners: list[str] = []
        self._models: list[str] = []
        owners = sorted_at_synth(self._owners)
        owned = {"StringEquals": {f"aws:ResourceTag/{OWNER_TAG}": owners}}

        def on_throughputs(
            sid: str, actions: Sequence[str], conditions: Mapping[str, Any] | None = None
        ) -> iam.PolicyStatement:
            """A statement on this account's and region's provisioned models."""
            return iam.PolicyStatement(
                sid=sid,
                actions=list(actions),
                resources=[self._throughput_arns],
                conditions=dict(conditions) if conditions else None,
            )

        # Reading is the one grant without the owner tag (READ_ACTIONS says why).
        self._owner_statements: list[tuple[iam.Role, list[iam.PolicyStatement]]] = [
            (
                self.on_event.role,
                [
                    on_throughputs("ReadThroughputs", READ_ACTIONS),
                    on_throughputs("ManageOwnedThroughputs", MANAGE_ACTIONS, owned),
                    # Retagging must not hand a throughput to another owner.
                    on_throughputs(
                        "TagOwnedThroughputs",
                        ["bedrock:TagResource"],
                        {**owned, "StringEqualsIfExists": {f"aws:RequestTag/{OWNER_TAG}": owners}},
                    ),
                    # Untagging must never remove the tag every grant here relies on.
                    on_throughputs(
                        "UntagOwnedThroughputs",
                        ["bedrock:UntagResource"],
                        {
                            **owned,
                            "ForAllValues:StringNotEqualsIgnoreCase": {"aws:TagKeys": [OWNER_TAG]},
                        },
                    ),
                ],
            ),
            (
                self.is_complete.role,
                [
                    on_throughputs("ReadThroughputs", READ_ACTIONS),
                    on_throughputs("PollOwnedThroughputs", POLL_ACTIONS, owned),
                ],
            ),
        ]
        # A throughput is bought only with this stack's owner tag on it.
        self._model_statements = [
            iam.PolicyStatement(
                sid="CreateOwnedThroughputsOfDeclaredModels",
                actions=list(CREATE_ACTIONS),
                conditions={"StringEquals": {f"aws:RequestTag/{OWNER_TAG}": owners}},
            ),
            iam.PolicyStatement(sid="UseDeclaredModels", actions=list(MODEL_ACTIONS)),
        ]
        self.provider = polling_provider(
            self,
            on_event=self.on_event,
            is_complete=self.is_complete,
            wildcard=stack_wildcard(stack, "provisioned-model"),
            wildcard_reason="Bedrock assigns a provisioned model's ARN when it is bought, so "
            "the handler is limited to provisioned-model/* of this stack's account and region",
        )
        self.service_token = self.provider.service_token

    def add_model(self, model_arn: str) -> None:
        """Let the handler buy throughput for ``model_arn`` (once per distinct ARN)."""
        if model_arn in self._models:
            return
        if not self._models:
            for statement in self._model_statements:
                self.on_event.role.add_to_principal_policy(statement)
        self._models.append(model_arn)
        for statement in self._model_statements:
            statement.add_resources(model_arn)

    def add_owner(self, owner: str) -> None:
        """Let the handlers manage throughputs tagged ``bedrock-lifecycle:environment=owner``
        (and buy throughputs only with such a tag), once per distinct value."""
        if owner in self._owners:
            return
        if not self._owners:
            for role, statements in self._owner_statements:
                for statement in statements:
                    role.add_to_principal_policy(statement)
        self._owners.append(owner)
