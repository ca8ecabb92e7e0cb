"""The project's Lambda function: one place for the defaults every function shares.

Every function of the package (routers, custom resource handlers, hooks, the
lifecycle watcher) is a :class:`LifecycleFunction`, so that they all get the
same secure defaults: the newest Python runtime aws-cdk-lib knows, ARM64, an
explicit KMS-encrypted log group with retention (an implicit one would be
invisible to cdk-nag), X-Ray tracing, its own role with no managed policies,
and Powertools from the public layer.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..nag import acknowledge
from ..nag.acknowledgements import (
    FUNCTION_ACKNOWLEDGEMENTS,
    SYNCHRONOUS_ACKNOWLEDGEMENTS,
    acknowledge_all,
)
from .keys import deny_grants_outside_aws_services
from .network import attach_vpc_access, function_network_props, network_of
from .singletons import stack_singleton
from .staging import stage_files

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"
# Copied beside every asset's own modules at synth (bedrock_lifecycle/shared).
SHARED_DIR = Path(__file__).resolve().parent.parent / "shared"

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
# Powertools for AWS Lambda (Python) v3, public layer published in every
# commercial region by account 017000801446. Override with the CDK context
# value ``powertools_layer_version``.
POWERTOOLS_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27
DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_YEAR
# What Lambda accepts as memory size (MiB).
MIN_MEMORY_MIB = 128
MAX_MEMORY_MIB = 10240


def asset_path(function: str) -> str:
    """Folder of a Lambda asset root under ``bedrock_lifecycle/lambdas``."""
    path = LAMBDAS_DIR / function
    if not function or not path.is_dir():
        known = sorted(
            p.name
            for p in LAMBDAS_DIR.iterdir()
            if p.is_dir() and not p.name.startswith(("_", "."))
        )
        raise ValueError(
            f"source must be a folder of {LAMBDAS_DIR} ({', '.join(known)}), got {function!r}"
        )
    return str(path)


@functools.lru_cache(maxsize=256)
def _imported_names(code: bytes) -> frozenset[str]:
    """Top-level module names a Python file imports (``import x``, ``from x import y``).

    Cached by content: every router of a stack has the same modules, and parsing them
    again for each was a third of a large synth."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return frozenset(names)


def asset_files(source: str) -> dict[str, bytes]:
    """The files of one Lambda asset: its folder's Python modules and the shared modules
    they import (``import contract``), nothing else.

    Only what the code uses goes in, so that a change to a shared module changes (and
    redeploys) only the functions that import it.

    :raises ValueError: when an asset module has the name of a shared one.
    """
    root = Path(asset_path(source))
    files = {path.name: path.read_bytes() for path in sorted(root.glob("*.py"))}
    shared = {p.stem: p for p in sorted(SHARED_DIR.glob("*.py")) if p.name != "__init__.py"}
    for name in sorted(shared):
        if f"{name}.py" in files:
            raise ValueError(
                f"lambdas/{source}/{name}.py has the name of the shared module "
                f"bedrock_lifecycle/shared/{name}.py; rename it"
            )
    wanted: set[str] = set()
    todo = list(files.values())
    while todo:
        for name in _imported_names(todo.pop()) & set(shared) - wanted:
            wanted.add(name)
            todo.append(shared[name].read_bytes())
    for name in sorted(wanted):
        files[f"{name}.py"] = shared[name].read_bytes()
    return files


def logs_key(scope: Construct) -> kms.Key:
    """The stack's one KMS key for CloudWatch Logs and for the environment variables of
    its functions (created on first use).

    Rotation is on. The key policy lets CloudWatch Logs of this account and region
    use it only for the log groups of this stack that are encrypted with it, each
    by its own pattern (:func:`log_group_arn_patterns`).
    """
    return stack_singleton(scope, "LogsKey", kms.Key, _logs_key)


def log_group_arn_patterns(stack: cdk.Stack, key: kms.IKey) -> list[str]:
    """What the logs key's policy lets CloudWatch Logs encrypt: one ARN pattern per log
    group of ``stack`` whose ``KmsKeyId`` is ``key``.

    A named group gets its exact ARN; a group CloudFormation names gets
    ``arn:<partition>:logs:<region>:<account>:log-group:<stack name>-<logical id>-*``
    (CloudFormation names it ``<stack name>-<logical id>-<suffix>``). Never a bare
    ``<stack name>-*``: a stack ``BedrockLifecycle-prod-eu`` of the same account
    would match that of ``BedrockLifecycle-prod``.
    """
    prefix = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:"
    patterns: list[str] = []
    key_arn = stack.resolve(key.key_arn)
    for node in stack.node.find_all():
        if not (
            isinstance(node, logs.CfnLogGroup)
            and cdk.Stack.of(node) is stack
            and node.kms_key_id is not None
            and stack.resolve(node.kms_key_id) == key_arn
        ):
            continue
        # The L2's name is a lazy token that resolves to nothing when CloudFormation
        # names the group.
        if stack.resolve(node.log_group_name) not in (None, ""):
            arn = f"{prefix}{node.log_group_name}"
        else:
            arn = f"{prefix}{cdk.Aws.STACK_NAME}-{stack.resolve(stack.get_logical_id(node))}-*"
        if arn not in patterns:
            patterns.append(arn)
    return patterns or [f"{prefix}{cdk.Aws.STACK_NAME}-none"]


