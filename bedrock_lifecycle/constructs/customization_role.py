"""The service role of a model customization job, and where ``customize start`` finds it.

A customization job runs for hours, outside any stack operation: the
environment's stack creates the role Bedrock assumes for it (or takes one named
in the file) and publishes, in one SSM parameter, the role's ARN and the S3
location of the environment's invocation logs, for jobs that learn from them.
``bedrock-lifecycle customize start`` reads that parameter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..nag import acknowledge

S3_URI = re.compile(r"s3://([a-z0-9][-.a-z0-9]{1,61}[a-z0-9])(?:/(.*))?")
# What a job's network needs: its interfaces in the subnets (Bedrock's documented set).
NETWORK_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)
NETWORK_READ_ACTIONS = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); the key may be empty (the whole bucket)."""
    match = S3_URI.fullmatch(uri)
    if match is None:
        raise ValueError(f"expected s3://<bucket>[/<key>], got {uri!r}")
    return match[1], match[2] or ""


@dataclass(frozen=True)
class InvocationLogSource:
    """The environment's invocation logs, for a job that learns from them.

    :param bucket: the bucket Bedrock writes them to (``InvocationAudit.bucket``).
    :param prefix: their key prefix, no slash at either end.
    :param key: the KMS key they are encrypted with (``InvocationAudit.key``).
    """

    bucket: s3.IBucket
    prefix: str
    key: kms.IKey

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket.bucket_name}/{self.prefix}/"


