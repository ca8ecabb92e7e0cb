"""Custom resource ``Custom::BedrockProvisionedThroughput`` (provider framework handlers).

``on_event`` starts the change and ``is_complete`` polls Bedrock until it is
done. The physical id is the provisioned model ARN. Money is at stake, so the
rules are strict:

- every property is checked before any AWS call (the framework sends strings);
- a create carries a ``clientRequestToken`` derived from the CloudFormation
  request, so a retried event buys nothing twice; when a create ends in an
  ambiguous error (throttling or 5xx after retries) the handler looks the
  throughput up by name, so that nothing bought goes untracked;
- a committed throughput whose term has not ended is never deleted nor left in
  a stuck stack: Delete answers success and logs its ARN and expiry;
- replacing a committed throughput is refused unless ``AllowReplacement`` is set;
- throttling and 5xx are retried with backoff; quota, validation and access
  errors fail at once with Bedrock's own message;
- every answer stays far below CloudFormation's 4096-byte response limit.

This module is its own Lambda asset: it imports nothing from the CDK package.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import replace as evolve
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

logger = Logger()

RESOURCE_TYPE = "Custom::BedrockProvisionedThroughput"

# Bedrock's own patterns (botocore model, bedrock 2023-04-20).
NAME_RE = re.compile(r"([0-9a-zA-Z][_-]?)+")
_FM_ID = r"[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2}"
FOUNDATION_MODEL_ID_RE = re.compile(_FM_ID)
FOUNDATION_MODEL_ARN_RE = re.compile(
    r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}::foundation-model/" + _FM_ID
)
CUSTOM_MODEL_ARN_RE = re.compile(
    r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/"
    r"((imported)|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}))(([:][a-z0-9-]{1,63}){0,2})?/[a-z0-9]{12}"
)
PROVISIONED_MODEL_ARN_RE = re.compile(
    r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:provisioned-model/[a-z0-9]{12}"
)
TAG_RE = re.compile(r"[a-zA-Z0-9\s._:/=+@-]*")
COMMITMENTS = ("None", "OneMonth", "SixMonths")
MAX_TAGS = 200
PROPERTIES = (
    "ProvisionedModelName",
    "ModelId",
    "ModelUnits",
    "CommitmentDuration",
    "AllowReplacement",
    "Tags",
)
# The framework adds ServiceToken to every request.
FRAMEWORK_PROPERTIES = ("ServiceToken",)

# Retries of throttling and 5xx: 5 attempts, 0.5 s doubling to at most 8 s,
# jittered (about 7.5 s of waiting at most, far inside the Lambda timeout).
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "InternalServerException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
TRANSPORT_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)
# A throughput found by name after an ambiguous create is ours only if it was
# created this recently (a Lambda runs 15 minutes at most, the framework retries twice).
ADOPTION_WINDOW = dt.timedelta(minutes=50)
# CloudFormation rejects responses over 4096 bytes; messages are cut well below.
MAX_MESSAGE_CHARS = 1000

IN_PROGRESS = ("Creating", "Updating")
# Errors Bedrock may answer when the name is already in use (Create models no conflict
# error of its own): the handler then looks the name up (adopt_retained).
NAME_CONFLICT_CODES = frozenset({"ValidationException", "ConflictException"})

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], None]


class ThroughputError(Exception):
    """A failure CloudFormation shows to the person deploying; the message says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(shorten(message))


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 15] + " ...(truncated)"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------- properties


@dataclass(frozen=True)
class Properties:
    """The validated resource properties."""

    name: str
    model_id: str
    model_units: int
    commitment: str
    allow_replacement: bool
    tags: tuple[tuple[str, str], ...]

    @property
    def committed(self) -> bool:
        return self.commitment != "None"

    @property
    def custom_model(self) -> bool:
        return CUSTOM_MODEL_ARN_RE.fullmatch(self.model_id) is not None


