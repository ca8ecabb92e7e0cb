"""The public constructs of bedrock-lifecycle, for stacks of your own.

::

    from bedrock_lifecycle.constructs import AliasRollout, ModelAlias, RolloutHooks

Each class lives in its own module (``model_alias``, ``rollout``, ...); the
modules also hold the helpers the shipped stack composes from the lifecycle
file (``aliases_of_environment``, ``throughputs_of_environment``, ...).
"""

from .alarm_topic import AlarmTopic
from .evaluation_gate import RolloutHooks
from .function import LifecycleFunction
from .invocation_audit import InvocationAudit
from .lifecycle_watcher import LifecycleWatcher
from .model_alias import ModelAlias
from .provisioned_throughput import ImportedProvisionedThroughput, ProvisionedThroughput
from .regression_alarms import RegressionAlarms
from .rollout import AliasRollout, Rollouts

__all__ = [
    "AlarmTopic",
    "AliasRollout",
    "ImportedProvisionedThroughput",
    "InvocationAudit",
    "LifecycleFunction",
    "LifecycleWatcher",
    "ModelAlias",
    "ProvisionedThroughput",
    "RegressionAlarms",
    "RolloutHooks",
    "Rollouts",
]