class CustomizationJobRole(Construct):
    """The role Bedrock assumes to run one declared customization job, and the SSM
    parameter ``customize start`` reads.

    :param parameter_name: the SSM parameter written (``names.customization_parameter_name``).
    :param reads: S3 URIs of training and validation data (objects or prefixes) the job reads.
    :param output_uri: the S3 URI (prefix) it writes its metrics to.
    :param kms_key_arn: the customer managed key of the model and its data. Default: none.
    :param invocation_logs: the environment's invocation logs, read as training data.
        Default: none.
    :param subnet_ids: with a job in a VPC, its subnets (their interfaces are made
        there). Default: none (no network permissions).
    :param security_group_ids: with ``subnet_ids``, the job's security groups. Default:
        none.
    :param role_arn: a role named in the file: no role is created, the parameter names
        it. Default: create one.

    Attributes: ``role`` (None with ``role_arn``), ``role_arn``, ``parameter``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parameter_name: str,
        reads: Sequence[str],
        output_uri: str,
        kms_key_arn: str | None = None,
        invocation_logs: InvocationLogSource | None = None,
        subnet_ids: Sequence[str] = (),
        security_group_ids: Sequence[str] = (),
        role_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role: iam.Role | None = None
        if role_arn is None:
            self.role = self._role(
                stack,
                reads,
                output_uri,
                kms_key_arn,
                invocation_logs,
                subnet_ids,
                security_group_ids,
            )
            role_arn = self.role.role_arn
        self.role_arn: str = role_arn
        published: dict[str, str] = {"role_arn": role_arn}
        if invocation_logs is not None:
            published["invocation_logs"] = invocation_logs.uri
        self.parameter = ssm.StringParameter(
            self,
            "Parameter",
            parameter_name=parameter_name,
            string_value=stack.to_json_string(published),
            description="the job role of a bedrock-lifecycle customization (customize start)",
        )

    def _role(
        self,
        stack: cdk.Stack,
        reads: Sequence[str],
        output_uri: str,
        kms_key_arn: str | None,
        invocation_logs: InvocationLogSource | None,
        subnet_ids: Sequence[str],
        security_group_ids: Sequence[str],
    ) -> iam.Role:
        # Only Bedrock, only for this account's customization jobs in this region.
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "bedrock.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="bedrock",
                            resource="model-customization-job",
                            resource_name="*",
                        )
                    },
                },
            ),
            description="Assumed by Bedrock to run one bedrock-lifecycle customization job",
        )
        statements: list[iam.PolicyStatement] = []
        read_objects, listed = _objects_and_listing(stack, reads)
        prefix = output_uri if output_uri.endswith("/") else f"{output_uri}/"
        write_objects, write_listed = _objects_and_listing(stack, [prefix])
        wildcards = [arn for arn in (*read_objects, *write_objects) if arn.endswith("*")]
        if read_objects:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadTrainingData", actions=["s3:GetObject"], resources=read_objects
                )
            )
        statements.append(
            iam.PolicyStatement(
                sid="WriteOutput", actions=["s3:PutObject"], resources=write_objects
            )
        )
        for bucket, prefixes in _merge(listed, write_listed).items():
            statements.append(_list_statement(stack, bucket, prefixes))
        if invocation_logs is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadInvocationLogs",
                    actions=["s3:GetObject"],
                    # Bedrock writes bodies over 100 KB under <prefix>-large-data.
                    resources=[
                        invocation_logs.bucket.arn_for_objects(f"{invocation_logs.prefix}/*"),
                        invocation_logs.bucket.arn_for_objects(
                            f"{invocation_logs.prefix}-large-data/*"
                        ),
                    ],
                )
            )
            statements.append(
                iam.PolicyStatement(
                    sid="ListInvocationLogs",
                    actions=["s3:ListBucket"],
                    resources=[invocation_logs.bucket.bucket_arn],
                    conditions={
                        "StringLike": {
                            "s3:prefix": [
                                f"{invocation_logs.prefix}/*",
                                f"{invocation_logs.prefix}-large-data/*",
                            ]
                        }
                    },
                )
            )
            statements.append(
                iam.PolicyStatement(
                    sid="DecryptInvocationLogs",
                    actions=["kms:Decrypt"],
                    resources=[invocation_logs.key.key_arn],
                )
            )
        if kms_key_arn is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="UseTheModelKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    resources=[kms_key_arn],
                )
            )
        network_wildcards: list[str] = []
        if subnet_ids:
            subnets = [
                stack.format_arn(service="ec2", resource="subnet", resource_name=subnet)
                for subnet in subnet_ids
            ]
            interfaces = stack.format_arn(
                service="ec2", resource="network-interface", resource_name="*"
            )
            groups = [
                stack.format_arn(service="ec2", resource="security-group", resource_name=group)
                for group in security_group_ids
            ]
            statements.append(
                iam.PolicyStatement(
                    sid="JobNetworkInterfaces",
                    actions=list(NETWORK_ACTIONS),
                    resources=[interfaces, *subnets, *groups],
                )
            )
            # Bedrock tags the interfaces it makes for a job BedrockManaged=true.
            statements.append(
                iam.PolicyStatement(
                    sid="TagJobNetworkInterfaces",
                    actions=["ec2:CreateTags"],
                    resources=[interfaces],
                    conditions={
                        "StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"},
                        "ForAllValues:StringEquals": {"aws:TagKeys": ["BedrockManaged"]},
                    },
                )
            )
            statements.append(
                iam.PolicyStatement(
                    sid="DescribeTheNetwork", actions=list(NETWORK_READ_ACTIONS), resources=["*"]
                )
            )
            network_wildcards = [interfaces, "*"]  # acknowledge writes tokens as cdk-nag does
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            statements=statements,
            roles=[role],
            description="What one bedrock-lifecycle customization job reads and writes",
        )
        if invocation_logs is not None:
            bucket = invocation_logs.bucket.node.default_child
            assert isinstance(bucket, cdk.CfnElement)
            bucket_id = stack.resolve(stack.get_logical_id(bucket))
            for prefix in (invocation_logs.prefix, f"{invocation_logs.prefix}-large-data"):
                acknowledge(
                    policy,
                    f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{prefix}/*]",
                    "the job reads the environment's invocation logs, every object under "
                    "their prefix: Bedrock names them, and the job filters them by "
                    "requestMetadata (IAM cannot)",
                )
        for pattern in network_wildcards:
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{pattern}]",
                "a job in a VPC makes its network interfaces in the declared subnets and "
                "security groups; EC2 names the interfaces, and its Describe calls take no "
                "resource",
            )
        for pattern in wildcards:
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{pattern}]",
                "the job writes its output under the declared output prefix and reads "
                "every object under a declared data prefix (S3 URIs ending in /); Bedrock "
                "names those objects",
            )
        return role


def _objects_and_listing(
    stack: cdk.Stack, uris: Sequence[str]
) -> tuple[list[str], dict[str, list[str]]]:
    """Object ARNs of each URI (an object; everything under a URI ending in ``/``) and,
    per bucket, the keys and prefixes ListBucket may list."""
    objects: list[str] = []
    listed: dict[str, list[str]] = {}
    for uri in uris:
        bucket, key = split_s3_uri(uri)
        arn = f"arn:{stack.partition}:s3:::{bucket}"
        if not key:
            objects.append(f"{arn}/*")
            listed.setdefault(bucket, []).append("*")
        elif key.endswith("/"):
            objects.append(f"{arn}/{key}*")
            listed.setdefault(bucket, []).extend([key.rstrip("/"), f"{key}*"])
        else:
            objects.append(f"{arn}/{key}")
            listed.setdefault(bucket, []).append(key)
    return _unique(objects), listed


def _merge(*maps: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for mapping in maps:
        for bucket, prefixes in mapping.items():
            out.setdefault(bucket, []).extend(prefixes)
    return {bucket: _unique(prefixes) for bucket, prefixes in sorted(out.items())}


def _list_statement(stack: cdk.Stack, bucket: str, prefixes: list[str]) -> iam.PolicyStatement:
    statement = iam.PolicyStatement(
        actions=["s3:ListBucket"], resources=[f"arn:{stack.partition}:s3:::{bucket}"]
    )
    if "*" not in prefixes:
        statement.add_condition("StringLike", {"s3:prefix": prefixes})
    return statement


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


__all__ = ["CustomizationJobRole", "InvocationLogSource", "split_s3_uri"]
