"""Private networking: every function of a stack in the environment's VPC, and the
VPC endpoints of the services those functions call.

The VPC, its subnets and security groups already exist (a landing zone's network
account shares them); the lifecycle file names them by id and they are imported by
attributes, never looked up, so that synth stays offline and needs no credentials.

- :func:`use_network` puts a :class:`FunctionNetwork` on a stack; every
  :class:`~bedrock_lifecycle.constructs.function.LifecycleFunction` and custom
  resource provider built in that stack afterwards runs in it (:func:`network_of`).
- :class:`ServiceEndpoints` adds interface endpoints with private DNS for every
  service the functions call (:data:`INTERFACE_ENDPOINTS`, kept equal to the IAM
  actions of the templates by ``tests/constructs/test_network.py`` and listed in
  ``docs/networking.md``) and an S3 gateway endpoint, each with a policy limited to
  principals of the stack's account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from .singletons import stack_singleton

# The interface endpoints, by the IAM service prefix of the actions that need them.
# bedrock serves two endpoints: the control plane (GetFoundationModel, throughputs,
# invocation logging) and the runtime (InvokeModel, Converse, ApplyGuardrail).
INTERFACE_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "bedrock": ("bedrock", "bedrock-runtime"),
    "cloudwatch": ("monitoring",),
    "codedeploy": ("codedeploy",),
    "kms": ("kms",),
    "lambda": ("lambda",),
    "logs": ("logs",),
    "states": ("states",),
    "xray": ("xray",),
}
# IAM prefixes of the roles' grants that need no endpoint: no call leaves the function.
NO_ENDPOINT: dict[str, str] = {
    "ec2": "the network interfaces of a function in a VPC are made by Lambda with the role, "
    "not by the function",
    "iam": "iam:PassRole is an authorization Bedrock checks, not a call of the function",
    "sqs": "the dead-letter queue of an asynchronous function is written by Lambda itself, "
    "outside the function's network",
}
# Always present besides: STS (the SDK's regional credential and identity calls, and
# what a platform team's own code in the functions' subnets needs first).
EXTRA_INTERFACE_ENDPOINTS: tuple[str, ...] = ("sts",)
HTTPS = 443
#: What Lambda does with a function's role to place it in a VPC (the EC2 actions of
#: ``AWSLambdaVPCAccessExecutionRole``; the Lambda developer guide, "Giving Lambda
#: functions access to resources in an Amazon VPC").
VPC_ACCESS_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)
#: Where CloudFormation takes custom resources' answers: presigned URLs of its own
#: bucket, one per region, named after the region without dashes (``...-useast1``; AWS
#: CloudFormation user guide, "VPC endpoints"). Pinned to the stack's region: bucket
#: names are global, and a wildcard would let the VPC write to anybody's bucket of a
#: matching name.
RESPONSE_BUCKET_PREFIX = "cloudformation-custom-resource-response-"


def response_bucket(stack: cdk.Stack) -> str:
    """The name of CloudFormation's response bucket in ``stack``'s region (a token in an
    environment-agnostic stack)."""
    region = stack.region
    if cdk.Token.is_unresolved(region):
        return RESPONSE_BUCKET_PREFIX + cdk.Fn.join("", cdk.Fn.split("-", region))
    return RESPONSE_BUCKET_PREFIX + region.replace("-", "")


@dataclass(frozen=True)
class FunctionNetwork:
    """Where a stack's functions run: one VPC, its subnets and security groups, imported.

    Attributes: ``vpc``, ``subnets``, ``security_groups``, ``functions_inside``.
    """

    vpc: ec2.IVpc
    subnets: tuple[ec2.ISubnet, ...]
    security_groups: tuple[ec2.ISecurityGroup, ...]
    #: False while the functions move out (the first of two deploys that remove the
    #: network): they run outside, their roles keep VPC access for versions still in it.
    functions_inside: bool = True

    @property
    def selection(self) -> ec2.SubnetSelection:
        """The subnets, as ``vpc_subnets`` of a function or an endpoint."""
        return ec2.SubnetSelection(subnets=list(self.subnets))


def use_network(
    scope: Construct,
    *,
    vpc_id: str,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
    functions_inside: bool = True,
) -> FunctionNetwork:
    """Import the network into ``scope``'s stack (under ``Network``) and make it the
    network of every function built there afterwards.

    :param vpc_id: ``vpc-...``.
    :param subnet_ids: the private subnets the functions' network interfaces go into.
    :param security_group_ids: the security groups of those interfaces; they must allow
        HTTPS out to the endpoints (or a NAT).
    :param functions_inside: place the functions in the VPC. False keeps the network
        (its endpoints, the roles' VPC access) while the functions run outside: the
        first deploy of a network's removal. Default: true.
    :raises ValueError: the stack has a network already, or a list is empty.
    """
    stack = cdk.Stack.of(scope)
    if network_of(stack) is not None:
        raise ValueError(f"stack {stack.node.path} has a network already")
    if not subnet_ids or not security_group_ids:
        raise ValueError("a network needs at least one subnet id and one security group id")
    holder = Construct(stack, "Network")
    # The VPC by id only: the functions and endpoints name their subnets explicitly, so
    # no availability zone or subnet type is ever looked up.
    # (``Fn::GetAZs`` stands in for the zones aws-cdk-lib requires, unread.)
    vpc = ec2.Vpc.from_vpc_attributes(
        holder, "Vpc", vpc_id=vpc_id, availability_zones=cdk.Fn.get_azs()
    )
    subnets = _import_subnets(holder, subnet_ids)
    groups = tuple(
        # Immutable: the project never edits a security group it does not own.
        ec2.SecurityGroup.from_security_group_id(holder, f"SecurityGroup{i}", sg, mutable=False)
        for i, sg in enumerate(security_group_ids)
    )
    _acknowledge_import_warnings(vpc)
    network = FunctionNetwork(
        vpc=vpc, subnets=subnets, security_groups=groups, functions_inside=functions_inside
    )
    stack.__dict__["_bedrock_lifecycle_network"] = network
    return network


def _import_subnets(scope: Construct, subnet_ids: Sequence[str]) -> tuple[ec2.ISubnet, ...]:
    """Subnets imported by id, with the warnings aws-cdk-lib gives such an import
    acknowledged: nothing here reads their zones or route tables."""
    subnets = tuple(
        ec2.Subnet.from_subnet_id(scope, f"Subnet{i}", subnet_id)
        for i, subnet_id in enumerate(subnet_ids)
    )
    for subnet in subnets:
        _acknowledge_import_warnings(subnet)
    return subnets


def _acknowledge_import_warnings(construct: IConstruct) -> None:
    for warning in (
        "@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones",
        "@aws-cdk/aws-ec2:noSubnetRouteTableId",
    ):
        cdk.Annotations.of(construct).acknowledge_warning(
            warning, "subnets are named by id; no zone or route table is read"
        )


def network_of(scope: IConstruct) -> FunctionNetwork | None:
    """The network :func:`use_network` gave ``scope``'s stack, or None."""
    return cdk.Stack.of(scope).__dict__.get("_bedrock_lifecycle_network")


def function_network_props(scope: IConstruct) -> dict[str, object]:
    """``vpc``, ``vpc_subnets`` and ``security_groups`` for a ``lambda_.Function`` or a
    custom resource ``Provider`` in ``scope``'s stack; empty without a network."""
    network = network_of(scope)
    if network is None or not network.functions_inside:
        return {}
    return {
        "vpc": network.vpc,
        "vpc_subnets": network.selection,
        "security_groups": list(network.security_groups),
    }


def acknowledge_provider_network(provider: cr.Provider) -> None:
    """aws-cdk-lib gives the functions of a custom resource ``Provider`` in a VPC Lambda's
    own VPC policy; acknowledged on the provider, in a stack with a network only. While
    the functions move out (``functions_inside`` false) their roles keep it, as every
    function's role does (a rollback puts them back in the VPC)."""
    network = network_of(provider)
    if network is None:
        return
    from ..nag import acknowledge

    if not network.functions_inside:
        for child in provider.node.find_all():
            if isinstance(child, lambda_.Function) and child.role is not None:
                attach_vpc_access(child.role)

    acknowledge(
        provider,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaVPCAccessExecutionRole]",
        "Lambda's own policy for a function in a VPC, which aws-cdk-lib attaches to the "
        "provider framework's functions; AWS maintains it for this use",
    )


