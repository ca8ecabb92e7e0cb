"""bedrock-lifecycle's public API: every construct, props type and helper a stack needs.

::

    from bedrock_lifecycle.constructs import (
        AliasRollout, Evaluation, ModelAlias, ModelVersion, RolloutPolicy, Target, VersionSpec,
    )

``__all__`` is the API: a name in it follows the versioning policy of CHANGELOG.md
(docs/installing.md), a name outside it may change in any release. The constructs never
read the lifecycle file: the shipped stack's builders (``bedrock_lifecycle/stacks``)
turn the file into these same props.
"""

from ..nag import Governance, acknowledge, declare_governance, register_packs
from ..nag.control_tower import excuse_control_tower_rule, register_control_tower
from ..props import (
    AlarmThresholds,
    CanaryAnalysis,
    Commitment,
    Evaluation,
    FamilyKind,
    Guardrail,
    InferenceConfig,
    InferenceOverride,
    LifecycleState,
    ObjectLockMode,
    RolloutPolicy,
    RolloutStrategy,
    Target,
    VersionLifecycle,
    VersionSpec,
)
from ..versions import ModelVersion
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
    "AlarmThresholds",
    "AlarmTopic",
    "AliasPanel",
    "AliasRollout",
    "AliasRolloutProps",
    "CanaryAnalysis",
    "Commitment",
    "ContinuousEvaluationAlarm",
    "ContinuousEvaluator",
    "CustomModelDeployment",
    "CustomizationJobRole",
    "EvaluatedAlias",
    "Evaluation",
    "FamilyKind",
    "Governance",
    "Guardrail",
    "ImportedProvisionedThroughput",
    "InferenceConfig",
    "InferenceOverride",
    "InvocationAudit",
    "InvocationLogSource",
    "LifecycleDashboard",
    "LifecycleFunction",
    "LifecycleState",
    "LifecycleWatcher",
    "ModelAlias",
    "ModelVersion",
    "ObjectLockMode",
    "ProvisionedThroughput",
    "RegressionAlarms",
    "RolloutHooks",
    "RolloutPolicy",
    "RolloutStrategy",
    "Rollouts",
    "Target",
    "VersionLifecycle",
    "VersionSpec",
    "acknowledge",
    "declare_governance",
    "excuse_control_tower_rule",
    "register_control_tower",
    "register_packs",
]
