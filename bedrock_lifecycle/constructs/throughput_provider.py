"""The stack's one provider of ``Custom::BedrockProvisionedThroughput``: its handlers and IAM."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from ..nag import acknowledge
from ..nag.acknowledgements import (
    FRAMEWORK_FUNCTION_ACKNOWLEDGEMENTS,
    WAITER_ACKNOWLEDGEMENTS,
    acknowledge_all,
    acknowledge_inline_policy,
)
from .function import LifecycleFunction, encrypted_log_group, provider_props
from .network import acknowledge_provider_network
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
# The provider framework allows at most one hour; creating a throughput takes minutes.
TOTAL_TIMEOUT = cdk.Duration.hours(1)
QUERY_INTERVAL = cdk.Duration.minutes(1)


@jsii.implements(cdk.IStableListProducer)
class _Values:
    """The values of a list filled while the stack is built, sorted, at synth."""

    def __init__(self, values: list[str]) -> None:
        self._values = values

    def produce(self) -> list[str]:
        return sorted(self._values)


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
        owners = cdk.Lazy.uncached_list(_Values(self._owners))
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
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event.function,
            is_complete_handler=self.is_complete.function,
            query_interval=QUERY_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
            log_group=encrypted_log_group(self, "FrameworkLogGroup"),
            # The framework logs each request (without its presigned ResponseURL).
            framework_lambda_logging_level=lambda_.ApplicationLogLevel.INFO,
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=encrypted_log_group(self, "WaiterLogGroup"),
                level=cdk.aws_stepfunctions.LogLevel.ALL,
                include_execution_data=False,
            ),
            **provider_props(self),  # type: ignore[arg-type]
        )
        acknowledge_provider_network(self.provider)
        self.service_token = self.provider.service_token
        self._trace_waiter()
        self._acknowledge(stack)

    def _trace_waiter(self) -> None:
        """X-Ray tracing on the provider's waiter state machine (AWS Control Tower
        proactive control CT.STEPFUNCTIONS.PR.2): aws-cdk-lib's ``Provider`` has no
        option for it, so on its CloudFormation resource, with the write permissions
        tracing needs on the state machine's role."""
        waiter = self.provider.node.find_child("waiter-state-machine")
        machine = waiter.node.find_child("Resource")
        assert isinstance(machine, cdk.CfnResource), machine.node.path
        machine.add_property_override("TracingConfiguration.Enabled", True)
        role = waiter.node.find_child("Role")
        assert isinstance(role, iam.Role), role.node.path
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                resources=["*"],
            )
        )

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

    def _acknowledge(self, stack: cdk.Stack) -> None:
        """The findings of this provider, each on the narrowest construct, with why."""

        def literal(value: str, token: str) -> str:
            return value if not cdk.Token.is_unresolved(value) else token

        wildcard = (
            f"arn:{literal(stack.partition, '<AWS::Partition>')}:bedrock:"
            f"{literal(stack.region, '<AWS::Region>')}:"
            f"{literal(stack.account, '<AWS::AccountId>')}:provisioned-model/*"
        )
        for handler in (self.on_event, self.is_complete):
            acknowledge(
                handler.role,
                f"AwsSolutions-IAM5[Resource::{wildcard}]",
                "Bedrock assigns a provisioned model's ARN when it is bought, so the handler "
                "is limited to provisioned-model/* of this stack's account and region",
            )
            policy = handler.role.node.find_child("DefaultPolicy")
            acknowledge_inline_policy(
                policy,
                "the policy belongs to this one handler role and names its exact actions; "
                "a managed policy would only move the same statements",
            )

        def arn_of(construct: IConstruct) -> str:
            resource = construct.node.default_child
            assert isinstance(resource, cdk.CfnElement), construct.node.path
            return f"<{stack.resolve(stack.get_logical_id(resource))}.Arn>:*"

        framework = self.provider
        functions = {
            name: framework.node.find_child(name)
            for name in ("framework-onEvent", "framework-isComplete", "framework-onTimeout")
        }
        invoked = [self.on_event.function, self.is_complete.function]
        for function in functions.values():
            for target in invoked:
                acknowledge(
                    function,
                    f"AwsSolutions-IAM5[Resource::{arn_of(target)}]",
                    "the provider framework may invoke any version of this one handler "
                    "function (ARN:*), as aws-cdk-lib's Provider grants it",
                )
            acknowledge_all(function, FRAMEWORK_FUNCTION_ACKNOWLEDGEMENTS)
        waiter = framework.node.find_child("waiter-state-machine")
        for name in ("framework-isComplete", "framework-onTimeout"):
            acknowledge(
                waiter,
                f"AwsSolutions-IAM5[Resource::{arn_of(functions[name])}]",
                "the waiter state machine may invoke any version of the framework function "
                "it calls (ARN:*), as aws-cdk-lib's Provider grants it",
            )
        acknowledge_all(waiter, WAITER_ACKNOWLEDGEMENTS)
