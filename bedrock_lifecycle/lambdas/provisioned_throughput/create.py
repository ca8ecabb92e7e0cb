"""Create: buy a throughput once per request, track one bought despite an error, wait for it."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

import contract
from answers import ThroughputError, on_event_answer
from bedrock_calls import AWS_ERRORS, Bedrock, aws_message, failing_with, logger
from descriptions import (
    IN_PROGRESS,
    already_as_requested,
    expiry_text,
    model_matches,
    under_commitment,
)
from properties import NO_COMMITMENT, Properties

# A throughput found by name after an ambiguous create is ours only if it was
# created this recently (a Lambda runs 15 minutes at most, the framework retries twice).
ADOPTION_WINDOW = dt.timedelta(minutes=50)
# Errors Bedrock may answer when the name is already in use (Create models no conflict
# error of its own): the handler then looks the name up (adopt_retained).
NAME_CONFLICT_CODES = frozenset({"ValidationException", "ConflictException"})


def client_request_token(event: Mapping[str, Any]) -> str:
    """Deterministic idempotency token of one CloudFormation request.

    A retried event carries the same RequestId, so Bedrock returns the
    throughput it already created instead of buying a second one.
    """
    seed = f"{event.get('StackId')}|{event.get('LogicalResourceId')}|{event['RequestId']}"
    return "cfn-" + hashlib.sha256(seed.encode()).hexdigest()[:60]


def create_throughput(
    event: Mapping[str, Any], props: Properties, name: str, bedrock: Bedrock
) -> dict[str, Any]:
    """Buy the throughput ``props`` describe under ``name``; is_complete waits for InService."""
    params: dict[str, Any] = {
        "modelUnits": props.model_units,
        "provisionedModelName": name,
        "modelId": props.model_id,
        "clientRequestToken": client_request_token(event),
    }
    if props.committed:
        params["commitmentDuration"] = props.commitment
    if props.tags:
        params["tags"] = [{"key": k, "value": v} for k, v in props.tags]
    logger.info(
        "creating provisioned throughput",
        provisioned_model_name=name,
        model_id=props.model_id,
        model_units=props.model_units,
        commitment=props.commitment,
        token=params["clientRequestToken"],
    )
    retried: list[BaseException] = []
    try:
        created = bedrock.call("create_provisioned_model_throughput", retried=retried, **params)
    except AWS_ERRORS as error:
        # A refusal is final only if no earlier attempt could have bought it: after a 5xx or
        # a timeout, a later "quota exceeded" or "name in use" may be about our own purchase.
        if retried or contract.is_retryable(error):
            return adopt_after_ambiguous_create(name, props, error, len(retried) + 1, bedrock)
        refused = (
            f"Bedrock refused to create provisioned throughput {name} "
            f"({props.model_units} units of {props.model_id}, commitment "
            f"{props.commitment}): {aws_message(error)}"
        )
        if contract.error_code(error) not in NAME_CONFLICT_CODES:
            raise ThroughputError(refused) from error
        return adopt_retained(name, props, refused, error, bedrock)
    arn = created["provisionedModelArn"]
    logger.info("provisioned throughput created", arn=arn, provisioned_model_name=name)
    return on_event_answer(arn, wait="InService")


def adopt_retained(
    name: str, props: Properties, refused: str, error: Exception, bedrock: Bedrock
) -> dict[str, Any]:
    """After a create refused as invalid or conflicting: is the name held by a retained purchase?

    A committed throughput that a rolled-back stack operation left in place (its Delete
    is answered with success) still holds its name, so buying it again is refused. If
    the holder is committed, in its term, and has exactly the requested units,
    commitment and model, it is the throughput this resource declares: track it again.
    Otherwise fail with Bedrock's refusal, naming the holder when there is one.
    """
    try:
        found = bedrock.describe(name)
    except AWS_ERRORS:
        logger.warning(
            "could not look up the name after a refused create", provisioned_model_name=name
        )
        found = None
    if found is None:
        raise ThroughputError(refused) from error
    arn = str(found.get("provisionedModelArn"))
    if (
        found.get("status") != "Failed"
        and under_commitment(found, bedrock.now())
        and already_as_requested(found, props)
    ):
        logger.warning(
            "tracking again the committed throughput that holds the name",
            arn=arn,
            provisioned_model_name=name,
            commitment_expiration_time=expiry_text(found),
        )
        return on_event_answer(arn, wait="InService")
    raise ThroughputError(
        f"{refused}; the name is held by {arn} ({found.get('modelUnits')} units of "
        f"{found.get('modelArn')}, commitment {found.get('commitmentDuration') or NO_COMMITMENT}, "
        f"status {found.get('status')}): rename this throughput, or delete that one"
    ) from error


def adopt_after_ambiguous_create(
    name: str, props: Properties, error: Exception, attempts: int, bedrock: Bedrock
) -> dict[str, Any]:
    """After throttling, 5xx or a timeout on create, Bedrock may still have bought the throughput.

    If a throughput of that name, units and commitment was created just now, it
    is ours: report it, so CloudFormation tracks (and on rollback deletes) it.
    ``error`` is the last attempt's error, ``attempts`` how many failed.
    """
    problem = f"creating provisioned throughput {name} failed after {attempts} attempts " + (
        f"({aws_message(error)})"
    )
    with failing_with(
        lambda lookup_failure: (
            f"{problem}, and looking it up failed ({lookup_failure}): check whether "
            f"a provisioned throughput named {name} exists; if so it is not managed by "
            "CloudFormation and must be deleted by hand"
        ),
        cause=error,
    ):
        found = bedrock.describe(name)
    if found is None:
        raise ThroughputError(f"{problem}; no throughput named {name} exists, nothing was bought")
    created = found.get("creationTime")
    ours = (
        isinstance(created, dt.datetime)
        and bedrock.now() - created <= ADOPTION_WINDOW
        and found.get("modelUnits") == props.model_units
        and (found.get("commitmentDuration") or NO_COMMITMENT) == props.commitment
    )
    if not ours:
        raise ThroughputError(
            f"{problem}; a provisioned throughput named {name} exists "
            f"({found.get('provisionedModelArn')}, created {created}) that this request did "
            "not create: rename the throughput or delete the existing one"
        )
    arn = found["provisionedModelArn"]
    logger.warning("create answered with an error but Bedrock bought it: tracking", arn=arn)
    return on_event_answer(arn, wait="InService")


def wait_in_service(event: Mapping[str, Any], bedrock: Bedrock) -> dict[str, Any]:
    """is_complete of a create or an in-place update: done once InService on the asked model."""
    arn = str(event.get("PhysicalResourceId"))
    answered, current = bedrock.describe_polled(
        arn, lambda failure: f"could not read provisioned throughput {arn}: {failure}"
    )
    if not answered:
        return {"IsComplete": False}
    if current is None:
        raise ThroughputError(
            f"provisioned throughput {arn} disappeared while waiting for it to be InService "
            "(deleted outside CloudFormation?)"
        )
    status = current.get("status")
    if status in IN_PROGRESS:
        return {"IsComplete": False}
    if status == "Failed":
        reason = current.get("failureMessage") or "Bedrock gave no failure message"
        raise ThroughputError(f"provisioned throughput {arn} failed: {reason}")
    if status != "InService":
        raise ThroughputError(f"provisioned throughput {arn} has unexpected status {status!r}")
    desired = event.get("DesiredModel")
    if desired is not None and not model_matches(str(current.get("modelArn")), str(desired)):
        if model_matches(str(current.get("desiredModelArn")), str(desired)):
            return {"IsComplete": False}
        raise ThroughputError(
            f"provisioned throughput {arn} is InService on {current.get('modelArn')}, not on "
            f"the requested model {desired}"
        )
    return {"IsComplete": True, "Data": {"ProvisionedModelArn": arn}}
