"""Delete: remove a throughput, but retain (and report) one whose commitment term runs on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import contract
from answers import ThroughputError, on_event_answer, shorten
from bedrock_calls import AWS_ERRORS, Bedrock, aws_message, logger
from descriptions import IN_PROGRESS, expiry_text, under_commitment
from properties import COMMITMENTS, NO_COMMITMENT

# Outcomes of one delete attempt.
DONE = "done"  # deleted now, or already gone
PENDING = "pending"  # Bedrock cannot delete it yet (in progress, throttled): try again later
RETAINED = "retained"  # committed: left in place, with a message
# The CommitmentDuration values of a term that forbids deleting before it ends.
COMMITTED_TERMS = tuple(c for c in COMMITMENTS if c != NO_COMMITMENT)


def delete_throughput(event: Mapping[str, Any], bedrock: Bedrock) -> dict[str, Any]:
    """Delete unless a commitment forbids it; never raise for a committed throughput."""
    arn = str(event.get("PhysicalResourceId"))
    if not contract.PROVISIONED_MODEL_ARN.fullmatch(arn):
        # This handler only ever answers with provisioned model ARNs: nothing was bought.
        logger.info("nothing to delete: physical id is not a provisioned model ARN", id=arn)
        return on_event_answer(arn)
    declared = (event.get("ResourceProperties") or {}).get("CommitmentDuration")
    try:
        current = bedrock.describe(arn)
    except AWS_ERRORS as error:
        if contract.is_retryable(error):
            return on_event_answer(arn, wait="Deleted")  # is_complete tries again
        if declared in COMMITTED_TERMS:
            why = f"could not read it ({aws_message(error)})"
            return on_event_answer(arn, data=retention_data(arn, None, why))
        raise ThroughputError(
            f"could not read provisioned throughput {arn} before deleting it: {aws_message(error)}"
        ) from error
    if current is None:
        logger.info("provisioned throughput already gone", arn=arn)
        return on_event_answer(arn)
    outcome, data = try_delete(arn, current, bedrock)
    return on_event_answer(arn, wait="Deleted" if outcome == PENDING else None, data=data)


def try_delete(
    arn: str, current: Mapping[str, Any], bedrock: Bedrock
) -> tuple[str, dict[str, str] | None]:
    """Delete ``arn`` (described by ``current``) unless its commitment forbids it."""
    if current.get("commitmentExpirationTime") is not None and under_commitment(
        current, bedrock.now()
    ):
        return RETAINED, retention_data(arn, current, "its commitment term has not ended")
    try:
        bedrock.call("delete_provisioned_model_throughput", provisionedModelId=arn)
    except AWS_ERRORS as error:
        code = contract.error_code(error)
        if code == "ResourceNotFoundException":
            return DONE, None
        if current.get("status") in IN_PROGRESS and code in (
            "ConflictException",
            "ValidationException",
        ):
            logger.info("delete refused while in progress: waiting", arn=arn, error=code)
            return PENDING, None
        if contract.is_retryable(error):
            return PENDING, None
        if current.get("commitmentDuration"):
            why = f"Bedrock refused to delete it ({aws_message(error)})"
            return RETAINED, retention_data(arn, current, why)
        raise ThroughputError(
            f"could not delete provisioned throughput {arn}: {aws_message(error)}; it is still "
            "billed: fix the cause and retry the stack operation"
        ) from error
    logger.info("provisioned throughput deleted", arn=arn)
    return DONE, None


def retention_data(arn: str, current: Mapping[str, Any] | None, why: str) -> dict[str, str]:
    """Data of a success answer for a committed throughput left in place, logged loudly."""
    expiry = expiry_text(current) if current is not None else "unknown"
    message = (
        f"retained committed provisioned throughput {arn} ({why}); commitment expires "
        f"{expiry}; it keeps billing until deleted by hand after that time"
    )
    logger.warning(message, arn=arn, commitment_expiration_time=expiry)
    return {"Retained": "true", "Message": shorten(message)}


def wait_deleted(arn: str, bedrock: Bedrock) -> dict[str, Any]:
    """is_complete of a delete: try again until the throughput is gone or retained."""
    answered, current = bedrock.describe_polled(
        arn,
        lambda failure: f"could not read provisioned throughput {arn} while deleting it: {failure}",
    )
    if not answered:
        return {"IsComplete": False}
    if current is None:
        return {"IsComplete": True}
    outcome, data = try_delete(arn, current, bedrock)
    if outcome == PENDING:
        return {"IsComplete": False}
    return {"IsComplete": True, "Data": data} if data else {"IsComplete": True}
