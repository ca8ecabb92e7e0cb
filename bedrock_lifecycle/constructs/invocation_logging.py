"""The provider of ``Custom::BedrockInvocationLogging``: one handler, one per stack."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from ..nag import acknowledge, logical_id
from ..nag.acknowledgements import acknowledge_inline_policy
from .function import LifecycleFunction, encrypted_log_group, provider_props
from .network import acknowledge_provider_network
from .singletons import stack_singleton

PROVIDER_ID = "InvocationLoggingProvider"


def invocation_logging_provider(scope: Construct) -> cr.Provider:
    """The stack's one provider for ``Custom::BedrockInvocationLogging`` (created on first use).

    Its construct id is fixed: the service token of existing resources depends on it.
    """
    return stack_singleton(scope, PROVIDER_ID, cr.Provider, _invocation_logging_provider)


def _invocation_logging_provider(stack: cdk.Stack) -> cr.Provider:
    holder = Construct(stack, f"{PROVIDER_ID}Handler")
    handler = LifecycleFunction(
        holder,
        "Function",
        source="invocation_logging",
        description="Custom::BedrockInvocationLogging: puts and deletes Bedrock's model "
        "invocation logging configuration",
        timeout=cdk.Duration.minutes(2),
    )
    handler.role.add_to_policy(
        iam.PolicyStatement(
            actions=[
                "bedrock:PutModelInvocationLoggingConfiguration",
                "bedrock:GetModelInvocationLoggingConfiguration",
                "bedrock:DeleteModelInvocationLoggingConfiguration",
            ],
            # These actions have no resource type: the account-wide setting is the resource.
            resources=["*"],
        )
    )
    acknowledge(
        handler.role,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray and Bedrock's *ModelInvocationLoggingConfiguration actions have no resource-level "
        "permissions; the wildcard covers only those actions",
    )
    provider = cr.Provider(
        stack,
        PROVIDER_ID,
        on_event_handler=handler.function,
        log_group=encrypted_log_group(holder, "FrameworkLogGroup"),
        **provider_props(stack),  # type: ignore[arg-type]
    )
    acknowledge_provider_network(provider)
    _acknowledge_framework(provider, handler)
    acknowledge_inline_policy(
        handler.role,
        "the handler role's policy belongs to this one role and is deleted with it",
    )
    return provider


def _acknowledge_framework(provider: cr.Provider, handler: LifecycleFunction) -> None:
    """The provider framework's own function, as aws-cdk-lib builds it."""
    framework = provider.node.find_child("framework-onEvent")
    reasons = {
        f"AwsSolutions-IAM5[Resource::<{logical_id(handler.function)}.Arn>:*]": (
            "the provider framework invokes every version of its own handler function"
        ),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]": (
            "aws-cdk-lib's provider framework function uses the AWS managed basic execution "
            "policy; it only writes its own logs"
        ),
        "Serverless-LambdaDefaultMemorySize": (
            "the provider framework function only relays CloudFormation requests; aws-cdk-lib "
            "sizes it"
        ),
        "Serverless-LambdaTracing": (
            "the provider framework function only relays CloudFormation requests; the handler "
            "it calls is traced"
        ),
        **{
            f"{pack}-{rule}": reason
            for pack in ("NIST.800.53.R5", "HIPAA.Security")
            for rule, reason in FRAMEWORK_RULES.items()
        },
        "Serverless-LambdaDLQ": FRAMEWORK_RULES["LambdaDLQ"],
    }
    for finding, reason in reasons.items():
        acknowledge(framework, finding, reason)


FRAMEWORK_RULES = {
    "LambdaDLQ": "invoked synchronously by CloudFormation through the provider framework, "
    "which reports failures back to the stack",
    "LambdaConcurrency": "runs once per stack operation; reserving concurrency would strand "
    "account concurrency",
    "LambdaInsideVPC": "calls only the handler function and CloudFormation's response URL; "
    "the project deploys no VPC",
    "IAMNoInlinePolicy": "aws-cdk-lib's provider framework grants its role exactly the "
    "invoke permission on its handler",
}
