"""The tamper-proof audit trail of one environment.

- ``key``: a KMS key with rotation that encrypts the audit bucket.
- ``bucket``: S3 with Object Lock (default retention in GOVERNANCE or
  COMPLIANCE mode), versioning, TLS only, server access logging into
  ``access_log_bucket``, kept when the stack is deleted. Bedrock writes its
  model invocation logs here.
- ``log_group``: a KMS-encrypted CloudWatch log group with retention, kept on
  delete. Bedrock's invocation logs go here too, and so do the routers' own
  audit records (pass it to ``ModelAlias(log_group=...)``): one retained trail.
- ``logging``: a ``Custom::BedrockInvocationLogging`` resource that turns on
  Bedrock's account-wide invocation logging (only when the environment owns it).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..nag import acknowledge, logical_id
from ..nag.acknowledgements import (
    ACCESS_LOG_BUCKET_ACKNOWLEDGEMENTS,
    AUDIT_BUCKET_ACKNOWLEDGEMENTS,
    acknowledge_all,
    acknowledge_inline_policy,
)
from ..nag.control_tower import excuse_control_tower_rule
from ..nag.rules.audit_bucket_object_lock import AUDIT_PURPOSE, PURPOSE_TAG
from ..values import LOG_RETENTION_DAYS, ObjectLockMode
from .function import encrypted_log_group
from .invocation_logging import invocation_logging_provider
from .keys import deny_grants_outside_aws_services
from .provisioned_throughput import BUILT_IN_TAG_PRIORITY

RESOURCE_TYPE = "Custom::BedrockInvocationLogging"
INVOCATION_LOG_PREFIX = "invocation-logs"
LARGE_DATA_PREFIX = "invocation-logs-large-data"

# CloudWatch Logs retention values and the aws-cdk-lib enum member of each.
RETENTION = dict(
    zip(
        LOG_RETENTION_DAYS,
        (
            logs.RetentionDays.ONE_DAY, logs.RetentionDays.THREE_DAYS,
            logs.RetentionDays.FIVE_DAYS, logs.RetentionDays.ONE_WEEK,
            logs.RetentionDays.TWO_WEEKS, logs.RetentionDays.ONE_MONTH,
            logs.RetentionDays.TWO_MONTHS, logs.RetentionDays.THREE_MONTHS,
            logs.RetentionDays.FOUR_MONTHS, logs.RetentionDays.FIVE_MONTHS,
            logs.RetentionDays.SIX_MONTHS, logs.RetentionDays.ONE_YEAR,
            logs.RetentionDays.THIRTEEN_MONTHS, logs.RetentionDays.EIGHTEEN_MONTHS,
            logs.RetentionDays.TWO_YEARS, logs.RetentionDays.THREE_YEARS,
            logs.RetentionDays.FIVE_YEARS, logs.RetentionDays.SIX_YEARS,
            logs.RetentionDays.SEVEN_YEARS, logs.RetentionDays.EIGHT_YEARS,
            logs.RetentionDays.NINE_YEARS, logs.RetentionDays.TEN_YEARS,
        ),
        strict=True,
    )
)  # fmt: skip


def log_retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for ``days``; raises ValueError for a value CloudWatch refuses."""
    try:
        return RETENTION[days]
    except KeyError:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        raise ValueError(f"log_retention_days must be one of {allowed}, got {days}") from None


INCOMPLETE_UPLOAD_DAYS = 7
# AWS Control Tower proactive control CT.CLOUDWATCH.PR.2: log groups kept a year or more.
CONTROL_TOWER_LOG_RETENTION_DAYS = 365


def publish_events_to_eventbridge(bucket: s3.Bucket) -> None:
    """Send ``bucket``'s object events (a deletion, a delete marker, a retention change)
    to the account's default EventBridge bus, where a platform team's rules can watch the
    audit trail (AWS Control Tower proactive control CT.S3.PR.4).

    On the CloudFormation bucket itself: ``Bucket(event_bridge_enabled=True)`` of
    aws-cdk-lib would add a custom resource and its Lambda function to do the same.
    """
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
            event_bridge_enabled=True
        )
    )


