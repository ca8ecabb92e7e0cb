"""The package's public constructs import from ``bedrock_lifecycle.constructs``."""

from __future__ import annotations

import importlib

import bedrock_lifecycle.constructs as public

# Public name -> the module that defines it.
DEFINED_IN = {
    "AlarmTopic": "alarm_topic",
    "AliasPanel": "dashboard",
    "ContinuousEvaluationAlarm": "continuous_evaluation",
    "ContinuousEvaluator": "continuous_evaluation",
    "EvaluatedAlias": "continuous_evaluation",
    "LifecycleDashboard": "dashboard",
    "AliasRollout": "rollout",
    "CustomModelDeployment": "custom_model_deployment",
    "CustomizationJobRole": "customization_role",
    "InvocationLogSource": "customization_role",
    "ImportedProvisionedThroughput": "provisioned_throughput",
    "InvocationAudit": "invocation_audit",
    "LifecycleFunction": "function",
    "LifecycleWatcher": "lifecycle_watcher",
    "ModelAlias": "model_alias",
    "ProvisionedThroughput": "provisioned_throughput",
    "RegressionAlarms": "regression_alarms",
    "RolloutHooks": "rollout_hooks",
    "AliasRolloutProps": "rollout",
    "Rollouts": "rollout",
}


def test_every_public_construct_is_exported_from_the_package():
    assert sorted(public.__all__) == sorted(DEFINED_IN)
    for name, module in DEFINED_IN.items():
        defining = importlib.import_module(f"bedrock_lifecycle.constructs.{module}")
        assert getattr(public, name) is getattr(defining, name), name
