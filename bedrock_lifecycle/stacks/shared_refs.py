"""What the main stack of a split environment shares with its alias stacks, by weak reference.

The main stack writes each shared value (an ARN, a name) into an SSM parameter
``/bedrock-lifecycle/<project>/<env>/shared/<key>`` (:class:`SharedParts`); an
alias stack reads it as a CloudFormation parameter of type
``AWS::SSM::Parameter::Value<String>``, resolved at each deploy
(:class:`SharedRefs`). Never ``Fn::ImportValue``: an export cannot change while
another stack imports it, so a strong reference would pin the main stack's
resources (its CodeDeploy role, its alarm topic) for as long as any alias stack
exists. What must be a literal in an alias stack's template (the names in a
Lambda alias's ``UpdatePolicy``) is named deterministically instead
(:mod:`bedrock_lifecycle.names`).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..names import shared_application_name, shared_parameter_name

DEPLOYMENT_ROLE_KEY = "deployment-role-arn"
ALARM_TOPIC_KEY = "alarm-topic-arn"
AUDIT_LOG_GROUP_KEY = "audit-log-group-arn"
AUDIT_LOG_GROUP_NAME_KEY = "audit-log-group-name"
GATE_ROLE_KEY = "evaluation-gate-role-arn"
SHARED_KEYS = (
    DEPLOYMENT_ROLE_KEY,
    ALARM_TOPIC_KEY,
    AUDIT_LOG_GROUP_KEY,
    AUDIT_LOG_GROUP_NAME_KEY,
    GATE_ROLE_KEY,
)
# The hooks of a split environment, named so that alias stacks attach them literally.
GATE_HOOK = "evaluation-gate"
ANALYSIS_HOOK = "canary-analysis"


def _construct_id(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("-"))


class SharedParts(Construct):
    """In the main stack of a split environment: the CodeDeploy application of its alias
    stacks (``Application``, named by :func:`~bedrock_lifecycle.names.shared_application_name`)
    and one SSM parameter per shared value.

    :param stack: the main stack (a ``LifecycleStack`` with ``rollouts``,
        ``alarm_topic`` and ``audit``).
    """

    def __init__(self, stack: cdk.Stack) -> None:
        super().__init__(stack, "Shared")
        self._project: str = stack.config.file.project  # type: ignore[attr-defined]
        self._environment: str = stack.environment_name  # type: ignore[attr-defined]
        self.application = codedeploy.LambdaApplication(
            self,
            "Application",
            application_name=shared_application_name(self._project, self._environment),
        )
        self.parameters: dict[str, ssm.StringParameter] = {}
        rollouts = stack.rollouts  # type: ignore[attr-defined]
        audit = stack.audit  # type: ignore[attr-defined]
        self.publish(DEPLOYMENT_ROLE_KEY, rollouts.role.role_arn)
        self.publish(ALARM_TOPIC_KEY, stack.alarm_topic.topic.topic_arn)  # type: ignore[attr-defined]
        self.publish(AUDIT_LOG_GROUP_KEY, audit.log_group.log_group_arn)
        self.publish(AUDIT_LOG_GROUP_NAME_KEY, audit.log_group.log_group_name)

    def publish(self, key: str, value: str) -> ssm.StringParameter:
        """Write ``value`` where the alias stacks read ``key``."""
        if key not in SHARED_KEYS:
            raise ValueError(f"shared key must be one of {', '.join(SHARED_KEYS)}, got {key!r}")
        parameter = ssm.StringParameter(
            self,
            _construct_id(key),
            parameter_name=shared_parameter_name(self._project, self._environment, key),
            string_value=value,
            description=f"bedrock-lifecycle {self._environment}: {key}, read by its alias stacks",
        )
        self.parameters[key] = parameter
        return parameter


class SharedRefs(Construct):
    """In an alias stack: each shared value as a stack parameter that CloudFormation reads
    from the main stack's SSM parameter at every deploy (made on first use, so a
    stack declares only the parameters it uses)."""

    def __init__(self, scope: Construct, construct_id: str, *, project: str, environment: str):
        super().__init__(scope, construct_id)
        self._project = project
        self._environment = environment
        self._values: dict[str, str] = {}

    def value(self, key: str) -> str:
        """The shared ``key`` (a token resolved at deploy time)."""
        if key not in SHARED_KEYS:
            raise ValueError(f"shared key must be one of {', '.join(SHARED_KEYS)}, got {key!r}")
        if key not in self._values:
            parameter = cdk.CfnParameter(
                self,
                _construct_id(key),
                type="AWS::SSM::Parameter::Value<String>",
                default=shared_parameter_name(self._project, self._environment, key),
                description=f"{key} of the environment's main stack (its SSM parameter)",
            )
            self._values[key] = parameter.value_as_string
        return self._values[key]
