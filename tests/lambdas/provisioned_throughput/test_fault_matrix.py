"""The fault matrix: every Bedrock error on every step of create, update and delete.

Each scenario runs on_event and is_complete (as the provider framework does) on a
botocore Stubber with exact expected parameters, asserts the exact outcome
CloudFormation receives, and that every throughput Bedrock bought is accounted
for: it is the physical id CloudFormation holds (on success it is tracked; on
failure the rollback Delete reaches it). Nothing is bought twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from .conftest import (
    ARN,
    CREATE_FAILED_MARKER,
    FM_ID,
    NAME,
    NEW_ARN,
    NOW,
    STACK_ID,
    description,
    event,
    props,
    run_provider,
)

RID = "5f0e8a4c-0d3b-4c5e-9f1a-2b3c4d5e6f70"
HTTP_STATUS = {
    "ServiceQuotaExceededException": 400,
    "ValidationException": 400,
    "ResourceNotFoundException": 404,
    "AccessDeniedException": 403,
    "ThrottlingException": 429,
    "InternalServerException": 500,
    "ConflictException": 400,
}
MESSAGES = {
    "ServiceQuotaExceededException": "You have exceeded the model units quota (1) for this model",
    "ValidationException": "The model amazon.nova-pro-v1:0:300k is in Legacy state",
    "ResourceNotFoundException": "The specified resource ARN was not found",
    "AccessDeniedException": "User is not authorized to perform this action",
    "ThrottlingException": "Too many requests, please wait before trying again",
    "InternalServerException": "Internal server error",
    "ConflictException": "The provisioned model is in a state that does not allow this operation",
}
ATTEMPTS = 5  # the handler's own retries of throttling and 5xx
LATER = NOW + dt.timedelta(days=20)
EARLIER = NOW - dt.timedelta(days=2)
TAGS = [
    {"key": "bedrock-lifecycle:environment", "value": "prod"},
    {"key": "bedrock-lifecycle:family", "value": "assistant"},
]


def token(request_id: str = RID) -> str:
    seed = f"{STACK_ID}|Throughputsassistant83CE52FD|{request_id}"
    return "cfn-" + hashlib.sha256(seed.encode()).hexdigest()[:60]


def replacement(name: str = NAME, request_id: str = RID) -> str:
    return f"{name}-{hashlib.sha256(request_id.encode()).hexdigest()[:6]}"


def create_params(*, name: str = NAME, units: int = 1, commitment: str | None = None) -> dict:
    out: dict[str, Any] = {
        "modelUnits": units,
        "provisionedModelName": name,
        "modelId": FM_ID,
        "clientRequestToken": token(),
        "tags": TAGS,
    }
    if commitment is not None:
        out["commitmentDuration"] = commitment
    return out


def ok(method: str, params: dict, response: dict | None = None) -> tuple:
    return ("ok", method, params, response if response is not None else {})


def err(method: str, params: dict, code: str, times: int = 1) -> list[tuple]:
    return [("err", method, params, code)] * times


def get(identifier: str = ARN, **kwargs: Any) -> tuple:
    return ok(
        "get_provisioned_model_throughput",
        {"provisionedModelId": identifier},
        description(**kwargs),
    )


def get_err(code: str, identifier: str = ARN, times: int = 1) -> list[tuple]:
    return err("get_provisioned_model_throughput", {"provisionedModelId": identifier}, code, times)


CREATE = "create_provisioned_model_throughput"
UPDATE = "update_provisioned_model_throughput"
DELETE = "delete_provisioned_model_throughput"
CREATED = ok(CREATE, create_params(), {"provisionedModelArn": ARN})
DELETE_OK = ok(DELETE, {"provisionedModelId": ARN})


def delete_err(code: str, times: int = 1) -> list[tuple]:
    return err(DELETE, {"provisionedModelId": ARN}, code, times)


def rename_err(code: str, times: int = 1) -> list[tuple]:
    return err(
        UPDATE, {"provisionedModelId": ARN, "desiredProvisionedModelName": "renamed"}, code, times
    )


@dataclass
class Scenario:
    id: str
    request: dict
    calls: list[tuple]
    status: str
    physical_id: str
    reason: str = ""  # the failure reason must contain this
    created: tuple[str, ...] = ()  # throughputs Bedrock bought in this scenario
    data: dict[str, str] = field(default_factory=dict)
    sleeps: int = 0


CREATE_EVENT = event("Create")
COMMITTED = props(CommitmentDuration="OneMonth")
RENAME = event("Update", physical_id=ARN, old=props(), ProvisionedModelName="renamed")
MORE_UNITS = event("Update", physical_id=ARN, old=props(), ModelUnits="2")
MORE_UNITS_COMMITTED = event(
    "Update", physical_id=ARN, old=COMMITTED, ModelUnits="2", CommitmentDuration="OneMonth"
)
DELETE_EVENT = event("Delete", physical_id=ARN)
DELETE_COMMITTED = event("Delete", physical_id=ARN, CommitmentDuration="OneMonth")


def retained_message(expiry: str) -> str:
    return (
        f"retained committed provisioned throughput {ARN} (its commitment term has not ended); "
        f"commitment expires {expiry}"
    )


SCENARIOS = [
    # ---- create: Bedrock refuses at once; nothing bought, no retry (a refusal that may
    # mean "name in use" looks the name up: nobody holds it here)
    *[
        Scenario(
            f"create-{code}",
            CREATE_EVENT,
            [
                *err(CREATE, create_params(), code),
                *(
                    get_err("ResourceNotFoundException", NAME)
                    if code in ("ValidationException", "ConflictException")
                    else []
                ),
            ],
            "FAILED",
            CREATE_FAILED_MARKER,
            reason=f"Bedrock refused to create provisioned throughput {NAME} (1 units of {FM_ID}, "
            f"commitment None): {code}: {MESSAGES[code]}",
        )
        for code in (
            "ServiceQuotaExceededException",
            "ValidationException",
            "ResourceNotFoundException",
            "AccessDeniedException",
            "ConflictException",
        )
    ],
    # ---- create: the name is held by a committed throughput a rolled-back operation retained
    Scenario(
        "create-ValidationException-name-held-by-retained-commitment-tracked-again",
        event("Create", CommitmentDuration="OneMonth"),
        [
            *err(CREATE, create_params(commitment="OneMonth"), "ValidationException"),
            get(NAME, commitment="OneMonth", expires=LATER),
            get(commitment="OneMonth", expires=LATER),
        ],
        "SUCCESS",
        ARN,
        created=(ARN,),
        data={"ProvisionedModelArn": ARN},
    ),
    Scenario(
        "create-ConflictException-name-held-by-another-throughput",
        event("Create", CommitmentDuration="OneMonth"),
        [
            *err(CREATE, create_params(commitment="OneMonth"), "ConflictException"),
            get(NAME, arn=NEW_ARN, units=2, commitment="OneMonth", expires=LATER),
        ],
        "FAILED",
        CREATE_FAILED_MARKER,
        reason=f"ConflictException: {MESSAGES['ConflictException']}; the name is held by "
        f"{NEW_ARN} (2 units of arn:aws:bedrock:us-east-1::foundation-model/{FM_ID}, "
        "commitment OneMonth, status InService): rename this throughput, or delete that one",
    ),
    Scenario(
        "create-ValidationException-name-held-without-commitment-not-tracked",
        CREATE_EVENT,
        [*err(CREATE, create_params(), "ValidationException"), get(NAME)],
        "FAILED",
        CREATE_FAILED_MARKER,
        reason=f"the name is held by {ARN} (1 units of",
    ),
    Scenario(
        "create-ValidationException-name-lookup-AccessDeniedException",
        CREATE_EVENT,
        [
            *err(CREATE, create_params(), "ValidationException"),
            *get_err("AccessDeniedException", NAME),
        ],
        "FAILED",
        CREATE_FAILED_MARKER,
        reason=f"Bedrock refused to create provisioned throughput {NAME} (1 units of {FM_ID}, "
        f"commitment None): ValidationException: {MESSAGES['ValidationException']}",
    ),
    # ---- create: throttling and 5xx are retried with the same token
    Scenario(
        "create-ThrottlingException-then-ok",
        CREATE_EVENT,
        [*err(CREATE, create_params(), "ThrottlingException", 2), CREATED, get()],
        "SUCCESS",
        ARN,
        created=(ARN,),
        data={"ProvisionedModelArn": ARN},
        sleeps=2,
    ),
    Scenario(
        "create-InternalServerException-then-ok",
        CREATE_EVENT,
        [
            *err(CREATE, create_params(), "InternalServerException"),
            CREATED,
            get(status="Creating"),
            get(),
        ],
        "SUCCESS",
        ARN,
        created=(ARN,),
        data={"ProvisionedModelArn": ARN},
        sleeps=1,
    ),
    # ---- create: retries exhausted, the outcome is ambiguous: look it up by name
    Scenario(
        "create-InternalServerException-exhausted-nothing-bought",
        CREATE_EVENT,
        [
            *err(CREATE, create_params(), "InternalServerException", ATTEMPTS),
            *get_err("ResourceNotFoundException", NAME),
        ],
        "FAILED",
        CREATE_FAILED_MARKER,
        reason=f"creating provisioned throughput {NAME} failed after 5 attempts "
        "(InternalServerException: Internal server error); no throughput named "
        f"{NAME} exists, nothing was bought",
        sleeps=ATTEMPTS - 1,
    ),
    Scenario(
        "create-ThrottlingException-exhausted-but-bought-is-adopted",
        CREATE_EVENT,
        [
            *err(CREATE, create_params(), "ThrottlingException", ATTEMPTS),
            get(NAME, arn=ARN, status="Creating", created=NOW - dt.timedelta(minutes=2)),
            get(status="InService"),
        ],
        "SUCCESS",
        ARN,
        created=(ARN,),
        data={"ProvisionedModelArn": ARN},
        sleeps=ATTEMPTS - 1,
    ),
    Scenario(
        "create-InternalServerException-exhausted-foreign-name-not-adopted",
        CREATE_EVENT,
        [
            *err(CREATE, create_params(), "InternalServerException", ATTEMPTS),
            get(NAME, arn=NEW_ARN, created=NOW - dt.timedelta(days=40)),
        ],
        "FAILED",
        CREATE_FAILED_MARKER,
        reason=f"a provisioned throughput named {NAME} exists ({NEW_ARN}, created "
        "2026-10-17 06:00:00+00:00) that this request did not create",
        sleeps=ATTEMPTS - 1,
    ),
    Scenario(
        "create-InternalServerException-exhausted-lookup-AccessDeniedException",
        CREATE_EVENT,
        [
            *err(CREATE, create_params(), "InternalServerException", ATTEMPTS),
            *get_err("AccessDeniedException", NAME),
        ],
        "FAILED",
        CREATE_FAILED_MARKER,
        reason=f"check whether a provisioned throughput named {NAME} exists; if so it is not "
        "managed by CloudFormation and must be deleted by hand",
        sleeps=ATTEMPTS - 1,
    ),
    # ---- create: a refusal after a 5xx or throttled attempt may be about our own purchase
    Scenario(
        "create-InternalServerException-then-ConflictException-bought-is-adopted",
        CREATE_EVENT,
        [
            *err(CREATE, create_params(), "InternalServerException"),
            *err(CREATE, create_params(), "ConflictException"),
            get(NAME, arn=ARN, status="Creating", created=NOW - dt.timedelta(minutes=1)),
            get(status="InService"),
        ],
        "SUCCESS",
        ARN,
        created=(ARN,),
        data={"ProvisionedModelArn": ARN},
        sleeps=1,
    ),
    Scenario(
        "create-ThrottlingException-then-ServiceQuotaExceededException-nothing-bought",
        CREATE_EVENT,
        [
            *err(CREATE, create_params(), "ThrottlingException"),
            *err(CREATE, create_params(), "ServiceQuotaExceededException"),
            *get_err("ResourceNotFoundException", NAME),
        ],
        "FAILED",
        CREATE_FAILED_MARKER,
        reason=f"creating provisioned throughput {NAME} failed after 2 attempts "
        f"(ServiceQuotaExceededException: {MESSAGES['ServiceQuotaExceededException']}); no "
        f"throughput named {NAME} exists, nothing was bought",
        sleeps=1,
    ),
    # ---- create accepted, polling fails: the ARN is the physical id, rollback deletes it
    Scenario(
        "create-poll-ThrottlingException-waits",
        CREATE_EVENT,
        [CREATED, *get_err("ThrottlingException", times=ATTEMPTS), get()],
        "SUCCESS",
        ARN,
        created=(ARN,),
        data={"ProvisionedModelArn": ARN},
        sleeps=ATTEMPTS - 1,
    ),
    Scenario(
        "create-poll-AccessDeniedException",
        CREATE_EVENT,
        [CREATED, *get_err("AccessDeniedException")],
        "FAILED",
        ARN,
        reason=f"could not read provisioned throughput {ARN}: AccessDeniedException",
        created=(ARN,),
    ),
    Scenario(
        "create-poll-ResourceNotFoundException",
        CREATE_EVENT,
        [CREATED, *get_err("ResourceNotFoundException")],
        "FAILED",
        ARN,
        reason=f"provisioned throughput {ARN} disappeared while waiting for it to be InService",
        created=(ARN,),
    ),
    # ---- update in place (rename)
    *[
        Scenario(
            f"update-{code}",
            RENAME,
            rename_err(code),
            "FAILED",
            ARN,
            reason=f"Bedrock refused to update provisioned throughput {ARN} "
            f"(desiredProvisionedModelName): {code}: {MESSAGES[code]}",
        )
        for code in (
            "ValidationException",
            "ConflictException",
            "ResourceNotFoundException",
            "AccessDeniedException",
            "ServiceQuotaExceededException",
        )
    ],
    Scenario(
        "update-InternalServerException-exhausted",
        RENAME,
        rename_err("InternalServerException", ATTEMPTS),
        "FAILED",
        ARN,
        reason="(desiredProvisionedModelName): InternalServerException: Internal server error",
        sleeps=ATTEMPTS - 1,
    ),
    Scenario(
        "update-ThrottlingException-then-ok",
        RENAME,
        [
            *rename_err("ThrottlingException"),
            ok(UPDATE, {"provisionedModelId": ARN, "desiredProvisionedModelName": "renamed"}),
            get(status="Updating", name="renamed"),
            get(name="renamed"),
        ],
        "SUCCESS",
        ARN,
        data={"ProvisionedModelArn": ARN},
        sleeps=1,
    ),
    Scenario(
        "update-tags-ValidationException",
        event("Update", physical_id=ARN, old=props(), Tags=[]),
        err(
            "untag_resource",
            {
                "resourceARN": ARN,
                "tagKeys": ["bedrock-lifecycle:environment", "bedrock-lifecycle:family"],
            },
            "ValidationException",
        ),
        "FAILED",
        ARN,
        reason=f"Bedrock refused to update provisioned throughput {ARN} (tags): "
        "ValidationException",
    ),
    # ---- update by replacement
    Scenario(
        "replace-ServiceQuotaExceededException",
        MORE_UNITS,
        [
            get(),
            *err(
                CREATE, create_params(name=replacement(), units=2), "ServiceQuotaExceededException"
            ),
        ],
        "FAILED",
        ARN,
        reason="ServiceQuotaExceededException: You have exceeded the model units quota",
    ),
    Scenario(
        "replace-InternalServerException-exhausted-nothing-bought",
        MORE_UNITS,
        [
            get(),
            *err(
                CREATE,
                create_params(name=replacement(), units=2),
                "InternalServerException",
                ATTEMPTS,
            ),
            *get_err("ResourceNotFoundException", replacement()),
        ],
        "FAILED",
        ARN,
        reason=f"no throughput named {replacement()} exists, nothing was bought",
        sleeps=ATTEMPTS - 1,
    ),
    Scenario(
        "replace-ok-new-physical-id",
        MORE_UNITS,
        [
            get(),
            ok(
                CREATE, create_params(name=replacement(), units=2), {"provisionedModelArn": NEW_ARN}
            ),
            get(NEW_ARN, arn=NEW_ARN, status="Creating", units=2),
            get(NEW_ARN, arn=NEW_ARN, units=2),
        ],
        "SUCCESS",
        NEW_ARN,
        created=(NEW_ARN,),
        data={"ProvisionedModelArn": NEW_ARN},
    ),
    Scenario(
        "replace-created-then-Failed",
        MORE_UNITS,
        [
            get(),
            ok(
                CREATE, create_params(name=replacement(), units=2), {"provisionedModelArn": NEW_ARN}
            ),
            get(NEW_ARN, arn=NEW_ARN, status="Failed", units=2, failure="Insufficient capacity"),
        ],
        "FAILED",
        NEW_ARN,
        reason=f"provisioned throughput {NEW_ARN} failed: Insufficient capacity",
        created=(NEW_ARN,),
    ),
    Scenario(
        "replace-committed-refused",
        MORE_UNITS_COMMITTED,
        [get(commitment="OneMonth", expires=LATER)],
        "FAILED",
        ARN,
        reason=f"refusing to replace committed provisioned throughput {ARN} (ModelUnits 1 -> 2): "
        f"its OneMonth term runs until {LATER.isoformat()}",
    ),
    *[
        Scenario(
            f"replace-committed-lookup-{code}",
            MORE_UNITS_COMMITTED,
            get_err(
                code,
                times=ATTEMPTS if code in ("ThrottlingException", "InternalServerException") else 1,
            ),
            "FAILED",
            ARN,
            reason=f"could not read provisioned throughput {ARN} before replacing it ({code}: "
            f"{MESSAGES[code]}); refusing to replace it (ModelUnits 1 -> 2): retry the deployment",
            sleeps=ATTEMPTS - 1
            if code in ("ThrottlingException", "InternalServerException")
            else 0,
        )
        for code in ("AccessDeniedException", "ThrottlingException", "InternalServerException")
    ],
    Scenario(
        "replace-committed-old-already-gone",
        MORE_UNITS_COMMITTED,
        [
            *get_err("ResourceNotFoundException"),
            ok(
                CREATE,
                create_params(name=replacement(), units=2, commitment="OneMonth"),
                {"provisionedModelArn": NEW_ARN},
            ),
            get(NEW_ARN, arn=NEW_ARN, units=2, commitment="OneMonth", expires=LATER),
        ],
        "SUCCESS",
        NEW_ARN,
        created=(NEW_ARN,),
        data={"ProvisionedModelArn": NEW_ARN},
    ),
    # ---- the rollback of a failed replacement: CloudFormation sends the original properties
    # as an Update of the original throughput, which already has them: nothing is bought
    Scenario(
        "replace-rollback-already-as-requested-nothing-bought",
        event("Update", physical_id=ARN, old=props(ModelUnits="2"), ModelUnits="1"),
        [get()],
        "SUCCESS",
        ARN,
    ),
    Scenario(
        "replace-rollback-committed-already-as-requested-not-refused",
        event(
            "Update",
            physical_id=ARN,
            old=props(ModelUnits="2", CommitmentDuration="OneMonth"),
            ModelUnits="1",
            CommitmentDuration="OneMonth",
        ),
        [get(commitment="OneMonth", expires=LATER)],
        "SUCCESS",
        ARN,
    ),
    # ---- delete
    Scenario("delete-ok", DELETE_EVENT, [get(), DELETE_OK], "SUCCESS", ARN),
    Scenario(
        "delete-already-gone", DELETE_EVENT, get_err("ResourceNotFoundException"), "SUCCESS", ARN
    ),
    Scenario(
        "delete-ResourceNotFoundException-race",
        DELETE_EVENT,
        [get(), *delete_err("ResourceNotFoundException")],
        "SUCCESS",
        ARN,
    ),
    *[
        Scenario(
            f"delete-{code}",
            DELETE_EVENT,
            [get(), *delete_err(code)],
            "FAILED",
            ARN,
            reason=f"could not delete provisioned throughput {ARN}: {code}: {MESSAGES[code]}; "
            "it is still billed",
        )
        for code in (
            "AccessDeniedException",
            "ValidationException",
            "ConflictException",
            "ServiceQuotaExceededException",
        )
    ],
    Scenario(
        "delete-read-AccessDeniedException",
        DELETE_EVENT,
        get_err("AccessDeniedException"),
        "FAILED",
        ARN,
        reason=f"could not read provisioned throughput {ARN} before deleting it: "
        "AccessDeniedException",
    ),
    Scenario(
        "delete-ThrottlingException-exhausted-retried-by-poll",
        DELETE_EVENT,
        [get(), *delete_err("ThrottlingException", ATTEMPTS), get(), DELETE_OK],
        "SUCCESS",
        ARN,
        sleeps=ATTEMPTS - 1,
    ),
    Scenario(
        "delete-InternalServerException-exhausted-then-gone",
        DELETE_EVENT,
        [
            get(),
            *delete_err("InternalServerException", ATTEMPTS),
            *get_err("ResourceNotFoundException"),
        ],
        "SUCCESS",
        ARN,
        sleeps=ATTEMPTS - 1,
    ),
    Scenario(
        "delete-read-InternalServerException-exhausted-retried-by-poll",
        DELETE_EVENT,
        [*get_err("InternalServerException", times=ATTEMPTS), get(), DELETE_OK],
        "SUCCESS",
        ARN,
        sleeps=ATTEMPTS - 1,
    ),
    Scenario(
        "delete-still-Creating-after-failed-create-ConflictException-waits",
        DELETE_EVENT,
        [
            get(status="Creating"),
            *delete_err("ConflictException"),
            get(status="Creating"),
            *delete_err("ConflictException"),
            get(status="Creating"),
            DELETE_OK,
        ],
        "SUCCESS",
        ARN,
    ),
    Scenario(
        "delete-Failed-after-failed-create",
        DELETE_EVENT,
        [get(status="Failed", failure="Insufficient capacity"), DELETE_OK],
        "SUCCESS",
        ARN,
    ),
    # ---- delete of committed throughputs: never stuck, never deleted before term
    Scenario(
        "delete-committed-under-term-retained",
        DELETE_COMMITTED,
        [get(commitment="OneMonth", expires=LATER)],
        "SUCCESS",
        ARN,
        data={
            "Retained": "true",
            "Message": retained_message(LATER.isoformat())
            + "; it keeps billing until deleted by hand after that time",
        },
    ),
    Scenario(
        "delete-committed-term-ended-deleted",
        DELETE_COMMITTED,
        [get(commitment="OneMonth", expires=EARLIER), DELETE_OK],
        "SUCCESS",
        ARN,
    ),
    Scenario(
        "delete-committed-Failed-ValidationException-retained",
        DELETE_COMMITTED,
        [get(status="Failed", commitment="OneMonth"), *delete_err("ValidationException")],
        "SUCCESS",
        ARN,
        data={
            "Retained": "true",
            "Message": (
                f"retained committed provisioned throughput {ARN} (Bedrock refused to delete it "
                f"(ValidationException: {MESSAGES['ValidationException']})); commitment expires "
                "not yet known; it keeps billing until deleted by hand after that time"
            ),
        },
    ),
    Scenario(
        "delete-committed-read-AccessDeniedException-retained",
        DELETE_COMMITTED,
        get_err("AccessDeniedException"),
        "SUCCESS",
        ARN,
        data={
            "Retained": "true",
            "Message": (
                f"retained committed provisioned throughput {ARN} (could not read it "
                f"(AccessDeniedException: {MESSAGES['AccessDeniedException']})); "
                "commitment expires unknown; it keeps billing until deleted by hand after that time"
            ),
        },
    ),
    Scenario(
        "delete-committed-Creating-ConflictException-then-retained",
        DELETE_COMMITTED,
        [
            get(status="Creating", commitment="OneMonth"),
            *delete_err("ConflictException"),
            get(commitment="OneMonth", expires=LATER),
        ],
        "SUCCESS",
        ARN,
        data={
            "Retained": "true",
            "Message": retained_message(LATER.isoformat())
            + "; it keeps billing until deleted by hand after that time",
        },
    ),
    Scenario(
        "delete-after-failed-create-marker-no-call",
        event("Delete", physical_id=CREATE_FAILED_MARKER),
        [],
        "SUCCESS",
        CREATE_FAILED_MARKER,
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_fault_matrix(app, bedrock, scenario: Scenario):
    client, stub = bedrock
    for kind, method, params, detail in scenario.calls:
        if kind == "ok":
            stub.add_response(method, detail, expected_params=params)
        else:
            stub.add_client_error(
                method,
                service_error_code=detail,
                service_message=MESSAGES[detail],
                http_status_code=HTTP_STATUS[detail],
                expected_params=params,
            )

    outcome = run_provider(app, scenario.request, client)

    assert (outcome.status, outcome.physical_id) == (scenario.status, scenario.physical_id), (
        outcome.reason
    )
    assert scenario.reason in outcome.reason
    if scenario.status == "SUCCESS":
        assert outcome.reason == ""
        assert outcome.data == scenario.data
    assert len(outcome.sleeps) == scenario.sleeps
    assert outcome.response_bytes(scenario.request) < 4096
    # Every throughput bought is held by CloudFormation: tracked on success, deleted by the
    # rollback on failure. Otherwise the physical id is the one CloudFormation already had.
    for arn in scenario.created:
        assert outcome.physical_id == arn
    if not scenario.created:
        assert outcome.physical_id == scenario.request.get(
            "PhysicalResourceId", CREATE_FAILED_MARKER
        )


def test_matrix_covers_every_error_on_every_operation():
    codes = set(HTTP_STATUS)
    for operation in ("create", "update", "delete"):
        covered = {
            code
            for code in codes
            if any(s.id.startswith(operation) and code in s.id for s in SCENARIOS)
        }
        covered |= {
            code
            for code in codes
            if operation == "update"
            and any(s.id.startswith("replace") and code in s.id for s in SCENARIOS)
        }
        assert covered == codes, f"{operation} misses {sorted(codes - covered)}"
    assert len(SCENARIOS) >= 20
