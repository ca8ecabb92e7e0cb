"""The fault matrix: every Bedrock error on every step of create, update and delete.

Each scenario runs on_event and is_complete (as the provider framework does) on a
botocore Stubber with exact expected parameters, asserts the exact outcome
CloudFormation receives, and that every deployment Bedrock made (or that the request
took over) is accounted for: it is the physical id CloudFormation holds (on success it
is tracked; on failure the rollback Delete reaches it). Nothing is made twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from .conftest import (
    ARN,
    CREATE_FAILED_MARKER,
    FOREIGN_ARN,
    MODEL_ARN,
    MODEL_ARN_2,
    NAME,
    NEW_ARN,
    NOW,
    create_params,
    deployment,
    event,
    expected_name,
    props,
    run_provider,
)

HTTP_STATUS = {
    "ServiceQuotaExceededException": 400,
    "ValidationException": 400,
    "ResourceNotFoundException": 404,
    "AccessDeniedException": 403,
    "ThrottlingException": 429,
    "InternalServerException": 500,
    "ConflictException": 409,
}
MESSAGES = {
    "ServiceQuotaExceededException": "You have reached the quota of custom model deployments",
    "ValidationException": "The custom model is not in a state that can be deployed",
    "ResourceNotFoundException": "The specified resource ARN was not found",
    "AccessDeniedException": "User is not authorized to perform this action",
    "ThrottlingException": "Too many requests, please wait before trying again",
    "InternalServerException": "Internal server error",
    "ConflictException": "The custom model deployment is in a state that does not allow this",
}
RETRIED = ("ThrottlingException", "InternalServerException")
REFUSALS = tuple(code for code in HTTP_STATUS if code not in RETRIED)
ATTEMPTS = 5  # the handler's own retries of throttling and 5xx

CREATE = "create_custom_model_deployment"
GET = "get_custom_model_deployment"
DELETE = "delete_custom_model_deployment"


def ok(method: str, params: dict, response: dict | None = None) -> tuple:
    return ("ok", method, params, response if response is not None else {})


def err(method: str, params: dict, code: str, times: int = 1) -> list[tuple]:
    return [("err", method, params, code)] * times


def attempts(code: str) -> int:
    """How many attempts one call makes that keeps answering ``code``."""
    return ATTEMPTS if code in RETRIED else 1


def get(identifier: str = ARN, **kwargs: Any) -> tuple:
    kwargs.setdefault("arn", ARN)
    return ok(GET, {"customModelDeploymentIdentifier": identifier}, deployment(**kwargs))


def get_err(code: str, identifier: str = ARN, times: int | None = None) -> list[tuple]:
    n = attempts(code) if times is None else times
    return err(GET, {"customModelDeploymentIdentifier": identifier}, code, n)


def create_err(code: str, times: int | None = None, properties: dict | None = None) -> list:
    n = attempts(code) if times is None else times
    return err(CREATE, create_params(properties), code, n)


def created(arn: str = ARN, properties: dict | None = None) -> tuple:
    return ok(CREATE, create_params(properties), {"customModelDeploymentArn": arn})


def delete_ok(arn: str = ARN) -> tuple:
    return ok(DELETE, {"customModelDeploymentIdentifier": arn})


def delete_err(code: str, arn: str = ARN, times: int | None = None) -> list[tuple]:
    n = attempts(code) if times is None else times
    return err(DELETE, {"customModelDeploymentIdentifier": arn}, code, n)


NOT_FOUND_BY_NAME = get_err("ResourceNotFoundException", NAME)


@dataclass
class Scenario:
    id: str
    request: dict
    calls: list[tuple]
    status: str  # SUCCESS | FAILED | TIMEOUT
    physical_id: str
    reason: str = ""  # the failure reason must contain this
    # Deployments this request made or took over: each must be the physical id
    # CloudFormation holds at the end.
    deployments: tuple[str, ...] = ()
    data: dict[str, str] = field(default_factory=dict)
    sleeps: int = 0
    polls: int | None = None


CREATE_EVENT = event("Create")
ACTIVE = {"DeploymentArn": ARN}
NEW_ACTIVE = {"DeploymentArn": NEW_ARN}
# A change of the model: a new deployment under a new name.
NEW_MODEL = props(ModelArn=MODEL_ARN_2)
NEW_NAME = expected_name(NEW_MODEL)
CHANGE = event("Update", physical_id=ARN, old=props(), ModelArn=MODEL_ARN_2)
# The rollback of that change: back to the original properties, from the new deployment.
ROLLBACK = event("Update", physical_id=NEW_ARN, old=NEW_MODEL)
DELETE_EVENT = event("Delete", physical_id=ARN)


def refused_create(code: str, name: str = NAME, model: str = MODEL_ARN) -> str:
    n = attempts(code)
    return (
        f"creating custom model deployment {name} of {model} failed after {n} "
        f"attempt{'s' if n > 1 else ''} ({code}: {MESSAGES[code]}); no deployment named "
        f"{name} exists, none was made"
    )


SCENARIOS = [
    # ---- create refused (or failed for good): the name is looked up, nobody holds it
    *[
        Scenario(
            f"create-{code}-nothing-made",
            CREATE_EVENT,
            [*create_err(code), *NOT_FOUND_BY_NAME],
            "FAILED",
            CREATE_FAILED_MARKER,
            reason=refused_create(code),
            sleeps=attempts(code) - 1,
        )
        for code in HTTP_STATUS
    ],
    # ---- create: throttling and 5xx are retried (with the same token)
    *[
        Scenario(
            f"create-{code}-then-ok",
            CREATE_EVENT,
            [*create_err(code, times=2), created(), get(status="Creating"), get()],
            "SUCCESS",
            ARN,
            deployments=(ARN,),
            data=ACTIVE,
            sleeps=2,
            polls=2,
        )
        for code in RETRIED
    ],
    # ---- ambiguous create: an error, yet Bedrock made it; found by name and adopted
    *[
        Scenario(
            f"create-{code}-exhausted-but-made-is-adopted",
            CREATE_EVENT,
            [
                *create_err(code),
                get(NAME, status="Creating", created=NOW - dt.timedelta(minutes=2)),
                get(),
            ],
            "SUCCESS",
            ARN,
            deployments=(ARN,),
            data=ACTIVE,
            sleeps=ATTEMPTS - 1,
        )
        for code in RETRIED
    ],
    Scenario(
        "create-ConflictException-an-earlier-attempt-made-it-adopted",
        CREATE_EVENT,
        [*create_err("ConflictException"), get(NAME, status="Creating"), get()],
        "SUCCESS",
        ARN,
        deployments=(ARN,),
        data=ACTIVE,
    ),
    Scenario(
        "create-InternalServerException-then-ConflictException-adopted",
        CREATE_EVENT,
        [
            *create_err("InternalServerException", times=1),
            *create_err("ConflictException"),
            get(NAME, status="Creating", created=NOW - dt.timedelta(seconds=30)),
            get(status="Creating"),
            get(),
        ],
        "SUCCESS",
        ARN,
        deployments=(ARN,),
        data=ACTIVE,
        sleeps=1,
        polls=2,
    ),
    Scenario(
        "create-ThrottlingException-then-ServiceQuotaExceededException-nothing-made",
        CREATE_EVENT,
        [
            *create_err("ThrottlingException", times=1),
            *create_err("ServiceQuotaExceededException"),
            *NOT_FOUND_BY_NAME,
        ],
        "FAILED",
        CREATE_FAILED_MARKER,
        reason=f"creating custom model deployment {NAME} of {MODEL_ARN} failed after 2 attempts "
        f"(ServiceQuotaExceededException: {MESSAGES['ServiceQuotaExceededException']}); no "
        f"deployment named {NAME} exists, none was made",
        sleeps=1,
    ),
    Scenario(
        "create-InternalServerException-exhausted-made-at-the-window-edge-adopted",
        CREATE_EVENT,
        [
            *create_err("InternalServerException"),
            get(NAME, created=NOW - dt.timedelta(minutes=50)),
            get(),
        ],
        "SUCCESS",
        ARN,
        deployments=(ARN,),
        data=ACTIVE,
        sleeps=ATTEMPTS - 1,
    ),
    Scenario(
        "create-adopted-deployment-then-Failed",
        CREATE_EVENT,
        [
            *create_err("ConflictException"),
            get(NAME, status="Creating"),
            get(status="Failed", failure="The custom model's artifacts could not be loaded"),
        ],
        "FAILED",
        ARN,
        reason=f"custom model deployment {ARN} failed: The custom model's artifacts could not "
        "be loaded",
        deployments=(ARN,),
    ),
    # ---- the name is held by a deployment this request did not make: refused, not adopted
    Scenario(
        "create-ConflictException-name-held-by-another-model",
        CREATE_EVENT,
        [*create_err("ConflictException"), get(NAME, arn=FOREIGN_ARN, model_arn=MODEL_ARN_2)],
        "FAILED",
        CREATE_FAILED_MARKER,
        reason=f"creating custom model deployment {NAME} of {MODEL_ARN} failed after 1 attempt "
        f"(ConflictException: {MESSAGES['ConflictException']}); a deployment named {NAME} "
        f"exists ({FOREIGN_ARN} of {MODEL_ARN_2}, created 2026-11-26 05:59:00+00:00) that this "
        "request did not make: delete it, or change DeploymentName",
    ),
    Scenario(
        "create-ValidationException-name-held-by-one-made-long-ago",
        CREATE_EVENT,
        [
            *create_err("ValidationException"),
            get(NAME, arn=FOREIGN_ARN, created=NOW - dt.timedelta(days=3)),
        ],
        "FAILED",
        CREATE_FAILED_MARKER,
        reason=f"a deployment named {NAME} exists ({FOREIGN_ARN} of {MODEL_ARN}, created "
        "2026-11-23 06:00:00+00:00) that this request did not make: delete it, or change "
        "DeploymentName",
    ),
    Scenario(
        "create-InternalServerException-exhausted-made-just-outside-the-window-refused",
        CREATE_EVENT,
        [
            *create_err("InternalServerException"),
            get(NAME, arn=FOREIGN_ARN, created=NOW - dt.timedelta(minutes=50, seconds=1)),
        ],
        "FAILED",
        CREATE_FAILED_MARKER,
        reason=f"a deployment named {NAME} exists ({FOREIGN_ARN} of {MODEL_ARN}, created "
        "2026-11-26 05:09:59+00:00) that this request did not make",
        sleeps=ATTEMPTS - 1,
    ),
    # ---- the lookup after an ambiguous create fails: the person is told what to check
    *[
        Scenario(
            f"create-InternalServerException-exhausted-lookup-{code}",
            CREATE_EVENT,
            [*create_err("InternalServerException"), *get_err(code, NAME)],
            "FAILED",
            CREATE_FAILED_MARKER,
            reason=f"(InternalServerException: Internal server error), and looking it up failed "
            f"({code}: {MESSAGES[code]}): check whether a deployment named {NAME} exists; if so "
            "it is not managed by CloudFormation and must be deleted by hand",
            sleeps=ATTEMPTS - 1 + attempts(code) - 1,
        )
        for code in ("AccessDeniedException", "ThrottlingException", "InternalServerException")
    ],
    # ---- made; waiting for Active. The ARN is the physical id: a failure's rollback deletes it
    *[
        Scenario(
            f"active-poll-{code}",
            CREATE_EVENT,
            [created(), *get_err(code)],
            "FAILED",
            ARN,
            reason=f"could not read custom model deployment {ARN}: {code}: {MESSAGES[code]}",
            deployments=(ARN,),
        )
        for code in (
            "ServiceQuotaExceededException",
            "ValidationException",
            "AccessDeniedException",
            "ConflictException",
        )
    ],
    Scenario(
        "active-poll-ResourceNotFoundException",
        CREATE_EVENT,
        [created(), get(status="Creating"), *get_err("ResourceNotFoundException")],
        "FAILED",
        ARN,
        reason=f"custom model deployment {ARN} disappeared while waiting for it to be Active "
        "(deleted outside CloudFormation?)",
        deployments=(ARN,),
    ),
    *[
        Scenario(
            f"active-poll-{code}-exhausted-polls-again",
            CREATE_EVENT,
            [created(), *get_err(code), get()],
            "SUCCESS",
            ARN,
            deployments=(ARN,),
            data=ACTIVE,
            sleeps=ATTEMPTS - 1,
            polls=2,
        )
        for code in RETRIED
    ],
    Scenario(
        "active-poll-Creating-Creating-Active",
        CREATE_EVENT,
        [created(), get(status="Creating"), get(status="Creating"), get()],
        "SUCCESS",
        ARN,
        deployments=(ARN,),
        data=ACTIVE,
        polls=3,
    ),
    Scenario(
        "active-poll-Failed-surfaces-the-failure-message",
        CREATE_EVENT,
        [
            created(),
            get(status="Creating"),
            get(status="Failed", failure="Insufficient capacity for amazon.nova-micro"),
        ],
        "FAILED",
        ARN,
        reason=f"custom model deployment {ARN} failed: Insufficient capacity for amazon.nova-micro",
        deployments=(ARN,),
        polls=2,
    ),
    Scenario(
        "active-poll-Failed-without-a-message",
        CREATE_EVENT,
        [created(), get(status="Failed")],
        "FAILED",
        ARN,
        reason=f"custom model deployment {ARN} failed: Bedrock gave no failure message",
        deployments=(ARN,),
    ),
    Scenario(
        "active-poll-never-Active-times-out",
        CREATE_EVENT,
        [created(), *[get(status="Creating")] * 10],
        "TIMEOUT",
        ARN,
        deployments=(ARN,),
        polls=10,
    ),
    # ---- update: unchanged answers at once; a change makes a new deployment
    Scenario(
        "update-unchanged-no-call",
        event("Update", physical_id=ARN, old=props(ServiceToken="an-older-provider")),
        [],
        "SUCCESS",
        ARN,
        data=ACTIVE,
        polls=1,
    ),
    Scenario(
        "update-tags-in-another-order-unchanged-no-call",
        event("Update", physical_id=ARN, old=props(Tags=list(reversed(props()["Tags"])))),
        [],
        "SUCCESS",
        ARN,
        data=ACTIVE,
    ),
    Scenario(
        "update-model-changed-new-deployment-new-name",
        CHANGE,
        [
            created(NEW_ARN, NEW_MODEL),
            get(arn=NEW_ARN, identifier=NEW_ARN, name=NEW_NAME, status="Creating"),
            get(arn=NEW_ARN, identifier=NEW_ARN, name=NEW_NAME, model_arn=MODEL_ARN_2),
        ],
        "SUCCESS",
        NEW_ARN,
        deployments=(NEW_ARN,),
        data=NEW_ACTIVE,
        polls=2,
    ),
    Scenario(
        "update-description-removed-new-deployment",
        event("Update", physical_id=ARN, old=props(), Description=None),
        [
            created(NEW_ARN, props(Description=None)),
            get(arn=NEW_ARN, identifier=NEW_ARN, name=expected_name(props(Description=None))),
        ],
        "SUCCESS",
        NEW_ARN,
        deployments=(NEW_ARN,),
        data=NEW_ACTIVE,
    ),
    *[
        Scenario(
            f"update-{code}-nothing-made-old-kept",
            CHANGE,
            [
                *create_err(code, properties=NEW_MODEL),
                *get_err("ResourceNotFoundException", NEW_NAME),
            ],
            "FAILED",
            ARN,
            reason=refused_create(code, NEW_NAME, MODEL_ARN_2),
            sleeps=attempts(code) - 1,
        )
        for code in HTTP_STATUS
    ],
    Scenario(
        "update-new-deployment-Failed",
        CHANGE,
        [
            created(NEW_ARN, NEW_MODEL),
            get(arn=NEW_ARN, identifier=NEW_ARN, status="Failed", failure="Model not supported"),
        ],
        "FAILED",
        NEW_ARN,
        reason=f"custom model deployment {NEW_ARN} failed: Model not supported",
        deployments=(NEW_ARN,),
    ),
    Scenario(
        "update-ConflictException-name-held-by-another-model-refused",
        CHANGE,
        [
            *create_err("ConflictException", properties=NEW_MODEL),
            get(NEW_NAME, arn=FOREIGN_ARN, name=NEW_NAME, model_arn=MODEL_ARN),
        ],
        "FAILED",
        ARN,
        reason=f"a deployment named {NEW_NAME} exists ({FOREIGN_ARN} of {MODEL_ARN}, created",
    ),
    # ---- the rollback of a replacement: back to the original properties, whose deployment
    # (made long ago) CloudFormation still holds: it is taken back, nothing is made
    Scenario(
        "update-rollback-ConflictException-original-taken-back",
        ROLLBACK,
        [
            *create_err("ConflictException"),
            get(NAME, created=NOW - dt.timedelta(days=30)),
            get(),
        ],
        "SUCCESS",
        ARN,
        deployments=(ARN,),
        data=ACTIVE,
    ),
    Scenario(
        "update-rollback-original-gone-made-again",
        ROLLBACK,
        [created(ARN), get()],
        "SUCCESS",
        ARN,
        deployments=(ARN,),
        data=ACTIVE,
    ),
    # ---- delete
    Scenario(
        "delete-ok-then-gone",
        DELETE_EVENT,
        [delete_ok(), *get_err("ResourceNotFoundException")],
        "SUCCESS",
        ARN,
    ),
    Scenario(
        "delete-ok-still-Active-asked-again-then-gone",
        DELETE_EVENT,
        [delete_ok(), get(), delete_ok(), *get_err("ResourceNotFoundException")],
        "SUCCESS",
        ARN,
        polls=2,
    ),
    Scenario(
        "delete-ResourceNotFoundException-already-gone",
        DELETE_EVENT,
        delete_err("ResourceNotFoundException"),
        "SUCCESS",
        ARN,
    ),
    *[
        Scenario(
            f"delete-{code}",
            DELETE_EVENT,
            delete_err(code),
            "FAILED",
            ARN,
            reason=f"Bedrock refused to delete custom model deployment {ARN}: {code}: "
            f"{MESSAGES[code]}",
        )
        for code in (
            "ServiceQuotaExceededException",
            "ValidationException",
            "AccessDeniedException",
        )
    ],
    Scenario(
        "delete-ConflictException-still-Creating-retried-by-is_complete",
        DELETE_EVENT,
        [
            *delete_err("ConflictException"),
            get(status="Creating"),
            get(status="Creating"),
            get(),
            delete_ok(),
            *get_err("ResourceNotFoundException"),
        ],
        "SUCCESS",
        ARN,
        polls=4,
    ),
    Scenario(
        "delete-ConflictException-then-Active-delete-refused",
        DELETE_EVENT,
        [*delete_err("ConflictException"), get(), *delete_err("AccessDeniedException")],
        "FAILED",
        ARN,
        reason=f"Bedrock refused to delete custom model deployment {ARN}: AccessDeniedException",
    ),
    *[
        Scenario(
            f"delete-{code}-exhausted-retried-by-is_complete",
            DELETE_EVENT,
            [*delete_err(code), get(), delete_ok(), *get_err("ResourceNotFoundException")],
            "SUCCESS",
            ARN,
            sleeps=ATTEMPTS - 1,
            polls=2,
        )
        for code in RETRIED
    ],
    Scenario(
        "delete-Failed-deployment-deleted",
        DELETE_EVENT,
        [delete_ok(), get(status="Failed", failure="x"), *delete_err("ResourceNotFoundException")],
        "SUCCESS",
        ARN,
    ),
    Scenario(
        "delete-after-failed-create-marker-no-call",
        event("Delete", physical_id=CREATE_FAILED_MARKER),
        [],
        "SUCCESS",
        CREATE_FAILED_MARKER,
    ),
    Scenario(
        "delete-physical-id-not-a-deployment-arn-no-call",
        event("Delete", physical_id="never-created"),
        [],
        "SUCCESS",
        "never-created",
    ),
    Scenario(
        "delete-with-invalid-properties-still-deletes",
        event("Delete", physical_id=ARN, ModelArn="not-an-arn", Colour="blue"),
        delete_err("ResourceNotFoundException"),
        "SUCCESS",
        ARN,
    ),
    # ---- delete requested; waiting for it to be gone
    *[
        Scenario(
            f"deleted-poll-{code}",
            DELETE_EVENT,
            [delete_ok(), *get_err(code)],
            "FAILED",
            ARN,
            reason=f"could not read custom model deployment {ARN}: {code}: {MESSAGES[code]}",
        )
        for code in (
            "ServiceQuotaExceededException",
            "ValidationException",
            "AccessDeniedException",
            "ConflictException",
        )
    ],
    Scenario(
        "deleted-poll-ResourceNotFoundException-done",
        DELETE_EVENT,
        [delete_ok(), *get_err("ResourceNotFoundException")],
        "SUCCESS",
        ARN,
    ),
    *[
        Scenario(
            f"deleted-poll-{code}-exhausted-polls-again",
            DELETE_EVENT,
            [delete_ok(), *get_err(code), *get_err("ResourceNotFoundException")],
            "SUCCESS",
            ARN,
            sleeps=ATTEMPTS - 1,
            polls=2,
        )
        for code in RETRIED
    ],
    Scenario(
        "deleted-poll-still-Active-asked-again-ConflictException-waits",
        DELETE_EVENT,
        [
            delete_ok(),
            get(),
            *delete_err("ConflictException"),
            get(),
            delete_ok(),
            *get_err("ResourceNotFoundException"),
        ],
        "SUCCESS",
        ARN,
        polls=3,
    ),
    Scenario(
        "deleted-poll-never-gone-times-out",
        DELETE_EVENT,
        [delete_ok(), *[get(status="Creating")] * 10],
        "TIMEOUT",
        ARN,
        polls=10,
    ),
]


def queue(stub: Any, calls: list[tuple]) -> None:
    """Queue ``calls`` on ``stub``, each with its exact expected parameters."""
    for kind, method, params, detail in calls:
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


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_fault_matrix(app, bedrock, scenario: Scenario):
    client, stub = bedrock
    queue(stub, scenario.calls)

    outcome = run_provider(app, scenario.request, client)

    assert (outcome.status, outcome.physical_id) == (scenario.status, scenario.physical_id), (
        outcome.reason
    )
    stub.assert_no_pending_responses()
    assert scenario.reason in outcome.reason
    if scenario.status == "SUCCESS":
        assert outcome.reason == ""
        assert outcome.data == scenario.data
    else:
        assert outcome.data == {}, "Data only once complete"
        if scenario.status == "FAILED":
            assert outcome.reason and "\n" not in outcome.reason
            assert len(outcome.reason.encode()) <= 1000
    assert len(outcome.sleeps) == scenario.sleeps
    if scenario.polls is not None:
        assert outcome.polls == scenario.polls
    assert outcome.response_bytes(scenario.request) < 4096

    # Nothing made twice: at most one create succeeded, and what it made is held.
    made = [
        d["customModelDeploymentArn"] for k, m, _, d in scenario.calls if m == CREATE and k == "ok"
    ]
    assert len(made) <= 1
    assert set(made) <= set(scenario.deployments)
    # Nothing orphaned: every deployment made or taken over is the physical id
    # CloudFormation holds; otherwise it holds the one it had.
    for arn in scenario.deployments:
        assert outcome.physical_id == arn
    if not scenario.deployments:
        assert outcome.physical_id == scenario.request.get(
            "PhysicalResourceId", CREATE_FAILED_MARKER
        )
    if scenario.status != "SUCCESS" and scenario.deployments:
        # The rollback Delete reaches it.
        queue(
            stub,
            [
                delete_ok(outcome.physical_id),
                *get_err("ResourceNotFoundException", outcome.physical_id),
            ],
        )
        rollback = run_provider(app, event("Delete", physical_id=outcome.physical_id), client)
        assert (rollback.status, rollback.physical_id) == ("SUCCESS", outcome.physical_id)


OPERATIONS = {
    # id prefix: (method, what the request is, the error happens on it)
    "create-": (CREATE, "Create"),
    "active-poll-": (GET, "Create"),
    "delete-": (DELETE, "Delete"),
    "deleted-poll-": (GET, "Delete"),
}


def test_matrix_covers_every_error_on_every_operation():
    codes = set(HTTP_STATUS)
    for prefix, (method, request_type) in OPERATIONS.items():
        covered = {
            code
            for s in SCENARIOS
            if s.id.startswith(prefix) and s.request["RequestType"] == request_type
            for kind, m, _, code in s.calls
            if kind == "err" and m == method and code in s.id
        }
        # The poll while waiting for Active or deletion: a get after the create or delete.
        assert covered == codes, f"{prefix} misses {sorted(codes - covered)}"
    updates = {
        code for s in SCENARIOS if s.id.startswith("update-") for code in codes if code in s.id
    }
    assert updates == codes
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS)
    assert len(SCENARIOS) >= 60