def vpc_access_policy(scope: IConstruct) -> iam.ManagedPolicy:
    """The stack's one policy of :data:`VPC_ACCESS_ACTIONS` (``VpcAccess``).

    A policy resource of its own, attached to the roles, not a change of each role:
    CloudFormation creates it before the functions move into the VPC and, rolling a
    deploy back, deletes it only after every alias is back on its old version; it is
    deleted in the clean-up of the deploy that removes the network, when no version
    in the VPC serves any more.
    """
    from ..nag import acknowledge

    def create(stack: cdk.Stack) -> iam.ManagedPolicy:
        policy = iam.ManagedPolicy(
            stack,
            "VpcAccess",
            description=f"{stack.stack_name}: Lambda places the functions in their VPC",
            statements=[iam.PolicyStatement(actions=list(VPC_ACCESS_ACTIONS), resources=["*"])],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "the network interfaces Lambda creates have no ARN before they exist, and "
            "Describe* takes no resource; the actions are Lambda's own VPC access",
        )
        return policy

    return stack_singleton(scope, "VpcAccess", iam.ManagedPolicy, create)  # type: ignore[arg-type]


def attach_vpc_access(role: iam.IRole, function: IConstruct | None = None) -> None:
    """Attach :func:`vpc_access_policy` to ``role``; ``function`` waits for it (Lambda
    refuses a function in a VPC whose role may not create its network interfaces)."""
    policy = vpc_access_policy(role)
    policy.attach_to_role(role)
    if function is not None:
        function.node.add_dependency(policy)


