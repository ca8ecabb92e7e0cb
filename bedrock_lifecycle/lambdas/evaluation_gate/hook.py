"""What a CodeDeploy lifecycle hook needs: the deployment's target and a report.

Shared by both hooks of this asset root: the evaluation gate (``app.handler``,
BeforeAllowTraffic) and the canary analysis (``canary_analysis.handler``,
AfterAllowTraffic), two functions deployed from the one zipped folder.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import contract
from botocore.config import Config

SUCCEEDED = "Succeeded"
FAILED = "Failed"
# Every AWS call of a hook is bounded, so that the hook always has time left to
# report before its Lambda timeout (botocore's defaults, 60 s to connect and 60 s
# to read, 3 attempts, would let one slow call outlive the function).
CALL_CONNECT_TIMEOUT = 2
CALL_READ_TIMEOUT = 10
CALL_ATTEMPTS = 2
# The longest one call can take: every attempt times out, plus the standard
# retry mode's backoff before the second attempt (at most 1 s).
CALL_WORST_SECONDS = CALL_ATTEMPTS * (CALL_CONNECT_TIMEOUT + CALL_READ_TIMEOUT) + 1
# Where the settings layer of the stack unpacks (/opt is the layer root).
DEFAULT_SETTINGS_FILE = "/opt/rollout/settings.json"


def bounded_config() -> Config:
    """The botocore configuration of every hook client that is not answering a prompt."""
    return Config(
        connect_timeout=CALL_CONNECT_TIMEOUT,
        read_timeout=CALL_READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": CALL_ATTEMPTS},
    )


class HookInputError(ValueError):
    """The invocation event is not a CodeDeploy lifecycle hook event."""


# What CodeDeploy's ids look like (``d-`` and nine capitals or digits; an opaque token),
# as explicit ASCII classes: a newline, a full-width digit or a 3,000-character id is
# not CodeDeploy's, and nothing is reported for it.
DEPLOYMENT_ID = re.compile(r"d-[A-Z0-9]{1,64}")
EXECUTION_ID = re.compile(r"[A-Za-z0-9+/=_.:-]{1,2048}")
HOOK_EVENT_IDS = {
    "DeploymentId": (DEPLOYMENT_ID, "d- and capitals or digits"),
    "LifecycleEventHookExecutionId": (EXECUTION_ID, "1-2048 ASCII letters, digits and +/=_.:-"),
}


@dataclass(frozen=True)
class HookEvent:
    """The two ids CodeDeploy passes to a lifecycle hook."""

    deployment_id: str
    execution_id: str

    @classmethod
    def parse(cls, event: object) -> HookEvent:
        """The front door of both hooks: check the event before any AWS call.

        :raises HookInputError: one line naming the field, the value and what is allowed.
        """
        if not isinstance(event, dict):
            raise HookInputError(
                f"expected a CodeDeploy hook event (an object), got {contract.shown(event)}"
            )
        ids: dict[str, str] = {}
        for key, (pattern, allowed) in HOOK_EVENT_IDS.items():
            value = event.get(key)
            if not isinstance(value, str) or not pattern.fullmatch(value):
                got = contract.shown(value) if key in event else "nothing"
                keys = contract.shown(sorted(map(str, event)))
                raise HookInputError(
                    f"CodeDeploy hook event: {key} must be {allowed}, got {got} (keys: {keys})"
                )
            ids[key] = value
        return cls(ids["DeploymentId"], ids["LifecycleEventHookExecutionId"])


@dataclass(frozen=True)
class DeploymentTarget:
    """The Lambda alias a deployment shifts, from CodeDeploy's own records."""

    deployment_group: str
    function_name: str
    function_alias: str
    current_version: str
    target_version: str
    created: dt.datetime | None


def deployment_target(codedeploy: Any, deployment_id: str) -> DeploymentTarget:
    """Read the deployment group and the Lambda versions of a deployment.

    ``GetDeployment`` names the deployment group (the key of the hook's
    settings); ``ListDeploymentTargets`` + ``GetDeploymentTarget`` give
    ``lambdaTarget.lambdaFunctionInfo`` with the current and target versions.
    """
    info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    target_ids = codedeploy.list_deployment_targets(deploymentId=deployment_id).get("targetIds", [])
    if len(target_ids) != 1:
        raise RuntimeError(
            f"deployment {deployment_id} has {len(target_ids)} targets, a Lambda deployment has 1"
        )
    target = codedeploy.get_deployment_target(deploymentId=deployment_id, targetId=target_ids[0])
    function = (target["deploymentTarget"].get("lambdaTarget") or {}).get("lambdaFunctionInfo")
    if not function:
        raise RuntimeError(f"deployment {deployment_id} is not a Lambda deployment")
    return DeploymentTarget(
        deployment_group=info["deploymentGroupName"],
        function_name=function["functionName"],
        function_alias=function["functionAlias"],
        current_version=function["currentVersion"],
        target_version=function["targetVersion"],
        created=info.get("createTime"),
    )


def report(codedeploy: Any, event: HookEvent, status: str) -> None:
    """Tell CodeDeploy the hook's verdict; a hook that never reports blocks for an hour."""
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event.deployment_id,
        lifecycleEventHookExecutionId=event.execution_id,
        status=status,
    )


def run_and_report(
    event: object,
    codedeploy: Any,
    verdict: Callable[[HookEvent], str],
    logger: logging.Logger | Any,
) -> str:
    """Run ``verdict`` for one hook event and report its status on every path.

    An exception in ``verdict`` is logged and reported as ``Failed``. Only an
    event without the two ids raises (``HookInputError``): without them there is
    nothing to report to. Returns the status sent.
    """
    hook = HookEvent.parse(event)
    status = FAILED
    try:
        status = verdict(hook)
    except Exception:
        logger.exception("the hook failed before a verdict; reporting Failed")
        status = FAILED
    finally:
        report(codedeploy, hook, status)
    return status


def settings_path(path: str | None = None) -> Path:
    """The settings file: ``path``, else ``$ROLLOUT_SETTINGS``, else the layer's file."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(contract.ROLLOUT_SETTINGS_ENV, DEFAULT_SETTINGS_FILE))


def load_settings(file: Path) -> dict[str, Any]:
    """The stack's rollout settings: one entry per deployment group name."""
    data = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("groups"), dict):
        raise ValueError(f"{file}: expected an object with a 'groups' mapping")
    return data


def group_settings(settings: dict[str, Any], group: str) -> dict[str, Any]:
    """The settings of one deployment group; an unknown group is a configuration error."""
    try:
        return settings["groups"][group]
    except KeyError:
        known = ", ".join(sorted(settings["groups"])) or "none"
        raise LookupError(
            f"deployment group {group!r} has no rollout settings (known: {known})"
        ) from None


def deployment_settings(
    codedeploy: Any, hook: HookEvent, settings_file: str | None = None
) -> tuple[Path, DeploymentTarget, dict[str, Any]]:
    """The settings file, the deployment's target and its group's settings.

    The file is read first: a missing layer fails before any CodeDeploy call.
    """
    file = settings_path(settings_file)
    settings = load_settings(file)
    target = deployment_target(codedeploy, hook.deployment_id)
    return file, target, group_settings(settings, target.deployment_group)