@jsii.implements(cdk.IResolvable)
class _LogGroupArns:
    """The condition value of the logs key's policy, computed at synth (once every log
    group using the key exists): one pattern as a string, several as a list."""

    def __init__(self, stack: cdk.Stack, key: kms.IKey) -> None:
        self._stack = stack
        self._key = key

    @property
    def creation_stack(self) -> list[str]:
        return []

    def resolve(self, context: cdk.IResolveContext) -> object:
        patterns = log_group_arn_patterns(self._stack, self._key)
        return context.resolve(patterns[0] if len(patterns) == 1 else patterns)

    def to_string(self) -> str:
        return cdk.Token.as_string(self)


def _logs_key(stack: cdk.Stack) -> kms.Key:
    key = kms.Key(
        stack,
        "LogsKey",
        description=(
            f"{stack.stack_name}: encrypts the CloudWatch log groups of this stack and the "
            "environment variables of its functions"
        ),
        enable_key_rotation=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    deny_grants_outside_aws_services(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsOfThisStack",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": _LogGroupArns(stack, key)}
            },
        )
    )
    return key


def provider_props(scope: Construct) -> dict[str, object]:
    """What every custom resource ``Provider`` of a stack is given: the stack's network
    (:func:`~.network.function_network_props`) and its key for the environment variables
    of the framework's own functions."""
    return {
        **function_network_props(scope),
        "provider_function_env_encryption": logs_key(scope),
    }


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
    removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
) -> logs.LogGroup:
    """A log group encrypted with the stack's logs key, with retention set.

    :param retention: how long entries are kept. Default: one year.
    :param removal_policy: what ``cdk destroy`` does. Default: RETAIN (logs are evidence).
    """
    return logs.LogGroup(
        scope,
        construct_id,
        encryption_key=logs_key(scope),
        retention=retention,
        removal_policy=removal_policy,
    )


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The public Powertools v3 layer for the project's runtime (one per stack)."""
    # An imported layer is a jsii proxy of ILayerVersion, not a Construct subclass.
    return stack_singleton(scope, "PowertoolsLayer", object, _powertools_layer)


def _powertools_layer(stack: cdk.Stack) -> lambda_.ILayerVersion:
    context = stack.node.try_get_context("powertools_layer_version")
    version = context if context is not None else POWERTOOLS_LAYER_VERSION
    # From cdk.json it is a number, from `cdk -c powertools_layer_version=30` a string.
    if isinstance(version, bool) or not str(version).isdigit() or int(version) < 1:
        raise ValueError(
            f"context powertools_layer_version must be a whole number >= 1, got {version!r}"
        )
    runtime = RUNTIME.name.replace(".", "")  # python3.14 -> python314
    # jsii objects do not compare equal to themselves: compare names ("arm64", "x86_64").
    arch = "arm64" if ARCHITECTURE.name == lambda_.Architecture.ARM_64.name else "x86_64"
    arn = (
        f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{runtime}-{arch}:{version}"
    )
    # With explicit runtimes: from_layer_version_arn would give the layer aws-cdk-lib's
    # process-wide Runtime.ALL, which grows with every custom resource Provider built in
    # the process (aws/aws-cdk#35514). That list goes into every function's version hash
    # (recognizeLayerVersion), so adding an environment or a throughput would publish a
    # new version of every router and start a rollout on every alias.
    return lambda_.LayerVersion.from_layer_version_attributes(
        stack, "PowertoolsLayer", layer_version_arn=arn, compatible_runtimes=[RUNTIME]
    )


def _asset_code(scope: Construct, folder: str) -> lambda_.Code:
    """One ``Code`` per staged folder and stack: its asset is fingerprinted once, not once
    per function (every router of a stack shares one folder)."""
    stack = cdk.Stack.of(scope)
    cache: dict[str, lambda_.Code] | None = getattr(stack, "_bedrock_lifecycle_code", None)
    if cache is None:
        cache = {}
        stack._bedrock_lifecycle_code = cache  # type: ignore[attr-defined]
    if folder not in cache:
        cache[folder] = lambda_.Code.from_asset(folder)
    return cache[folder]


def _validate(*, source: str, memory_size: int) -> None:
    """Every prop check, before any resource exists."""
    asset_path(source)
    if not cdk.Token.is_unresolved(memory_size) and not (
        MIN_MEMORY_MIB <= memory_size <= MAX_MEMORY_MIB
    ):
        raise ValueError(
            f"memory_size must be between {MIN_MEMORY_MIB} and {MAX_MEMORY_MIB} MiB, "
            f"got {memory_size}"
        )


