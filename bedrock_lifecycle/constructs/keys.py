"""What every KMS key and dead-letter queue of the project's stacks carries."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs

GRANTS_FOR_AWS_SERVICES_ONLY_SID = "DenyGrantsOutsideAwsServices"


def deny_grants_outside_aws_services(key: kms.Key) -> kms.Key:
    """Refuse ``kms:CreateGrant`` on ``key`` unless an AWS service asks for it or the
    grant is for an AWS resource (AWS Control Tower proactive control CT.KMS.PR.3).

    A principal of the account allowed to use the key (its root statement delegates
    to IAM) could otherwise hand the key to anybody through a grant, outside any key
    policy or IAM policy review. Services that encrypt for the stacks (Lambda for
    environment variables, CloudWatch Logs, SNS, SQS, S3) create their grants on a
    caller's behalf, with ``kms:GrantIsForAWSResource`` true, and are not affected.
    Returns ``key``.
    """
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=GRANTS_FOR_AWS_SERVICES_ONLY_SID,
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={
                "BoolIfExists": {
                    "kms:GrantIsForAWSResource": "false",
                    "aws:PrincipalIsAWSService": "false",
                }
            },
        )
    )
    return key


# A dead-letter queue says it is one: SQS's own default (any queue of the account may
# redrive into it), written out, so that AWS Control Tower proactive control CT.SQS.PR.1
# knows the queue for a dead-letter queue, which needs no dead-letter queue of its own.
DEAD_LETTER_QUEUE_REDRIVE = sqs.RedriveAllowPolicy(
    redrive_permission=sqs.RedrivePermission.ALLOW_ALL
)
