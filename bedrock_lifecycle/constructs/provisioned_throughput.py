"""Provisioned throughput for Amazon Bedrock, on a custom resource.

Bedrock has no CloudFormation resource for provisioned throughput, so
:class:`ProvisionedThroughput` is a ``Custom::BedrockProvisionedThroughput``
served by one provider per stack (:class:`ProvisionedThroughputProvider`),
whose handlers live in ``bedrock_lifecycle/lambdas/provisioned_throughput``.
The resource's Ref (physical id) is the provisioned model ARN.

A committed throughput is always retained on delete and on replacement
(``RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE``): Bedrock cannot delete it before
its term ends, and a stack must never get stuck on it. It is *not* retained when
its own creation fails: CloudFormation's rollback then sends a Delete, so a
purchase that failed or timed out is not left behind unknown to any stack.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
import jsii
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from ..nag import acknowledge
from ..shared import contract
from ..values import Commitment
from .function import LifecycleFunction, encrypted_log_group

RESOURCE_TYPE = "Custom::BedrockProvisionedThroughput"
PROVIDER_ID = "ProvisionedThroughputProvider"
SOURCE = "provisioned_throughput"

# lifecycle.yaml commitment -> Bedrock's commitmentDuration ("None": no commitment).
COMMITMENT_DURATIONS: dict[Commitment, str] = {
    Commitment(name): duration for name, duration in contract.COMMITMENT_DURATIONS.items()
}

# What the handlers may do to throughputs (on `provisioned-model/*` of the stack).
MANAGE_ACTIONS = (
    "bedrock:CreateProvisionedModelThroughput",
    "bedrock:GetProvisionedModelThroughput",
    "bedrock:UpdateProvisionedModelThroughput",
    "bedrock:DeleteProvisionedModelThroughput",
    "bedrock:TagResource",
    "bedrock:UntagResource",
)
# What they may do with the declared models (the models a throughput serves).
MODEL_ACTIONS = (
    "bedrock:CreateProvisionedModelThroughput",
    "bedrock:UpdateProvisionedModelThroughput",
)
# is_complete reads status and retries deletes that Bedrock deferred.
POLL_ACTIONS = (
    "bedrock:GetProvisionedModelThroughput",
    "bedrock:DeleteProvisionedModelThroughput",
)
INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")

# The provider framework allows at most one hour; creating a throughput takes minutes.
TOTAL_TIMEOUT = cdk.Duration.hours(1)
QUERY_INTERVAL = cdk.Duration.minutes(1)


TAG_PREFIX = "bedrock-lifecycle"


def _unresolved(value: object) -> bool:
    return cdk.Token.is_unresolved(value)


# Retained on delete and replacement, deleted by the rollback of a failed creation.
COMMITTED_REMOVAL_POLICY = cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
RETAINED_POLICIES = (cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)


def validate_props(
    *,
    model: str,
    model_units: int,
    provisioned_model_name: str,
    commitment: Commitment,
    tags: Mapping[str, str],
    removal_policy: cdk.RemovalPolicy | None,
) -> None:
    """Check every prop before any resource is made; one error lists every problem."""
    problems: list[str] = []
    if not _unresolved(model_units) and (
        isinstance(model_units, bool) or not isinstance(model_units, int) or model_units < 1
    ):
        problems.append(f"model_units must be a whole number >= 1, got {model_units!r}")
    if not _unresolved(provisioned_model_name) and not (
        isinstance(provisioned_model_name, str)
        and 1 <= len(provisioned_model_name) <= contract.PROVISIONED_MODEL_NAME_MAX
        and contract.PROVISIONED_MODEL_NAME.fullmatch(provisioned_model_name)
    ):
        problems.append(
            "provisioned_model_name must be 1-63 characters of letters and digits, each "
            f"optionally followed by one - or _, got {provisioned_model_name!r}"
        )
    if not isinstance(commitment, Commitment):
        allowed = ", ".join(c.value for c in Commitment)
        problems.append(f"commitment must be a Commitment ({allowed}), got {commitment!r}")
    if not _unresolved(model) and not (
        isinstance(model, str)
        and len(model) <= 2048
        and any(
            p.fullmatch(model)
            for p in (
                contract.FOUNDATION_MODEL_ID,
                contract.FOUNDATION_MODEL_ARN,
                contract.CUSTOM_MODEL_ARN,
            )
        )
    ):
        problems.append(
            "model must be a foundation model id (for example amazon.nova-pro-v1:0:300k) or a "
            f"custom-model or foundation-model ARN, got {model!r}"
        )
    for key, value in tags.items():
        if _unresolved(key) or _unresolved(value):
            continue
        if not (
            1 <= len(key) <= contract.TAG_KEY_MAX and contract.TAG_TEXT.fullmatch(key)
        ) or key.lower().startswith("aws:"):
            problems.append(
                "tag keys must be 1-128 characters of letters, digits, spaces and ._:/=+@- "
                f"and must not start with aws:, got {key!r}"
            )
        if not (len(value) <= contract.TAG_VALUE_MAX and contract.TAG_TEXT.fullmatch(value)):
            problems.append(
                "tag values must be at most 256 characters of letters, digits, spaces and "
                f"._:/=+@-, got {value!r} for {key!r}"
            )
    if (
        isinstance(commitment, Commitment)
        and commitment is not Commitment.NONE
        and removal_policy is not None
        and removal_policy not in RETAINED_POLICIES
    ):
        problems.append(
            f"a throughput with commitment {commitment.value} is always retained (Bedrock cannot "
            f"delete it before its term ends), got removal_policy {removal_policy}"
        )
    if problems:
        raise ValueError("; ".join(problems))


def model_arn_of(scope: Construct, model: str) -> str:
    """The ARN IAM needs for ``model``: an ARN as given, a foundation model id in this region."""
    if _unresolved(model) or model.startswith("arn:"):
        return model
    stack = cdk.Stack.of(scope)
    return f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{model}"


class ProvisionedThroughputProvider(Construct):
    """The stack's one provider of ``Custom::BedrockProvisionedThroughput``.

    Use :meth:`of`; it creates the provider on first use with the stable
    construct id ``ProvisionedThroughputProvider`` (the service token must not
    change between deployments). Polls every minute for at most one hour.

    Attributes: ``provider``, ``on_event``, ``is_complete`` (the handler functions),
    ``service_token``.
    """

    @classmethod
    def of(cls, scope: Construct) -> ProvisionedThroughputProvider:
        """The provider of the stack that holds ``scope`` (created once)."""
        stack = cdk.Stack.of(scope)
        existing = stack.node.try_find_child(PROVIDER_ID)
        if existing is not None:
            if not isinstance(existing, cls):
                raise ValueError(f"{PROVIDER_ID} in {stack.stack_name} is not a {cls.__name__}")
            return existing
        return cls(stack, PROVIDER_ID)

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
        self.on_event.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ManageProvisionedThroughputs",
                actions=list(MANAGE_ACTIONS),
                resources=[self._throughput_arns],
            )
        )
        # Resources are added by each throughput (add_model); rendered at synth.
        self._model_statement = iam.PolicyStatement(
            sid="UseDeclaredModels", actions=list(MODEL_ACTIONS)
        )
        self._models: list[str] = []
        self.is_complete.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PollProvisionedThroughputs",
                actions=list(POLL_ACTIONS),
                resources=[self._throughput_arns],
            )
        )
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
        )
        self.service_token = self.provider.service_token
        self._acknowledge(stack)

    def add_model(self, model_arn: str) -> None:
        """Let the handler buy throughput for ``model_arn`` (once per distinct ARN)."""
        if model_arn in self._models:
            return
        if not self._models:
            self.on_event.role.add_to_principal_policy(self._model_statement)
        self._models.append(model_arn)
        self._model_statement.add_resources(model_arn)

    def _acknowledge(self, stack: cdk.Stack) -> None:
        """The findings of this provider, each on the narrowest construct, with why."""

        def literal(value: str, token: str) -> str:
            return value if not _unresolved(value) else token

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
            for finding in ("NIST.800.53.R5-IAMNoInlinePolicy", "HIPAA.Security-IAMNoInlinePolicy"):
                acknowledge(
                    policy,
                    finding,
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
            for finding, reason in FRAMEWORK_FUNCTION_ACKNOWLEDGEMENTS:
                acknowledge(function, finding, reason)
        waiter = framework.node.find_child("waiter-state-machine")
        for name in ("framework-isComplete", "framework-onTimeout"):
            acknowledge(
                waiter,
                f"AwsSolutions-IAM5[Resource::{arn_of(functions[name])}]",
                "the waiter state machine may invoke any version of the framework function "
                "it calls (ARN:*), as aws-cdk-lib's Provider grants it",
            )
        for finding, reason in WAITER_ACKNOWLEDGEMENTS:
            acknowledge(waiter, finding, reason)


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


class _ThroughputBase(Construct):
    """What a created and an imported throughput share."""

    provisioned_model_arn: str
    # What identifies the purchase behind the ARN (ModelVersion.purchase_key).
    purchase_key: str

    @property
    def model_arn(self) -> str:
        """The provisioned model ARN (``aws_bedrock.IModel``)."""
        return self.provisioned_model_arn

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` invoke the provisioned model (InvokeModel, Converse, streaming)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(INVOKE_ACTIONS),
            resource_arns=[self.provisioned_model_arn],
        )


@jsii.implements(bedrock.IModel)
class ImportedProvisionedThroughput(_ThroughputBase):
    """A throughput bought elsewhere; see :meth:`ProvisionedThroughput.from_provisioned_model_arn`.

    Attributes: ``provisioned_model_arn``, ``model`` (``aws_bedrock.IModel``).
    """

    def __init__(self, scope: Construct, construct_id: str, *, provisioned_model_arn: str) -> None:
        if not _unresolved(provisioned_model_arn) and not contract.PROVISIONED_MODEL_ARN.fullmatch(
            provisioned_model_arn
        ):
            raise ValueError(
                "provisioned_model_arn must be arn:<partition>:bedrock:<region>:<account>:"
                f"provisioned-model/<12 characters>, got {provisioned_model_arn!r}"
            )
        super().__init__(scope, construct_id)
        self.provisioned_model_arn = provisioned_model_arn
        self.purchase_key = provisioned_model_arn
        self.model: bedrock.IModel = bedrock.ProvisionedModel.from_provisioned_model_arn(
            self, "Model", provisioned_model_arn
        )


@jsii.implements(bedrock.IModel)
class ProvisionedThroughput(_ThroughputBase):
    """A Bedrock provisioned throughput (``Custom::BedrockProvisionedThroughput``).

    :param model: foundation model id (with its context suffix, for example
        ``amazon.nova-pro-v1:0:300k``), foundation-model ARN or custom-model ARN.
    :param model_units: whole number >= 1 of model units to buy.
    :param provisioned_model_name: Bedrock's name of the throughput, 1-63 characters
        of ``[0-9a-zA-Z]`` each optionally followed by ``-`` or ``_``. Renaming is done in place.
    :param commitment: term bought. Default: ``Commitment.NONE`` (hourly, deletable any time).
    :param allow_replacement: let a change that needs a new throughput (units, commitment,
        model of a foundation-model throughput) replace a committed one whose term has
        not ended; the old one is retained and keeps billing. Default: False (refused).
    :param tags: tags of the throughput. Default: none besides the cost-allocation tags.
    :param family: family served, tagged ``bedrock-lifecycle:family``. Default: not tagged.
    :param version: version(s) served, tagged ``bedrock-lifecycle:version``. Default: not tagged.
    :param environment: tagged ``bedrock-lifecycle:environment``. Default: not tagged.
    :param removal_policy: what removing it from the stack does. Default:
        RETAIN_ON_UPDATE_OR_DELETE for a committed throughput (forced; RETAIN is accepted,
        anything else is an error), DESTROY otherwise.

    Attributes: ``provisioned_model_arn`` (Ref), ``model`` (``aws_bedrock.IModel``),
    ``resource`` (the ``CustomResource``), ``commitment``, ``provider``,
    ``removal_policy`` (the one applied), ``purchase_key`` (path, model, units and
    commitment: what a replacement changes; pass it to ``ModelVersion``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: str,
        model_units: int,
        provisioned_model_name: str,
        commitment: Commitment = Commitment.NONE,
        allow_replacement: bool = False,
        tags: Mapping[str, str] | None = None,
        family: str | None = None,
        version: str | None = None,
        environment: str | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
    ) -> None:
        all_tags = dict(tags) if tags is not None else {}
        for key, value in (("family", family), ("version", version), ("environment", environment)):
            if value is not None:
                all_tags[f"{TAG_PREFIX}:{key}"] = value
        validate_props(
            model=model,
            model_units=model_units,
            provisioned_model_name=provisioned_model_name,
            commitment=commitment,
            tags=all_tags,
            removal_policy=removal_policy,
        )
        super().__init__(scope, construct_id)
        self.commitment = commitment
        self.provider = ProvisionedThroughputProvider.of(self)
        self.provider.add_model(model_arn_of(self, model))
        committed = commitment is not Commitment.NONE
        self.removal_policy = (
            (removal_policy if removal_policy is not None else COMMITTED_REMOVAL_POLICY)
            if committed
            else (removal_policy if removal_policy is not None else cdk.RemovalPolicy.DESTROY)
        )
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                "ProvisionedModelName": provisioned_model_name,
                "ModelId": model,
                "ModelUnits": (
                    cdk.Token.as_string(model_units)
                    if _unresolved(model_units)
                    else str(model_units)
                ),
                "CommitmentDuration": COMMITMENT_DURATIONS[commitment],
                "AllowReplacement": "true" if allow_replacement else "false",
                "Tags": [{"Key": k, "Value": v} for k, v in sorted(all_tags.items())],
            },
            removal_policy=self.removal_policy,
        )
        self.provisioned_model_arn: str = self.resource.ref
        # A change of any of these buys a new throughput with a new ARN (the handler's
        # replacement), under the same logical id.
        self.purchase_key = (
            f"{self.node.path}:{model}:{model_units}:{COMMITMENT_DURATIONS[commitment]}"
        )
        self.model: bedrock.IModel = bedrock.ProvisionedModel.from_provisioned_model_arn(
            self, "Model", self.provisioned_model_arn
        )

    @staticmethod
    def from_provisioned_model_arn(
        scope: Construct, construct_id: str, provisioned_model_arn: str
    ) -> ImportedProvisionedThroughput:
        """Use a throughput bought outside this stack (``...:provisioned-model/<id>``)."""
        return ImportedProvisionedThroughput(
            scope, construct_id, provisioned_model_arn=provisioned_model_arn
        )


__all__ = [
    "COMMITMENT_DURATIONS",
    "RESOURCE_TYPE",
    "ImportedProvisionedThroughput",
    "ProvisionedThroughput",
    "ProvisionedThroughputProvider",
]