def parse_properties(raw: Mapping[str, Any] | None) -> Properties:
    """Check every property; raise one ThroughputError listing every problem."""
    if not isinstance(raw, Mapping):
        raise ThroughputError(f"invalid resource properties: expected an object, got {raw!r}")
    problems: list[str] = []
    unknown = sorted(set(raw) - set(PROPERTIES) - set(FRAMEWORK_PROPERTIES))
    if unknown:
        problems.append(
            f"unknown properties {', '.join(unknown)} (allowed: {', '.join(PROPERTIES)})"
        )
    for required in PROPERTIES[:4]:
        if required not in raw:
            problems.append(f"{required} is required")

    name = raw.get("ProvisionedModelName")
    if "ProvisionedModelName" in raw and not (
        isinstance(name, str) and 1 <= len(name) <= 63 and NAME_RE.fullmatch(name)
    ):
        problems.append(
            "ProvisionedModelName must be 1-63 characters of letters and digits, each "
            f"optionally followed by one - or _, got {name!r}"
        )
    model_id = raw.get("ModelId")
    if "ModelId" in raw and not (
        isinstance(model_id, str)
        and len(model_id) <= 2048
        and any(
            p.fullmatch(model_id)
            for p in (FOUNDATION_MODEL_ID_RE, FOUNDATION_MODEL_ARN_RE, CUSTOM_MODEL_ARN_RE)
        )
    ):
        problems.append(
            "ModelId must be a foundation model id, a foundation-model ARN or a custom-model "
            f"ARN, got {model_id!r}"
        )
    units_raw = raw.get("ModelUnits")
    units = 0
    if isinstance(units_raw, str) and re.fullmatch(r"[1-9][0-9]{0,5}", units_raw):
        units = int(units_raw)
    elif isinstance(units_raw, int) and not isinstance(units_raw, bool) and units_raw >= 1:
        units = units_raw
    elif "ModelUnits" in raw:
        problems.append(f"ModelUnits must be a whole number >= 1, got {units_raw!r}")
    commitment = raw.get("CommitmentDuration")
    if "CommitmentDuration" in raw and commitment not in COMMITMENTS:
        problems.append(
            f"CommitmentDuration must be one of {', '.join(COMMITMENTS)}, got {commitment!r}"
        )
    allow = raw.get("AllowReplacement", "false")
    if allow not in ("true", "false", True, False):
        problems.append(f"AllowReplacement must be 'true' or 'false', got {allow!r}")
    tags = _parse_tags(raw.get("Tags", []), problems)

    if problems:
        raise ThroughputError("invalid resource properties: " + "; ".join(problems))
    return Properties(
        name=str(name),
        model_id=str(model_id),
        model_units=units,
        commitment=str(commitment),
        allow_replacement=allow in ("true", True),
        tags=tags,
    )


def _parse_tags(raw: Any, problems: list[str]) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list):
        problems.append(f"Tags must be a list of {{Key, Value}}, got {raw!r}")
        return ()
    if len(raw) > MAX_TAGS:
        problems.append(f"Tags must hold at most {MAX_TAGS} tags, got {len(raw)}")
    out: dict[str, str] = {}
    for item in raw:
        if not (isinstance(item, Mapping) and set(item) == {"Key", "Value"}):
            problems.append(f"each tag must be {{Key, Value}}, got {item!r}")
            continue
        key, value = item["Key"], item["Value"]
        if not (
            isinstance(key, str)
            and 1 <= len(key) <= 128
            and TAG_RE.fullmatch(key)
            and not key.lower().startswith("aws:")
        ):
            problems.append(
                "tag keys must be 1-128 characters of letters, digits, spaces and ._:/=+@- "
                f"and must not start with aws:, got {key!r}"
            )
            continue
        if not (isinstance(value, str) and len(value) <= 256 and TAG_RE.fullmatch(value)):
            problems.append(
                "tag values must be 0-256 characters of letters, digits, spaces and ._:/=+@-, "
                f"got {value!r} for {key!r}"
            )
            continue
        if key in out:
            problems.append(f"tag {key!r} is given twice")
        out[key] = value
    return tuple(sorted(out.items()))


# ---------------------------------------------------------------- AWS calls


def retryable(error: Exception) -> bool:
    """Throttling, 5xx and transport errors are worth another attempt; the rest is final."""
    if isinstance(error, TRANSPORT_ERRORS):
        return True
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(error) in RETRYABLE_CODES or status == 429 or status >= 500
    return False


def error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "Unknown"))
    return type(error).__name__


