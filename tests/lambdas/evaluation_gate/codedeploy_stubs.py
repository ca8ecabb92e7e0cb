"""What CodeDeploy tells both hooks, and what they must tell it back (Stubber responses)."""

from __future__ import annotations

import datetime as dt

from botocore.stub import Stubber

DEPLOYMENT = "d-ABCDEF123"
EXECUTION = "exec-42"
EVENT = {"DeploymentId": DEPLOYMENT, "LifecycleEventHookExecutionId": EXECUTION}
GROUP = "summarizer.live"
FUNCTION = "BedrockLifecycle-prod-SummarizerLiveFunction-abc"
CREATED = dt.datetime(2026, 11, 26, 6, 0, 30, tzinfo=dt.UTC)


def stub_target(stub: Stubber, group: str = GROUP, created: dt.datetime = CREATED) -> None:
    """GetDeployment, ListDeploymentTargets and GetDeploymentTarget of a Lambda deployment
    of ``group`` that moves the alias ``live`` from version 6 to version 7."""
    stub.add_response(
        "get_deployment",
        {
            "deploymentInfo": {
                "deploymentId": DEPLOYMENT,
                "deploymentGroupName": group,
                "applicationName": "BedrockLifecycle-prod",
                "createTime": created,
            }
        },
        {"deploymentId": DEPLOYMENT},
    )
    stub.add_response(
        "list_deployment_targets", {"targetIds": [FUNCTION]}, {"deploymentId": DEPLOYMENT}
    )
    stub.add_response(
        "get_deployment_target",
        {
            "deploymentTarget": {
                "deploymentTargetType": "LambdaTarget",
                "lambdaTarget": {
                    "deploymentId": DEPLOYMENT,
                    "targetId": FUNCTION,
                    "lambdaFunctionInfo": {
                        "functionName": FUNCTION,
                        "functionAlias": "live",
                        "currentVersion": "6",
                        "targetVersion": "7",
                    },
                },
            }
        },
        {"deploymentId": DEPLOYMENT, "targetId": FUNCTION},
    )


def stub_report(stub: Stubber, status: str) -> None:
    """The hook's verdict, exactly as CodeDeploy must receive it."""
    stub.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": EXECUTION},
        {"deploymentId": DEPLOYMENT, "lifecycleEventHookExecutionId": EXECUTION, "status": status},
    )