class LifecycleFunction(Construct):
    """A Python Lambda function with the project's defaults.

    :param source: folder name under ``bedrock_lifecycle/lambdas``.
    :param handler: ``module.function``. Default: ``app.handler``.
    :param description: shown in the Lambda console.
    :param environment: environment variables. Default: none besides Powertools'.
    :param timeout: Default: 30 seconds.
    :param memory_size: MiB. Default: 256.
    :param service_name: Powertools service name (log and metric field). Default: ``source``.
    :param log_retention: Default: one year.
    :param reserved_concurrent_executions: Default: unreserved (shares the account pool).
    :param log_group: where the function logs (several functions may share one).
        Default: a new log group encrypted with the stack's logs key, kept on delete.
    :param dead_letter_queue: for asynchronously invoked functions (schedules, events).
        Default: none; synchronous callers see errors directly.
    :param function_name: the function's physical name, for a function another stack
        must name before it exists. Default: CloudFormation names it.
    :param role_policy: ``"default"``: what the function itself needs (writing its log
        group, X-Ray traces) goes into the role's default policy, as aws-cdk-lib puts it.
        ``"caller"``: the role gets no policy of its own; the caller attaches
        :meth:`base_statements` to a policy it makes anyway (a router's grants), one
        resource fewer per function. Default: ``"default"``.
    :param log_group_arn: the ARN to grant log writes on, for a ``log_group`` imported
        from another stack (its ``Arn`` attribute, which ends in ``:*``). Default:
        ``log_group``'s own ARN.

    Attributes: ``function``, ``role``, ``log_group``, ``key`` (the stack's KMS key, which
    encrypts the environment variables). In a stack with a network
    (:func:`~bedrock_lifecycle.constructs.network.use_network`) the function runs in it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: str,
        description: str,
        handler: str = "app.handler",
        environment: dict[str, str] | None = None,
        timeout: cdk.Duration | None = None,
        memory_size: int = 256,
        service_name: str | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        reserved_concurrent_executions: int | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        log_group: logs.ILogGroup | None = None,
        role_policy: str = "default",
        log_group_arn: str | None = None,
        function_name: str | None = None,
    ) -> None:
        _validate(source=source, memory_size=memory_size)
        if role_policy not in ("default", "caller"):
            raise ValueError(f'role_policy must be "default" or "caller", got {role_policy!r}')
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} (execution role)",
        )
        self.log_group = (
            log_group
            if log_group is not None
            else encrypted_log_group(self, "LogGroup", retention=log_retention)
        )
        env = {
            "POWERTOOLS_SERVICE_NAME": service_name if service_name is not None else source,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        if environment is not None:
            env.update(environment)
        self.function = lambda_.Function(
            self,
            "Resource",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=_asset_code(self, str(stage_files(self, source, asset_files(source)))),
            handler=handler,
            description=description,
            function_name=function_name,
            # "caller": aws-cdk-lib's own additions (X-Ray) would make a default policy.
            role=self.role if role_policy == "default" else self.role.without_policy_updates(),
            environment=env,
            timeout=timeout if timeout is not None else cdk.Duration.seconds(30),
            memory_size=memory_size,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            layers=[powertools_layer(self)],
            reserved_concurrent_executions=reserved_concurrent_executions,
            dead_letter_queue=dead_letter_queue,
            # ROUTER_CONFIG holds system prompts: encrypted with the stack's key, which
            # the role may decrypt (base_statements).
            environment_encryption=logs_key(self),
            **function_network_props(self),  # type: ignore[arg-type]
        )
        self.key = logs_key(self)
        if network_of(self) is not None:
            attach_vpc_access(self.role, self.function)
        self._log_group_arn = (
            log_group_arn if log_group_arn is not None else self.log_group.log_group_arn
        )
        if role_policy == "default":
            # aws-cdk-lib adds the X-Ray statement itself (tracing), the same as below.
            if log_group_arn is None:
                self.log_group.grant_write(self.role)
            else:  # an imported group: its ARN attribute, not a pattern made of its name
                self.role.add_to_principal_policy(self.base_statements()[0])
            self.role.add_to_principal_policy(self._decrypt_statement())
            acknowledge_xray(self.role)
        acknowledge_all(self.function, FUNCTION_ACKNOWLEDGEMENTS)
        if dead_letter_queue is None:
            acknowledge_all(self.function, SYNCHRONOUS_ACKNOWLEDGEMENTS)

    def base_statements(self) -> list[iam.PolicyStatement]:
        """What the function needs to run: write its log group, send X-Ray traces, decrypt
        its environment variables.

        The role's default policy holds them with ``role_policy="default"``; with
        ``"caller"``, the caller puts them into a policy of the role (and acknowledges
        the X-Ray wildcard there, :func:`acknowledge_xray`).
        """
        return [
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self._log_group_arn],
            ),
            iam.PolicyStatement(
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],
            ),
            self._decrypt_statement(),
        ]

    def _decrypt_statement(self) -> iam.PolicyStatement:
        """Decrypt the function's environment variables (the stack's key)."""
        return iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.key.key_arn])


def acknowledge_xray(scope: Construct) -> None:
    """The X-Ray statement of :meth:`LifecycleFunction.base_statements`, on the policy or
    role that holds it."""
    acknowledge(
        scope,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray PutTraceSegments and PutTelemetryRecords have no resource-level "
        "permissions; the wildcard covers only those two actions",
    )
