"""Create, replace, wait for and delete one Bedrock custom model deployment.

Every property change makes a new deployment under a new name (never Bedrock's
UpdateCustomModelDeployment, which would switch the model under the routers that
call the ARN; and a name is unique in the account): the physical id changes,
CloudFormation deletes the old deployment in the clean-up, after every alias moved
off the versions that call it. The name is the ``DeploymentName`` prefix and 8 hex
of the stack, the logical id and the properties, so a retried request finds the
deployment it made, and the rollback of a replacement finds the deployment it
returns to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import contract
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from resource_tags import parse_tags

logger = Logger()
Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], None]

PROPERTIES = ("DeploymentName", "ModelArn", "Description", "Tags")
# Bedrock's modelDeploymentName is 1-63 characters; 9 go to "-<8 hex>".
NAME_PREFIX_MAX = 54
NAME = re.compile(r"([0-9a-zA-Z][_-]?)+")
DESCRIPTION_MAX = 200
# Bedrock's description pattern is ``.*``, which matches no line break; a control
# character in a description is a mistake, never a wish.
DESCRIPTION_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
DEPLOYMENT_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model-deployment/[a-z0-9]{1,63}"
)
OWNER_TAG = "bedrock-lifecycle:environment"
# A deployment found by name after an ambiguous create is ours only if this recent.
ADOPTION_WINDOW = dt.timedelta(minutes=50)
MAX_ANSWER_BYTES = 3000
AWS_ERRORS: tuple[type[Exception], ...] = (
    ClientError,
    *(getattr(botocore.exceptions, n) for n in sorted(contract.TRANSPORT_ERROR_NAMES)),
)


class DeploymentError(Exception):
    """A failure CloudFormation shows to the person deploying (one line, cut short)."""

    def __init__(self, message: str) -> None:
        super().__init__(contract.cfn_reason(message))


@dataclass(frozen=True)
class Properties:
    """The validated resource properties."""

    prefix: str
    model_arn: str
    description: str | None
    tags: tuple[tuple[str, str], ...]

    def name(self, stack_id: str, logical_id: str) -> str:
        """The deployment's Bedrock name: the prefix and 8 hex of everything it is made of
        (one ``-`` between them, unless the prefix ends with ``-`` or ``_`` already:
        Bedrock's names have no two separators in a row)."""
        seed = json.dumps(
            [stack_id, logical_id, self.prefix, self.model_arn, self.description, self.tags],
            sort_keys=True,
        )
        separator = "" if self.prefix.endswith(("-", "_")) else "-"
        return f"{self.prefix}{separator}{hashlib.sha256(seed.encode()).hexdigest()[:8]}"


def parse_properties(raw: Mapping[str, Any] | None) -> Properties:
    """Check every property; one DeploymentError lists every problem."""
    if not isinstance(raw, Mapping):
        raise DeploymentError(f"invalid resource properties: expected an object, got {raw!r:.80}")
    problems: list[str] = []
    unknown = contract.unknown_properties_error(raw, PROPERTIES, "the properties")
    if unknown is not None:
        problems.append(unknown)
    prefix, model, description = (
        raw.get("DeploymentName"),
        raw.get("ModelArn"),
        raw.get("Description"),
    )
    if not (isinstance(prefix, str) and len(prefix) <= NAME_PREFIX_MAX and NAME.fullmatch(prefix)):
        problems.append(
            f"DeploymentName must be 1-{NAME_PREFIX_MAX} letters and digits, each optionally "
            f"followed by one - or _, got {contract.shown(prefix)}"
        )
    if not (isinstance(model, str) and contract.CUSTOM_MODEL_ARN.fullmatch(model)):
        problems.append(f"ModelArn must be a custom-model ARN, got {contract.shown(model)}")
    if description is not None and not (
        isinstance(description, str)
        and 1 <= len(description) <= DESCRIPTION_MAX
        and not DESCRIPTION_REFUSED.search(description)
    ):
        problems.append(
            f"Description must be 1-{DESCRIPTION_MAX} characters without line breaks or "
            f"control characters, got {contract.shown(description)}"
        )
    tags = parse_tags(raw.get("Tags", []), problems)
    if not problems and OWNER_TAG not in dict(tags):
        problems.append(f"Tags must carry {OWNER_TAG} (every grant on deployments requires it)")
    if problems:
        raise DeploymentError("invalid resource properties: " + "; ".join(problems))
    return Properties(str(prefix), str(model), description, tags)


@dataclass(frozen=True)
class Bedrock:
    """The control-plane client of one invocation, with its clock and sleep."""

    client: Any
    now: Clock
    sleep: Sleep = time.sleep

    def call(self, operation: str, *, retried: list[BaseException] | None = None, **params: Any):
        def note(attempt: int, error: BaseException) -> None:
            logger.warning("retrying Bedrock call", operation=operation, attempt=attempt)
            if retried is not None:
                retried.append(error)

        return contract.call_with_retries(
            getattr(self.client, operation), sleep=self.sleep, on_retry=note, **params
        )

    def describe(self, identifier: str) -> dict | None:
        """GetCustomModelDeployment by name or ARN; None when there is none."""
        try:
            return self.call(
                "get_custom_model_deployment", customModelDeploymentIdentifier=identifier
            )
        except ClientError as error:
            if contract.error_code(error) == "ResourceNotFoundException":
                return None
            raise


def aws_message(error: BaseException) -> str:
    """``Code: message`` of an AWS error."""
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'Unknown')}: {err.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"


def answer(
    physical_id: str, *, wait: str | None = None, data: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An on_event answer; ``Wait`` travels to is_complete only."""
    out: dict[str, Any] = {"PhysicalResourceId": physical_id}
    if wait is not None:
        out["Wait"] = wait
    if data:
        out["Data"] = dict(data)
    if len(json.dumps(out).encode()) >= MAX_ANSWER_BYTES:
        raise DeploymentError(f"the answer for {contract.shown(physical_id)} would be too large")
    return out


def client_request_token(event: Mapping[str, Any]) -> str:
    """The same for every retry of one CloudFormation request (Bedrock then makes one)."""
    seed = f"{event.get('StackId')}|{event.get('LogicalResourceId')}|{event['RequestId']}"
    return "cfn-" + hashlib.sha256(seed.encode()).hexdigest()[:60]


def create(event: Mapping[str, Any], props: Properties, bedrock: Bedrock) -> dict[str, Any]:
    """Deploy ``props``; is_complete waits for Active. Never makes two for one request.

    On an Update, a deployment of this name and model made at any time is adopted (the
    name is a hash of this stack, this logical id and these properties): it is the one the
    rollback of a replacement returns to, which CloudFormation still holds."""
    name = props.name(str(event["StackId"]), str(event["LogicalResourceId"]))
    params: dict[str, Any] = {
        "modelDeploymentName": name,
        "modelArn": props.model_arn,
        "clientRequestToken": client_request_token(event),
        "tags": [{"key": k, "value": v} for k, v in props.tags],
    }
    if props.description is not None:
        params["description"] = props.description
    logger.info("creating custom model deployment", deployment_name=name, model_arn=props.model_arn)
    retried: list[BaseException] = []
    try:
        created = bedrock.call("create_custom_model_deployment", retried=retried, **params)
    except AWS_ERRORS as error:
        update = event.get("RequestType") == "Update"
        return _after_refused_create(name, props, error, len(retried) + 1, bedrock, update)
    return answer(str(created["customModelDeploymentArn"]), wait="Active")


def _after_refused_create(
    name: str,
    props: Properties,
    error: Exception,
    attempts: int,
    bedrock: Bedrock,
    update: bool = False,
) -> dict[str, Any]:
    """After a create that answered with an error, Bedrock may have made it anyway (a
    timeout, a 5xx, or a conflict with the deployment an earlier attempt made): a
    deployment of this name and model made just now is this request's, tracked. On an
    ``update``, one of this name and model made at any time is (see ``create``)."""
    problem = (
        f"creating custom model deployment {name} of {props.model_arn} failed after "
        f"{attempts} attempt{'s' if attempts > 1 else ''} ({aws_message(error)})"
    )
    try:
        found = bedrock.describe(name)
    except AWS_ERRORS as lookup:
        raise DeploymentError(
            f"{problem}, and looking it up failed ({aws_message(lookup)}): check whether a "
            f"deployment named {name} exists; if so it is not managed by CloudFormation and "
            "must be deleted by hand"
        ) from error
    if found is None:
        raise DeploymentError(f"{problem}; no deployment named {name} exists, none was made")
    created = found.get("createdAt")
    ours = found.get("modelArn") == props.model_arn and (
        update or (isinstance(created, dt.datetime) and bedrock.now() - created <= ADOPTION_WINDOW)
    )
    if not ours:
        raise DeploymentError(
            f"{problem}; a deployment named {name} exists ({found.get('customModelDeploymentArn')}"
            f" of {found.get('modelArn')}, created {created}) that this request did not make: "
            "delete it, or change DeploymentName"
        )
    logger.warning(
        "create answered with an error but the deployment exists: tracking", deployment_name=name
    )
    return answer(str(found["customModelDeploymentArn"]), wait="Active")


def wait_active(arn: str, bedrock: Bedrock) -> dict[str, Any]:
    """is_complete of a create: done once Active; Failed fails with Bedrock's message."""
    read, current = _poll_read(arn, bedrock)
    if not read:
        return {"IsComplete": False}
    if current is None:
        raise DeploymentError(
            f"custom model deployment {arn} disappeared while waiting for it to be Active "
            "(deleted outside CloudFormation?)"
        )
    status = current.get("status")
    if status == "Creating":
        return {"IsComplete": False}
    if status == "Failed":
        reason = current.get("failureMessage") or "Bedrock gave no failure message"
        raise DeploymentError(f"custom model deployment {arn} failed: {reason}")
    if status != "Active":
        raise DeploymentError(f"custom model deployment {arn} has unexpected status {status!r}")
    return {"IsComplete": True, "Data": {"DeploymentArn": arn}}


def delete(physical_id: str, bedrock: Bedrock) -> dict[str, Any]:
    """Delete the deployment; a physical id that names none (a failed create) is done."""
    if not DEPLOYMENT_ARN.fullmatch(physical_id):
        logger.info("nothing to delete: the physical id names no deployment", id=physical_id)
        return answer(physical_id)
    if _request_delete(physical_id, bedrock):
        return answer(physical_id)
    return answer(physical_id, wait="Deleted")


def _request_delete(arn: str, bedrock: Bedrock) -> bool:
    """Ask Bedrock to delete ``arn``; True when it is gone already. A deployment still
    Creating refuses (Conflict): is_complete asks again."""
    try:
        bedrock.call("delete_custom_model_deployment", customModelDeploymentIdentifier=arn)
    except AWS_ERRORS as error:
        code = contract.error_code(error)
        if code == "ResourceNotFoundException":
            return True
        if code == "ConflictException" or contract.is_retryable(error):
            return False
        raise DeploymentError(
            f"Bedrock refused to delete custom model deployment {arn}: {aws_message(error)}"
        ) from error
    return False


def wait_deleted(arn: str, bedrock: Bedrock) -> dict[str, Any]:
    """is_complete of a delete: done once Bedrock no longer knows the deployment."""
    read, current = _poll_read(arn, bedrock)
    if not read:
        return {"IsComplete": False}
    if current is None:
        return {"IsComplete": True}
    if current.get("status") in ("Active", "Failed") and _request_delete(arn, bedrock):
        return {"IsComplete": True}
    return {"IsComplete": False}


def _poll_read(arn: str, bedrock: Bedrock) -> tuple[bool, dict | None]:
    """``(read, deployment)`` for is_complete: not read after a retryable error (the
    framework polls again), None when Bedrock no longer knows it; any other error fails."""
    try:
        return True, bedrock.describe(arn)
    except AWS_ERRORS as error:
        if contract.is_retryable(error):
            return False, None
        raise DeploymentError(
            f"could not read custom model deployment {arn}: {aws_message(error)}"
        ) from error