def aws_message(error: Exception) -> str:
    """``Code: message`` of an AWS error, as Bedrock worded it."""
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'Unknown')}: {err.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"


def call(operation: Callable[..., dict], sleep: Sleep, **params: Any) -> dict:
    """``operation(**params)`` with retries of throttling, 5xx and transport errors."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return operation(**params)
        except (ClientError, *TRANSPORT_ERRORS) as error:
            if not retryable(error) or attempt == MAX_ATTEMPTS:
                raise
            delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
            logger.warning(
                "retrying Bedrock call",
                operation=getattr(operation, "__name__", str(operation)),
                attempt=attempt,
                error=aws_message(error),
            )
            sleep(random.uniform(delay / 2, delay))  # noqa: S311 (jitter, not crypto)
    raise AssertionError("unreachable")  # pragma: no cover


def describe(client: Any, identifier: str, sleep: Sleep) -> dict | None:
    """GetProvisionedModelThroughput by ARN or name; None when it does not exist."""
    try:
        return call(client.get_provisioned_model_throughput, sleep, provisionedModelId=identifier)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None
        raise


def under_commitment(description: Mapping[str, Any], now: dt.datetime) -> bool:
    """Committed and the term has not ended (or has not started: no expiry yet)."""
    if not description.get("commitmentDuration"):
        return False
    expiry = description.get("commitmentExpirationTime")
    return expiry is None or expiry > now


def expiry_text(description: Mapping[str, Any]) -> str:
    expiry = description.get("commitmentExpirationTime")
    return expiry.isoformat() if isinstance(expiry, dt.datetime) else "not yet known"


def model_key(model_id: str) -> str:
    """``model_id`` with a foundation-model ARN reduced to the model id it names."""
    if FOUNDATION_MODEL_ARN_RE.fullmatch(model_id):
        return model_id.split(":foundation-model/", 1)[1]
    return model_id


def model_matches(model_arn: str, requested: str) -> bool:
    """Whether Bedrock's ``modelArn`` is the model the properties ask for (id or ARN)."""
    if requested.startswith("arn:"):
        return model_arn == requested
    return model_arn.endswith(f":foundation-model/{requested}")


def client_request_token(event: Mapping[str, Any]) -> str:
    """Deterministic idempotency token of one CloudFormation request.

    A retried event carries the same RequestId, so Bedrock returns the
    throughput it already created instead of buying a second one.
    """
    seed = f"{event.get('StackId')}|{event.get('LogicalResourceId')}|{event['RequestId']}"
    return "cfn-" + hashlib.sha256(seed.encode()).hexdigest()[:60]


def replacement_name(name: str, event: Mapping[str, Any]) -> str:
    """Name of a replacement throughput: Bedrock names are unique and the old one still exists.

    ``<name>-<6 hex of the request>``, cut to 63 characters; deterministic per request.
    """
    suffix = hashlib.sha256(str(event["RequestId"]).encode()).hexdigest()[:6]
    base = name[: 63 - len(suffix) - 1].rstrip("-_")
    return f"{base}-{suffix}"


def result(
    physical_id: str,
    *,
    wait: str | None = None,
    desired_model: str | None = None,
    data: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An on_event answer. ``Wait`` and ``DesiredModel`` travel to is_complete only."""
    out: dict[str, Any] = {"PhysicalResourceId": physical_id}
    if data:
        out["Data"] = {k: shorten(v) for k, v in data.items()}
    if wait is not None:
        out["Wait"] = wait
    if desired_model is not None:
        out["DesiredModel"] = desired_model
    size = len(json.dumps(out).encode())
    assert size < 3000, f"answer of {size} bytes is too close to the 4096-byte limit"
    return out


# ---------------------------------------------------------------- on_event


def handle_on_event(
    event: Mapping[str, Any],
    client: Any,
    *,
    now: Clock = utcnow,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    """Start a Create, Update or Delete; is_complete finishes it."""
    request = event.get("RequestType")
    if request == "Create":
        props = parse_properties(event.get("ResourceProperties"))
        return create(event, props, props.name, client, now=now, sleep=sleep)
    if request == "Update":
        return update(event, client, now=now, sleep=sleep)
    if request == "Delete":
        return delete(event, client, now=now, sleep=sleep)
    raise ThroughputError(f"unknown RequestType {request!r}, expected Create, Update or Delete")


def create(
    event: Mapping[str, Any],
    props: Properties,
    name: str,
    client: Any,
    *,
    now: Clock,
    sleep: Sleep,
) -> dict[str, Any]:
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
    attempts: list[Exception] = []

    def create_throughput(**kwargs: Any) -> dict:
        try:
            return client.create_provisioned_model_throughput(**kwargs)
        except (ClientError, *TRANSPORT_ERRORS) as error:
            attempts.append(error)
            raise

    try:
        arn = call(create_throughput, sleep, **params)["provisionedModelArn"]
    except (ClientError, *TRANSPORT_ERRORS) as error:
        # A refusal is final only if no earlier attempt could have bought it: after a 5xx or
        # a timeout, a later "quota exceeded" or "name in use" may be about our own purchase.
        if not any(retryable(e) for e in attempts):
            refused = (
                f"Bedrock refused to create provisioned throughput {name} "
                f"({props.model_units} units of {props.model_id}, commitment "
                f"{props.commitment}): {aws_message(error)}"
            )
            if error_code(error) not in NAME_CONFLICT_CODES:
                raise ThroughputError(refused) from error
            return adopt_retained(name, props, refused, error, client, now=now, sleep=sleep)
        return adopt_after_ambiguous_create(
            name, props, error, len(attempts), client, now=now, sleep=sleep
        )
    logger.info("provisioned throughput created", arn=arn, provisioned_model_name=name)
    return result(arn, wait="InService")


def adopt_retained(
    name: str,
    props: Properties,
    refused: str,
    error: Exception,
    client: Any,
    *,
    now: Clock,
    sleep: Sleep,
) -> dict[str, Any]:
    """After a create refused as invalid or conflicting: is the name held by a retained purchase?

    A committed throughput that a rolled-back stack operation left in place (its Delete
    is answered with success) still holds its name, so buying it again is refused. If
    the holder is committed, in its term, and has exactly the requested units,
    commitment and model, it is the throughput this resource declares: track it again.
    Otherwise fail with Bedrock's refusal, naming the holder when there is one.
    """
    try:
        found = describe(client, name, sleep)
    except (ClientError, *TRANSPORT_ERRORS):
        logger.warning(
            "could not look up the name after a refused create", provisioned_model_name=name
        )
        found = None
    if found is None:
        raise ThroughputError(refused) from error
    arn = str(found.get("provisionedModelArn"))
    if (
        found.get("status") != "Failed"
        and under_commitment(found, now())
        and already_as_requested(found, props)
    ):
        logger.warning(
            "tracking again the committed throughput that holds the name",
            arn=arn,
            provisioned_model_name=name,
            commitment_expiration_time=expiry_text(found),
        )
        return result(arn, wait="InService")
    raise ThroughputError(
        f"{refused}; the name is held by {arn} ({found.get('modelUnits')} units of "
        f"{found.get('modelArn')}, commitment {found.get('commitmentDuration') or 'None'}, "
        f"status {found.get('status')}): rename this throughput, or delete that one"
    ) from error


def adopt_after_ambiguous_create(
    name: str,
    props: Properties,
    error: Exception,
    attempts: int,
    client: Any,
    *,
    now: Clock,
    sleep: Sleep,
) -> dict[str, Any]:
    """After throttling, 5xx or a timeout on create, Bedrock may still have bought the throughput.

    If a throughput of that name, units and commitment was created just now, it
    is ours: report it, so CloudFormation tracks (and on rollback deletes) it.
    ``error`` is the last attempt's error, ``attempts`` how many failed.
    """
    problem = f"creating provisioned throughput {name} failed after {attempts} attempts " + (
        f"({aws_message(error)})"
    )
    try:
        found = describe(client, name, sleep)
    except (ClientError, *TRANSPORT_ERRORS) as lookup_error:
        raise ThroughputError(
            f"{problem}, and looking it up failed ({aws_message(lookup_error)}): check whether "
            f"a provisioned throughput named {name} exists; if so it is not managed by "
            "CloudFormation and must be deleted by hand"
        ) from error
    if found is None:
        raise ThroughputError(f"{problem}; no throughput named {name} exists, nothing was bought")
    created = found.get("creationTime")
    ours = (
        isinstance(created, dt.datetime)
        and now() - created <= ADOPTION_WINDOW
        and found.get("modelUnits") == props.model_units
        and (found.get("commitmentDuration") or "None") == props.commitment
    )
    if not ours:
        raise ThroughputError(
            f"{problem}; a provisioned throughput named {name} exists "
            f"({found.get('provisionedModelArn')}, created {created}) that this request did "
            "not create: rename the throughput or delete the existing one"
        )
    arn = found["provisionedModelArn"]
    logger.warning("create answered with an error but Bedrock bought it: tracking", arn=arn)
    return result(arn, wait="InService")


@dataclass(frozen=True)
class UpdatePlan:
    """What an update does: replace (with reasons) or change in place."""

    replace: tuple[str, ...]
    rename: bool
    change_model: bool
    tags_to_set: tuple[tuple[str, str], ...]
    tags_to_remove: tuple[str, ...]

    @property
    def in_place(self) -> bool:
        return not self.replace


def plan_update(old: Properties, new: Properties) -> UpdatePlan:
    """Which changes Bedrock makes in place and which need a new throughput.

    In place: the name; the model of a throughput on a custom model; tags.
    Replacement: model units, commitment, the model of a foundation-model throughput.
    """
    replace = []
    if old.model_units != new.model_units:
        replace.append(f"ModelUnits {old.model_units} -> {new.model_units}")
    if old.commitment != new.commitment:
        replace.append(f"CommitmentDuration {old.commitment} -> {new.commitment}")
    # A foundation model id and its ARN in this region name the same model.
    model_changed = model_key(old.model_id) != model_key(new.model_id)
    if model_changed and not old.custom_model:
        replace.append(
            f"ModelId {old.model_id} -> {new.model_id} (a foundation-model throughput cannot "
            "change model)"
        )
    old_tags, new_tags = dict(old.tags), dict(new.tags)
    return UpdatePlan(
        replace=tuple(replace),
        rename=old.name != new.name,
        change_model=model_changed,
        tags_to_set=tuple((k, v) for k, v in new.tags if old_tags.get(k) != v),
        tags_to_remove=tuple(sorted(set(old_tags) - set(new_tags))),
    )


def update(
    event: Mapping[str, Any],
    client: Any,
    *,
    now: Clock,
    sleep: Sleep,
) -> dict[str, Any]:
    new = parse_properties(event.get("ResourceProperties"))
    old = parse_properties(event.get("OldResourceProperties"))
    arn = str(event.get("PhysicalResourceId"))
    if not PROVISIONED_MODEL_ARN_RE.fullmatch(arn):
        raise ThroughputError(
            f"the physical id {arn!r} is not a provisioned model ARN, so this resource cannot be "
            "updated; remove it from the stack and add it again"
        )
    plan = plan_update(old, new)
    if not plan.in_place:
        # Decide on what Bedrock holds, not only on the old properties: when CloudFormation
        # rolls back a replacement that failed, it sends the original properties as an
        # Update of the original throughput, which already is what they describe.
        reasons = "; ".join(plan.replace)
        try:
            current = describe(client, arn, sleep)
        except (ClientError, *TRANSPORT_ERRORS) as error:
            raise ThroughputError(
                f"could not read provisioned throughput {arn} before replacing it "
                f"({aws_message(error)}); refusing to replace it ({reasons}): retry the deployment"
            ) from error
        if current is None or not already_as_requested(current, new):
            return replace(event, arn, old, new, plan, current, client, now=now, sleep=sleep)
        logger.warning(
            "the throughput already has the requested units, commitment and model: nothing "
            "to buy, updating name and tags in place",
            arn=arn,
            reasons=reasons,
        )
        plan = evolve(
            plan,
            replace=(),
            rename=current.get("provisionedModelName") != new.name,
            change_model=False,
        )

    changes: dict[str, str] = {}
    if plan.rename:
        changes["desiredProvisionedModelName"] = new.name
    if plan.change_model:
        changes["desiredModelId"] = new.model_id
    try:
        if changes:
            logger.info("updating provisioned throughput in place", arn=arn, changes=changes)
            call(
                client.update_provisioned_model_throughput,
                sleep,
                provisionedModelId=arn,
                **changes,
            )
        if plan.tags_to_remove:
            call(
                client.untag_resource,
                sleep,
                resourceARN=arn,
                tagKeys=list(plan.tags_to_remove),
            )
        if plan.tags_to_set:
            call(
                client.tag_resource,
                sleep,
                resourceARN=arn,
                tags=[{"key": k, "value": v} for k, v in plan.tags_to_set],
            )
    except (ClientError, *TRANSPORT_ERRORS) as error:
        raise ThroughputError(
            f"Bedrock refused to update provisioned throughput {arn} "
            f"({', '.join(changes) or 'tags'}): {aws_message(error)}"
        ) from error
    if not changes:
        return result(arn)
    return result(arn, wait="InService", desired_model=new.model_id if plan.change_model else None)


def already_as_requested(current: Mapping[str, Any], new: Properties) -> bool:
    """Whether Bedrock's throughput already has the units, commitment and model of ``new``."""
    return (
        current.get("modelUnits") == new.model_units
        and (current.get("commitmentDuration") or "None") == new.commitment
        and model_matches(str(current.get("modelArn")), new.model_id)
    )


def replace(
    event: Mapping[str, Any],
    arn: str,
    old: Properties,
    new: Properties,
    plan: UpdatePlan,
    current: Mapping[str, Any] | None,
    client: Any,
    *,
    now: Clock,
    sleep: Sleep,
) -> dict[str, Any]:
    """Buy a new throughput; CloudFormation then sends a Delete for the old ARN.

    ``current`` is Bedrock's description of the old one (None: it is gone). Bedrock
    names are unique and the old one still exists, so a new one under the same name
    gets a suffix.
    """
    reasons = "; ".join(plan.replace)
    if current is not None and not new.allow_replacement and under_commitment(current, now()):
        raise ThroughputError(
            f"refusing to replace committed provisioned throughput {arn} ({reasons}): its "
            f"{current.get('commitmentDuration')} term runs until {expiry_text(current)}, it "
            "cannot be deleted before then and keeps billing beside the new one; revert the "
            "change, or set allow_replacement: true on this throughput in lifecycle.yaml to buy "
            "the new one anyway"
        )
    held = {old.name, current.get("provisionedModelName") if current is not None else old.name}
    name = replacement_name(new.name, event) if new.name in held else new.name
    logger.info("replacing provisioned throughput", old_arn=arn, reasons=reasons, new_name=name)
    return create(event, new, name, client, now=now, sleep=sleep)


def delete(
    event: Mapping[str, Any],
    client: Any,
    *,
    now: Clock,
    sleep: Sleep,
) -> dict[str, Any]:
    """Delete unless a commitment forbids it; never raise for a committed throughput."""
    arn = str(event.get("PhysicalResourceId"))
    if not PROVISIONED_MODEL_ARN_RE.fullmatch(arn):
        # This handler only ever answers with provisioned model ARNs: nothing was bought.
        logger.info("nothing to delete: physical id is not a provisioned model ARN", id=arn)
        return result(arn)
    declared_committed = (event.get("ResourceProperties") or {}).get("CommitmentDuration") in (
        "OneMonth",
        "SixMonths",
    )
    try:
        current = describe(client, arn, sleep)
    except (ClientError, *TRANSPORT_ERRORS) as error:
        if retryable(error):
            return result(arn, wait="Deleted")  # is_complete tries again
        if declared_committed:
            why = f"could not read it ({aws_message(error)})"
            return result(arn, data=retained(arn, None, why))
        raise ThroughputError(
            f"could not read provisioned throughput {arn} before deleting it: {aws_message(error)}"
        ) from error
    if current is None:
        logger.info("provisioned throughput already gone", arn=arn)
        return result(arn)
    outcome, data = try_delete(arn, current, client, now=now, sleep=sleep)
    return result(arn, wait="Deleted" if outcome == PENDING else None, data=data)


# Outcomes of one delete attempt.
DONE = "done"  # deleted now, or already gone
PENDING = "pending"  # Bedrock cannot delete it yet (in progress, throttled): try again later
RETAINED = "retained"  # committed: left in place, with a message


def try_delete(
    arn: str,
    current: Mapping[str, Any],
    client: Any,
    *,
    now: Clock,
    sleep: Sleep,
) -> tuple[str, dict[str, str] | None]:
    """Delete ``arn`` (described by ``current``) unless its commitment forbids it."""
    if current.get("commitmentExpirationTime") is not None and under_commitment(current, now()):
        return RETAINED, retained(arn, current, "its commitment term has not ended")
    try:
        call(client.delete_provisioned_model_throughput, sleep, provisionedModelId=arn)
    except (ClientError, *TRANSPORT_ERRORS) as error:
        code = error_code(error)
        if code == "ResourceNotFoundException":
            return DONE, None
        if current.get("status") in IN_PROGRESS and code in (
            "ConflictException",
            "ValidationException",
        ):
            logger.info("delete refused while in progress: waiting", arn=arn, error=code)
            return PENDING, None
        if retryable(error):
            return PENDING, None
        if current.get("commitmentDuration"):
            return RETAINED, retained(
                arn, current, f"Bedrock refused to delete it ({aws_message(error)})"
            )
        raise ThroughputError(
            f"could not delete provisioned throughput {arn}: {aws_message(error)}; it is still "
            "billed: fix the cause and retry the stack operation"
        ) from error
    logger.info("provisioned throughput deleted", arn=arn)
    return DONE, None


def retained(arn: str, current: Mapping[str, Any] | None, why: str) -> dict[str, str]:
    """Data of a success answer for a committed throughput left in place, logged loudly."""
    expiry = expiry_text(current) if current is not None else "unknown"
    message = (
        f"retained committed provisioned throughput {arn} ({why}); commitment expires "
        f"{expiry}; it keeps billing until deleted by hand after that time"
    )
    logger.warning(message, arn=arn, commitment_expiration_time=expiry)
    return {"Retained": "true", "Message": shorten(message)}


# ---------------------------------------------------------------- is_complete


def handle_is_complete(
    event: Mapping[str, Any],
    client: Any,
    *,
    now: Clock = utcnow,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    """Poll Bedrock until on_event's change is done. ``Data`` only when complete."""
    wait = event.get("Wait")
    arn = str(event.get("PhysicalResourceId"))
    if wait is None:
        return {"IsComplete": True}
    if wait == "Deleted":
        return _wait_deleted(arn, client, now=now, sleep=sleep)
    if wait != "InService":
        raise ThroughputError(f"unknown Wait {wait!r} from on_event")
    try:
        current = describe(client, arn, sleep)
    except (ClientError, *TRANSPORT_ERRORS) as error:
        if retryable(error):
            return {"IsComplete": False}
        raise ThroughputError(
            f"could not read provisioned throughput {arn}: {aws_message(error)}"
        ) from error
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


def _wait_deleted(arn: str, client: Any, *, now: Clock, sleep: Sleep) -> dict[str, Any]:
    try:
        current = describe(client, arn, sleep)
    except (ClientError, *TRANSPORT_ERRORS) as error:
        if retryable(error):
            return {"IsComplete": False}
        raise ThroughputError(
            f"could not read provisioned throughput {arn} while deleting it: {aws_message(error)}"
        ) from error
    if current is None:
        return {"IsComplete": True}
    outcome, data = try_delete(arn, current, client, now=now, sleep=sleep)
    if outcome == PENDING:
        return {"IsComplete": False}
    return {"IsComplete": True, "Data": data} if data else {"IsComplete": True}


# ---------------------------------------------------------------- Lambda entry points

_client: Any = None


def client_config() -> Any:
    """botocore settings: no retries of its own (``call`` retries), short timeouts."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=20,
    )


def bedrock_client() -> Any:
    """One control-plane client per container."""
    global _client
    if _client is None:
        import boto3

        _client = boto3.client("bedrock", config=client_config())
    return _client


def _safe_fields(event: Mapping[str, Any]) -> dict[str, Any]:
    # Never log ResponseURL: it is a presigned URL that answers for the stack.
    return {
        k: event.get(k)
        for k in ("RequestType", "LogicalResourceId", "PhysicalResourceId", "RequestId", "Wait")
    }


@logger.inject_lambda_context
def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Provider framework ``onEvent`` handler."""
    logger.info("on_event", **_safe_fields(event))
    return handle_on_event(event, bedrock_client())


@logger.inject_lambda_context
def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Provider framework ``isComplete`` handler."""
    logger.info("is_complete", **_safe_fields(event))
    return handle_is_complete(event, bedrock_client())
