"""The project's cdk-nag acknowledgements that more than one resource shares, as data.

Each entry is ``(finding, reason)``: the narrowest finding id and why it does
not apply. The constructs apply them with :func:`acknowledge_all`; every
acknowledgement of the shipped app is also listed in
``tests/stacks/acknowledged_findings.txt``, so a new or reworded one shows in review.
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from constructs import IConstruct

# NIST 800-53 and HIPAA flag every inline IAM policy, aws-cdk-lib's default policies too.
INLINE_POLICY_FINDINGS = ("NIST.800.53.R5-IAMNoInlinePolicy", "HIPAA.Security-IAMNoInlinePolicy")


def acknowledge_all(scope: IConstruct, acknowledgements: Iterable[tuple[str, str]]) -> None:
    """Acknowledge each ``(finding, reason)`` on ``scope`` (in one call to the CDK: a
    router's acknowledgements cost one round trip to jsii, not one each)."""
    from . import acknowledgment

    acks = [acknowledgment(finding, reason) for finding, reason in acknowledgements]
    if acks:
        cdk.Validations.of(scope).acknowledge(*acks)


def acknowledge_dead_letter_queue(scope: IConstruct, reason: str) -> None:
    """A dead-letter queue has no dead-letter queue of its own (AwsSolutions, Serverless)."""
    acknowledge_all(
        scope, ((f, reason) for f in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"))
    )


def acknowledge_inline_policy(scope: IConstruct, reason: str) -> None:
    """Acknowledge the NIST 800-53 and HIPAA inline-policy findings on ``scope``."""
    acknowledge_all(scope, ((finding, reason) for finding in INLINE_POLICY_FINDINGS))


# Findings of aws-cdk-lib's provider framework functions (Node.js, written by AWS,
# configured by the Provider construct and not by its users), with why.
FRAMEWORK_FUNCTION_ACKNOWLEDGEMENTS: tuple[tuple[str, str], ...] = (
    (
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        "aws-cdk-lib's provider framework gives its functions the basic execution role; "
        "it only allows writing their own logs",
    ),
    (
        "NIST.800.53.R5-IAMNoInlinePolicy",
        "aws-cdk-lib's provider framework grants its functions their invoke permissions inline",
    ),
    (
        "HIPAA.Security-IAMNoInlinePolicy",
        "aws-cdk-lib's provider framework grants its functions their invoke permissions inline",
    ),
    (
        "Serverless-LambdaDefaultMemorySize",
        "aws-cdk-lib's provider framework functions only relay CloudFormation events; the "
        "Provider construct does not expose their memory size",
    ),
    (
        "Serverless-LambdaTracing",
        "aws-cdk-lib's provider framework functions only relay events; the handlers they call "
        "are traced with X-Ray",
    ),
    (
        "Serverless-LambdaDLQ",
        "CloudFormation and the waiter state machine invoke the framework; failures reach "
        "CloudFormation as FAILED responses, not a queue",
    ),
    (
        "NIST.800.53.R5-LambdaDLQ",
        "CloudFormation and the waiter state machine invoke the framework; failures reach "
        "CloudFormation as FAILED responses, not a queue",
    ),
    (
        "HIPAA.Security-LambdaDLQ",
        "CloudFormation and the waiter state machine invoke the framework; failures reach "
        "CloudFormation as FAILED responses",
    ),
    (
        "NIST.800.53.R5-LambdaInsideVPC",
        "the framework functions call only AWS APIs (Lambda, Step Functions, the "
        "CloudFormation response URL) over TLS; the project deploys no VPC",
    ),
    (
        "HIPAA.Security-LambdaInsideVPC",
        "the framework functions call only AWS APIs over TLS; the project deploys no VPC",
    ),
    (
        "NIST.800.53.R5-LambdaConcurrency",
        "the framework functions run once per stack operation on a throughput; reserving "
        "concurrency would strand account capacity",
    ),
    (
        "HIPAA.Security-LambdaConcurrency",
        "the framework functions run once per stack operation on a throughput",
    ),
)

# Findings of the provider framework's waiter state machine, with why.
WAITER_ACKNOWLEDGEMENTS: tuple[tuple[str, str], ...] = (
    (
        "AwsSolutions-IAM5[Resource::*]",
        "CloudWatch Logs delivery actions of Step Functions logging have no resource-level "
        "permissions; the wildcard covers only those actions",
    ),
    (
        "NIST.800.53.R5-IAMNoInlinePolicy",
        "aws-cdk-lib's Provider grants the waiter state machine its permissions inline",
    ),
    (
        "HIPAA.Security-IAMNoInlinePolicy",
        "aws-cdk-lib's Provider grants the waiter state machine its permissions inline",
    ),
    (
        "AwsSolutions-SF2",
        "the waiter only polls the is_complete handler once a minute; the handlers are "
        "traced with X-Ray and the Provider does not expose tracing of its state machine",
    ),
    (
        "Serverless-StepFunctionStateMachineXray",
        "the waiter only polls the is_complete handler; the handlers are traced with X-Ray",
    ),
)

AUDIT_BUCKET_ACKNOWLEDGEMENTS: tuple[tuple[str, str], ...] = (
    (
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "Object Lock with versioning keeps every audit object immutable for its retention; "
        "cross-region replication is a per-organisation decision outside this stack",
    ),
    (
        "HIPAA.Security-S3BucketReplicationEnabled",
        "Object Lock with versioning keeps every audit object immutable for its retention; "
        "cross-region replication is a per-organisation decision outside this stack",
    ),
)

ACCESS_LOG_BUCKET_ACKNOWLEDGEMENTS: tuple[tuple[str, str], ...] = (
    (
        "AwsSolutions-S1",
        "this bucket is the server access log destination; logging it into itself would loop",
    ),
    (
        "NIST.800.53.R5-S3BucketLoggingEnabled",
        "this bucket is the server access log destination; logging it into itself would loop",
    ),
    (
        "HIPAA.Security-S3BucketLoggingEnabled",
        "this bucket is the server access log destination; logging it into itself would loop",
    ),
    (
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "S3 server access logging delivers only to buckets encrypted with SSE-S3, not SSE-KMS",
    ),
    (
        "HIPAA.Security-S3DefaultEncryptionKMS",
        "S3 server access logging delivers only to buckets encrypted with SSE-S3, not SSE-KMS",
    ),
    (
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "access logs of the audit bucket stay in the region of the audit trail",
    ),
    (
        "HIPAA.Security-S3BucketReplicationEnabled",
        "access logs of the audit bucket stay in the region of the audit trail",
    ),
)

# Findings every function of the project raises by design, with why.
FUNCTION_ACKNOWLEDGEMENTS: tuple[tuple[str, str], ...] = (
    (
        "NIST.800.53.R5-LambdaInsideVPC",
        "the functions call only AWS APIs (Bedrock, CloudWatch, CodeDeploy, SSM) over TLS "
        "with SigV4; the project deploys no VPC of its own",
    ),
    (
        "HIPAA.Security-LambdaInsideVPC",
        "the functions call only AWS APIs over TLS with SigV4; the project deploys no VPC",
    ),
    (
        "NIST.800.53.R5-LambdaConcurrency",
        "concurrency is bounded by Bedrock's own quotas per model; reserving it per function "
        "would strand account concurrency",
    ),
    (
        "HIPAA.Security-LambdaConcurrency",
        "concurrency is bounded by Bedrock's own quotas per model",
    ),
)

# Findings of functions that are only invoked synchronously.
SYNCHRONOUS_ACKNOWLEDGEMENTS: tuple[tuple[str, str], ...] = (
    (
        "NIST.800.53.R5-LambdaDLQ",
        "invoked synchronously (callers, CloudFormation, CodeDeploy) so errors return to the "
        "caller; a dead-letter queue only applies to asynchronous invocation",
    ),
    (
        "HIPAA.Security-LambdaDLQ",
        "invoked synchronously, so errors return to the caller",
    ),
    (
        "Serverless-LambdaDLQ",
        "invoked synchronously, so errors return to the caller",
    ),
)
