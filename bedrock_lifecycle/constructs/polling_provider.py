"""A custom resource ``Provider`` of two handlers (``on_event`` and ``is_complete``) that
polls: its waiter state machine logged and traced, its findings acknowledged where they
are. The throughput and custom model deployment providers are built by it."""

from __future__ import annotations

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

# The provider framework allows at most one hour.
TOTAL_TIMEOUT = cdk.Duration.hours(1)
QUERY_INTERVAL = cdk.Duration.minutes(1)


def polling_provider(
    owner: Construct,
    *,
    on_event: LifecycleFunction,
    is_complete: LifecycleFunction,
    wildcard: str,
    wildcard_reason: str,
) -> cr.Provider:
    """``Provider`` ``owner/Provider`` polling every minute for at most an hour.

    :param wildcard: the resource pattern (as cdk-nag prints it) the handlers' roles are
        granted because Bedrock names the resources when it makes them.
    :param wildcard_reason: why, acknowledged on both handler roles.
    """
    provider = cr.Provider(
        owner,
        "Provider",
        on_event_handler=on_event.function,
        is_complete_handler=is_complete.function,
        query_interval=QUERY_INTERVAL,
        total_timeout=TOTAL_TIMEOUT,
        log_group=encrypted_log_group(owner, "FrameworkLogGroup"),
        # The framework logs each request (without its presigned ResponseURL).
        framework_lambda_logging_level=lambda_.ApplicationLogLevel.INFO,
        disable_waiter_state_machine_logging=False,
        waiter_state_machine_log_options=cr.LogOptions(
            destination=encrypted_log_group(owner, "WaiterLogGroup"),
            level=cdk.aws_stepfunctions.LogLevel.ALL,
            include_execution_data=False,
        ),
        **provider_props(owner),  # type: ignore[arg-type]
    )
    acknowledge_provider_network(provider)
    _trace_waiter(provider)
    for handler in (on_event, is_complete):
        acknowledge(handler.role, f"AwsSolutions-IAM5[Resource::{wildcard}]", wildcard_reason)
        acknowledge_inline_policy(
            handler.role.node.find_child("DefaultPolicy"),
            "the policy belongs to this one handler role and names its exact actions; "
            "a managed policy would only move the same statements",
        )
    _acknowledge_framework(provider, [on_event.function, is_complete.function])
    return provider


@jsii.implements(cdk.IStableListProducer)
class _Values:
    """The values of a list filled while the stack is built, sorted, at synth."""

    def __init__(self, values: list[str]) -> None:
        self._values = values

    def produce(self) -> list[str]:
        return sorted(self._values)


def sorted_at_synth(values: list[str]) -> list[str]:
    """A token for ``values`` (filled while the stack is built: each resource registers
    its owner tag), rendered sorted at synth."""
    return cdk.Lazy.uncached_list(_Values(values))


def stack_wildcard(stack: cdk.Stack, resource: str) -> str:
    """``arn:<partition>:bedrock:<region>:<account>:<resource>/*`` as cdk-nag prints it."""

    def literal(value: str, token: str) -> str:
        return value if not cdk.Token.is_unresolved(value) else token

    return (
        f"arn:{literal(stack.partition, '<AWS::Partition>')}:bedrock:"
        f"{literal(stack.region, '<AWS::Region>')}:"
        f"{literal(stack.account, '<AWS::AccountId>')}:{resource}/*"
    )


def _trace_waiter(provider: cr.Provider) -> None:
    """X-Ray tracing on the waiter state machine (AWS Control Tower proactive control
    CT.STEPFUNCTIONS.PR.2): aws-cdk-lib's ``Provider`` has no option for it, so on its
    CloudFormation resource, with the write permissions tracing needs on its role."""
    waiter = provider.node.find_child("waiter-state-machine")
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


def _acknowledge_framework(provider: cr.Provider, invoked: list[lambda_.Function]) -> None:
    """The findings of aws-cdk-lib's framework functions and waiter, each where it is."""
    stack = cdk.Stack.of(provider)

    def arn_of(construct: IConstruct) -> str:
        resource = construct.node.default_child
        assert isinstance(resource, cdk.CfnElement), construct.node.path
        return f"<{stack.resolve(stack.get_logical_id(resource))}.Arn>:*"

    functions = {
        name: provider.node.find_child(name)
        for name in ("framework-onEvent", "framework-isComplete", "framework-onTimeout")
    }
    for function in functions.values():
        for target in invoked:
            acknowledge(
                function,
                f"AwsSolutions-IAM5[Resource::{arn_of(target)}]",
                "the provider framework may invoke any version of this one handler "
                "function (ARN:*), as aws-cdk-lib's Provider grants it",
            )
        acknowledge_all(function, FRAMEWORK_FUNCTION_ACKNOWLEDGEMENTS)
    waiter = provider.node.find_child("waiter-state-machine")
    for name in ("framework-isComplete", "framework-onTimeout"):
        acknowledge(
            waiter,
            f"AwsSolutions-IAM5[Resource::{arn_of(functions[name])}]",
            "the waiter state machine may invoke any version of the framework function "
            "it calls (ARN:*), as aws-cdk-lib's Provider grants it",
        )
    acknowledge_all(waiter, WAITER_ACKNOWLEDGEMENTS)
