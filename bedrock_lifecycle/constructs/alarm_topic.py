"""The stack's one SNS topic for alarm notifications."""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..nag.acknowledgements import acknowledge_dead_letter_queue
from .keys import DEAD_LETTER_QUEUE_REDRIVE, deny_grants_outside_aws_services

# The lifecycle file's pattern of alarm_emails (config/schema.py).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _validate(emails: Sequence[str]) -> None:
    """Every prop check, before any resource exists."""
    if isinstance(emails, str):
        # A lone string would subscribe each of its characters.
        raise ValueError(f"emails must be a list of addresses, got the string {emails!r}")
    for email in emails:
        if not cdk.Token.is_unresolved(email) and not _EMAIL.match(email):
            raise ValueError(f"emails must be addresses like oncall@example.com, got {email!r}")


class AlarmTopic(Construct):
    """A KMS-encrypted SNS topic that every alarm of the stack notifies.

    :param emails: addresses subscribed to the topic. Default: none (subscribe later
        with ``topic.add_subscription``).

    Attributes: ``topic``, ``key``, ``dead_letters`` (undeliverable notifications),
    ``action`` (the ``SnsAction`` that :meth:`notify` adds).
    The key has rotation on and lets CloudWatch alarms of this account publish;
    the topic refuses requests without TLS.
    """

    def __init__(self, scope: Construct, construct_id: str, *, emails: Sequence[str] = ()) -> None:
        _validate(emails)
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description=f"{stack.stack_name}: encrypts alarm notifications",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        deny_grants_outside_aws_services(self.key)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Resource",
            display_name=f"{stack.stack_name} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        # Notifications SNS cannot deliver (a bouncing address) are kept for 14 days.
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            redrive_allow_policy=DEAD_LETTER_QUEUE_REDRIVE,
        )
        acknowledge_dead_letter_queue(
            self.dead_letters,
            "this queue is itself the dead-letter queue of the topic's subscriptions",
        )
        for email in emails:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(email, dead_letter_queue=self.dead_letters)
            )
        self.action = cw_actions.SnsAction(self.topic)

    def notify(self, alarm: cloudwatch.Alarm | cloudwatch.CompositeAlarm) -> None:
        """Send ``alarm``'s ALARM and OK transitions to the topic."""
        alarm.add_alarm_action(self.action)
        alarm.add_ok_action(self.action)