class ServiceEndpoints(Construct):
    """VPC endpoints for every service the stack's functions call.

    :param network: the stack's :class:`FunctionNetwork`.
    :param route_table_ids: the route tables of the functions' subnets, for the S3
        gateway endpoint.
    :param subnet_ids: the interface endpoints' subnets, at most one per availability
        zone (EC2 refuses two in one zone). Default: the network's subnets.

    Interface endpoints (:data:`INTERFACE_ENDPOINTS` and
    :data:`EXTRA_INTERFACE_ENDPOINTS`) get private DNS, so the SDK's default hostnames
    resolve to them, and one security group of their own that admits HTTPS from the
    functions' security groups only. Every endpoint's policy allows only principals
    of this account (``aws:PrincipalAccount``): credentials of another account, even
    valid ones, cannot use the VPC's path to AWS. The S3 gateway also lets anyone put
    objects into CloudFormation's response bucket of the region (:func:`response_bucket`): a custom
    resource answers through a URL CloudFormation presigned, as CloudFormation's own
    principal, not this account's.

    The endpoints are shared by the whole VPC: private DNS sends every caller in the
    VPC to them, and the gateway's policy governs all S3 traffic of the route tables.

    Attributes: ``endpoints`` (service -> endpoint), ``security_group``, ``gateway``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: FunctionNetwork,
        route_table_ids: Sequence[str],
        subnet_ids: Sequence[str] = (),
    ) -> None:
        if not route_table_ids:
            raise ValueError("the S3 gateway endpoint needs the subnets' route table ids")
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description=f"{stack.stack_name}: HTTPS from the functions to the VPC endpoints",
            allow_all_outbound=False,
        )
        for i, group in enumerate(network.security_groups):
            # One rule per group, named by the group: a group replaced in the file is a
            # new rule, and the old one goes in the clean-up, after the aliases moved.
            group_id = group.security_group_id
            ec2.CfnSecurityGroupIngress(
                self,
                f"FromFunctions{i}"
                if cdk.Token.is_unresolved(group_id)
                else f"From{group_id.replace('-', '').capitalize()}",
                group_id=self.security_group.security_group_id,
                ip_protocol="tcp",
                from_port=HTTPS,
                to_port=HTTPS,
                source_security_group_id=group.security_group_id,
                description="HTTPS from the bedrock-lifecycle functions",
            )
        subnets = (
            ec2.SubnetSelection(subnets=list(_import_subnets(self, subnet_ids)))
            if subnet_ids
            else network.selection
        )
        self.endpoints: dict[str, ec2.VpcEndpoint] = {}
        services = sorted(
            {s for names in INTERFACE_ENDPOINTS.values() for s in names}
            | set(EXTRA_INTERFACE_ENDPOINTS)
        )
        for service in services:
            endpoint = ec2.InterfaceVpcEndpoint(
                self,
                _construct_id(service),
                vpc=network.vpc,
                service=ec2.InterfaceVpcEndpointAwsService(service),
                subnets=subnets,
                security_groups=[self.security_group],
                private_dns_enabled=True,
                open=False,
            )
            endpoint.add_to_policy(_this_account_only(stack))
            self.endpoints[service] = endpoint
        cfn_s3 = ec2.CfnVPCEndpoint(
            self,
            "S3",
            vpc_id=network.vpc.vpc_id,
            service_name=f"com.amazonaws.{stack.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=list(route_table_ids),
            policy_document=iam.PolicyDocument(
                statements=[
                    _this_account_only(stack),
                    iam.PolicyStatement(
                        sid="CustomResourceResponses",
                        principals=[iam.AnyPrincipal()],
                        actions=["s3:PutObject"],
                        resources=[f"arn:{stack.partition}:s3:::{response_bucket(stack)}/*"],
                    ),
                ]
            ),
        )
        self.gateway = cfn_s3

        # Every function of the stack, built before or after, waits for the endpoints:
        # a function moved into the VPC must find its way out there once updated.
        cdk.Aspects.of(stack).add(_AfterEndpoints(self))


@jsii.implements(cdk.IAspect)
class _AfterEndpoints:
    def __init__(self, endpoints: ServiceEndpoints) -> None:
        self.endpoints = endpoints

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, lambda_.CfnFunction) and cdk.Stack.of(node) is cdk.Stack.of(
            self.endpoints
        ):
            node.node.add_dependency(self.endpoints)


def _construct_id(service: str) -> str:
    return "".join(part.capitalize() for part in service.split("-"))


def _this_account_only(stack: cdk.Stack) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="ThisAccountOnly",
        principals=[iam.AnyPrincipal()],
        actions=["*"],
        resources=["*"],
        conditions={"StringEquals": {"aws:PrincipalAccount": stack.account}},
    )