class InvocationAudit(Construct):
    """Tamper-proof storage of every model invocation of one environment.

    :param object_lock_mode: Object Lock mode of the bucket's default retention.
        Default: GOVERNANCE (COMPLIANCE cannot be shortened by anyone, root included).
    :param retention_days: days each object is locked. Default: 365.
    :param log_retention_days: days the log group keeps events (a CloudWatch
        Logs value). Default: 365.
    :param invocation_logging: turn on Bedrock's account-wide model invocation
        logging into this trail. Only one environment per account and region may,
        and only one InvocationAudit per stack (a second one raises ValueError).
        Default: true.
    :param text_data_delivery: Bedrock logs prompt and answer text (otherwise
        metadata only: model, token counts, request metadata). Default: false.

    Attributes: ``key``, ``bucket``, ``access_log_bucket``, ``log_group``,
    ``delivery_role`` (assumed by Bedrock), ``logging`` (the custom resource, or
    None when this environment does not own invocation logging).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        object_lock_mode: ObjectLockMode = ObjectLockMode.GOVERNANCE,
        retention_days: int = 365,
        log_retention_days: int = 365,
        invocation_logging: bool = True,
        text_data_delivery: bool = False,
    ) -> None:
        object_lock_mode, retention_of_logs = _validate(
            scope,
            construct_id,
            object_lock_mode=object_lock_mode,
            retention_days=retention_days,
            log_retention_days=log_retention_days,
            invocation_logging=invocation_logging,
        )
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        bedrock_source = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:*"
            },
        }

        self.key = kms.Key(
            self,
            "Key",
            description=f"{stack.stack_name}: encrypts the model invocation audit trail",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        deny_grants_outside_aws_services(self.key)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBedrockInvocationLogDelivery",
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions=bedrock_source,
            )
        )

        retention = cdk.Duration.days(retention_days)
        # Both buckets are versioned: a version replaced or deleted (a delete marker on
        # top) stays as a noncurrent version. It expires once it is as old as the Object
        # Lock retention (S3 cannot remove a locked version before that anyway), and an
        # upload that never completed stops costing after 7 days.
        lifecycle = [
            s3.LifecycleRule(
                id="ExpireNoncurrentVersionsAfterRetention",
                noncurrent_version_expiration=retention,
                abort_incomplete_multipart_upload_after=cdk.Duration.days(INCOMPLETE_UPLOAD_DAYS),
            )
        ]
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            lifecycle_rules=lifecycle,
            # S3 server access logging delivers only to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge_all(self.access_log_bucket, ACCESS_LOG_BUCKET_ACKNOWLEDGEMENTS)
        for rule in (
            "s3_bucket_default_encryption_kms_check",
            "s3_bucket_logging_enabled_check",
            "s3_bucket_object_lock_enabled_check",
        ):
            excuse_control_tower_rule(self.access_log_bucket, rule)

        self.bucket = s3.Bucket(
            self,
            "Resource",
            lifecycle_rules=lifecycle,
            object_lock_enabled=True,
            object_lock_default_retention=(
                s3.ObjectLockRetention.compliance(retention)
                if object_lock_mode is ObjectLockMode.COMPLIANCE
                else s3.ObjectLockRetention.governance(retention)
            ),
            versioned=True,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        allow_access_logs(self.bucket, self.access_log_bucket, "audit-bucket/")
        # The project's AuditBucketObjectLock rule judges buckets with this tag: on the L1
        # before the tag aspects run, at the built-in priority so no user tag replaces it.
        cfn_bucket = self.bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.tags.set_tag(PURPOSE_TAG, AUDIT_PURPOSE, BUILT_IN_TAG_PRIORITY)
        acknowledge_all(self.bucket, AUDIT_BUCKET_ACKNOWLEDGEMENTS)
        for bucket in (self.access_log_bucket, self.bucket):
            publish_events_to_eventbridge(bucket)
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBedrockInvocationLogDelivery",
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[
                    self.bucket.arn_for_objects(
                        f"{INVOCATION_LOG_PREFIX}/AWSLogs/{stack.account}/"
                        "BedrockModelInvocationLogs/*"
                    )
                ],
                conditions=bedrock_source,
            )
        )

        self.log_group = encrypted_log_group(self, "LogGroup", retention=retention_of_logs)
        if log_retention_days < CONTROL_TOWER_LOG_RETENTION_DAYS:
            excuse_control_tower_rule(self.log_group, "cloudwatch_log_group_retention_period_check")

        self.delivery_role = iam.Role(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com", conditions=bedrock_source),  # type: ignore[arg-type]
            description="Bedrock writes model invocation logs to the audit log group",
        )
        self.delivery_role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=(
                            f"{self.log_group.log_group_name}:log-stream:"
                            "aws/bedrock/modelinvocations"
                        ),
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        # Bodies over 100 KB (and binary data) go to S3 beside the log.
        self.delivery_role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{LARGE_DATA_PREFIX}/*")],
            )
        )
        self.delivery_role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.key.key_arn]
            )
        )
        acknowledge(
            self.delivery_role,
            f"AwsSolutions-IAM5[Resource::<{logical_id(self.bucket)}.Arn>/{LARGE_DATA_PREFIX}/*]",
            "Bedrock names the objects of large invocation bodies itself; the role may only "
            "put objects under the large-data prefix of the audit bucket",
        )
        acknowledge_inline_policy(
            self.delivery_role,
            "the delivery role's policy belongs to this one role and names the audit log "
            "group, prefix and key exactly",
        )

        self.logging: cdk.CustomResource | None = None
        if invocation_logging:
            provider = invocation_logging_provider(self)
            self.logging = cdk.CustomResource(
                self,
                "InvocationLogging",
                service_token=provider.service_token,
                resource_type=RESOURCE_TYPE,
                properties={
                    "BucketName": self.bucket.bucket_name,
                    "KeyPrefix": INVOCATION_LOG_PREFIX,
                    "LogGroupName": self.log_group.log_group_name,
                    "RoleArn": self.delivery_role.role_arn,
                    "LargeDataKeyPrefix": LARGE_DATA_PREFIX,
                    "TextDataDelivery": "true" if text_data_delivery else "false",
                },
            )
            # Bedrock checks the bucket policy and the role when the configuration is put.
            self.logging.node.add_dependency(self.bucket.policy)  # type: ignore[arg-type]
            self.logging.node.add_dependency(self.delivery_role)
            handler_role = provider.on_event_handler.role
            assert handler_role is not None
            self.delivery_role.grant_pass_role(handler_role)


def _validate(
    scope: Construct,
    construct_id: str,
    *,
    object_lock_mode: ObjectLockMode,
    retention_days: int,
    log_retention_days: int,
    invocation_logging: bool,
) -> tuple[ObjectLockMode, logs.RetentionDays]:
    """Every prop check, before any resource exists; returns the mode and the log retention."""
    try:
        # A plain "COMPLIANCE" must not fall through to GOVERNANCE.
        mode = ObjectLockMode(object_lock_mode)
    except ValueError:
        allowed = ", ".join(m.value for m in ObjectLockMode)
        raise ValueError(
            f"object_lock_mode must be one of {allowed}, got {object_lock_mode!r}"
        ) from None
    if not cdk.Token.is_unresolved(retention_days) and (
        isinstance(retention_days, bool)
        or not isinstance(retention_days, int)
        or not 1 <= retention_days <= 36500
    ):
        raise ValueError(f"retention_days must be between 1 and 36500, got {retention_days!r}")
    retention_of_logs = log_retention(log_retention_days)
    owner = _logging_owner(cdk.Stack.of(scope))
    if invocation_logging and owner is not None:
        # Two resources would put the one account-wide setting in turn: the second create
        # finds the first one's configuration and fails the deploy.
        raise ValueError(
            "invocation_logging is one setting per account and region and "
            f"{owner.node.path} already owns it in this stack, got a second owner "
            f"{construct_id!r}; pass invocation_logging=False"
        )
    return mode, retention_of_logs


def _logging_owner(stack: cdk.Stack) -> InvocationAudit | None:
    """The InvocationAudit of ``stack`` that owns Bedrock's invocation logging, if any."""
    for node in stack.node.find_all():
        if isinstance(node, InvocationAudit) and node.logging is not None:
            return node
    return None


def allow_access_logs(bucket: s3.Bucket, target: s3.Bucket, prefix: str) -> None:
    """S3 server access logs of ``bucket`` into ``target`` under ``prefix``, delivered by
    the logging service under a bucket policy (never an ACL: ``target`` enforces bucket
    ownership). ``server_access_logs_bucket`` does the same only in apps with the
    feature flag ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy``; a construct library
    cannot rely on its users' flags."""
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
        destination_bucket_name=target.bucket_name, log_file_prefix=prefix
    )
    target.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[target.arn_for_objects(f"{prefix}*")],
            conditions={
                "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                "StringEquals": {"aws:SourceAccount": cdk.Stack.of(bucket).account},
            },
        )
    )
