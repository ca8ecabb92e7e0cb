"""The public constructs of bedrock-lifecycle, for stacks of your own.

::

    from bedrock_lifecycle.constructs import AliasRollout, ModelAlias, RolloutHooks

Each class lives in its own module (``model_alias``, ``rollout``, ...). They
never read the lifecycle file: the shipped stack's builders
(``bedrock_lifecycle/stacks/builders.py``) turn it into their props.
"""

from .alarm_topic import AlarmTopic
from .continuous_evaluation import ContinuousEvaluationAlarm, ContinuousEvaluator, EvaluatedAlias
from .custom_model_deployment import CustomModelDeployment
from .customization_role import CustomizationJobRole, InvocationLogSource
from .dashboard import AliasPanel, LifecycleDashboard
from .function import LifecycleFunction
from .invocation_audit import InvocationAudit
from .lifecycle_watcher import LifecycleWatcher
from .model_alias import ModelAlias
from .provisioned_throughput import ImportedProvisionedThroughput, ProvisionedThroughput
from .regression_alarms import RegressionAlarms
from .rollout import AliasRollout, AliasRolloutProps, Rollouts
from .rollout_hooks import RolloutHooks

__all__ = [
    "AlarmTopic",
    "AliasPanel",
    "AliasRollout",
    "AliasRolloutProps",
    "ContinuousEvaluationAlarm",
    "ContinuousEvaluator",
    "CustomModelDeployment",
    "CustomizationJobRole",
    "EvaluatedAlias",
    "ImportedProvisionedThroughput",
    "InvocationAudit",
    "InvocationLogSource",
    "LifecycleDashboard",
    "LifecycleFunction",
    "LifecycleWatcher",
    "ModelAlias",
    "ProvisionedThroughput",
    "RegressionAlarms",
    "RolloutHooks",
    "Rollouts",
]
