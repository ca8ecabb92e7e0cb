"""``customize status`` and attempts: failed and stopped jobs, and recording the model of a
completed one in lifecycle.lock."""

from __future__ import annotations

import json
import os

import pytest

from bedrock_lifecycle.config import load_lifecycle

from .conftest import STACK_ROLE, model_arn
from .test_start import tune_params


def status(run, project, *extra: str):
    return run("customize", "status", *extra, "--file", str(project.file))


def test_a_failed_job_shows_its_failure_and_a_new_start_needs_attempt(project, aws, run):
    job = project.job("test-tune")
    failure = "Validation failed: the training file has 3 records,\nat least 8 are needed"
    escaped = failure.replace("\n", "\\n")
    hint = "to try again: customize start test-tune --environment staging --attempt 2"

    aws.caller()
    aws.job(job, "Failed", failureMessage=failure)
    aws.no_job(project.job("test-tune", attempt=2))
    result = status(run, project, "test-tune")
    assert (result.code, result.err) == (0, [])
    assert result.out == [f"staging: test-tune: {job} Failed: {escaped}; {hint}"]

    # start does not submit attempt 1 again (its name is spent): it says so, exit 2.
    aws.caller()
    aws.job(job, "Failed", failureMessage=failure)
    result = run("customize", "start", "test-tune", "--file", str(project.file))
    assert (result.code, result.out) == (2, [])
    assert result.err == [f"staging: test-tune: {job} Failed: {escaped}; {hint}"]

    # --attempt 2 submits under the next name, after checking attempt 1 ended.
    second = project.job("test-tune", attempt=2)
    aws.caller()
    aws.no_job(second)
    aws.job(job, "Failed", failureMessage=failure)
    aws.parameter("test-tune", {"role_arn": STACK_ROLE})
    arn = aws.create(tune_params(second))
    result = run("customize", "start", "test-tune", "--attempt", "2", "--file", str(project.file))
    assert (result.code, result.err) == (0, []), result
    assert result.out == [f"staging: test-tune: submitted {second} ({arn}), InProgress"]

    # status follows the latest attempt.
    aws.caller()
    aws.job(job, "Failed", failureMessage=failure)
    aws.job(
        second,
        "InProgress",
        statusDetails={
            "validationDetails": {"status": "Completed"},
            "dataProcessingDetails": {"status": "InProgress"},
            "trainingDetails": {"status": "NotStarted"},
        },
    )
    aws.no_job(project.job("test-tune", attempt=3))
    result = status(run, project, "test-tune")
    assert result.out == [
        f"staging: test-tune: {second} InProgress "
        "(validation Completed, dataProcessing InProgress, training NotStarted)"
    ]


def test_a_stopped_job_shows_how_to_try_again(project, aws, run):
    job = project.job("test-tune")
    aws.caller()
    aws.job(job, "Stopped")
    aws.no_job(project.job("test-tune", attempt=2))
    result = status(run, project, "test-tune")
    assert (result.code, result.err) == (0, [])
    assert result.out == [
        f"staging: test-tune: {job} Stopped; to try again: customize start test-tune "
        "--environment staging --attempt 2"
    ]
    aws.caller()
    aws.job(job, "Stopped")
    result = run("customize", "start", "test-tune", "--file", str(project.file))
    assert (result.code, result.out, len(result.err)) == (2, [], 1)
    assert "Stopped" in result.err[0] and "--attempt 2" in result.err[0]


@pytest.mark.parametrize(
    ("before", "message"),
    [
        ("InProgress", "is InProgress; a new attempt starts only after a failed or stopped one"),
        ("Stopping", "is Stopping; a new attempt starts only after a failed or stopped one"),
        ("Completed", "is Completed; a new attempt starts only after a failed or stopped one"),
        (None, "attempt 1 of test-tune in staging was never submitted; start --attempt 1 first"),
    ],
)
def test_a_new_attempt_needs_the_one_before_ended_badly(project, aws, run, before, message):
    aws.caller()
    aws.no_job(project.job("test-tune", attempt=2))
    if before is None:
        aws.no_job(project.job("test-tune"))
    else:
        aws.job(project.job("test-tune"), before)
    result = run("customize", "start", "test-tune", "--attempt", "2", "--file", str(project.file))
    assert (result.code, result.out, len(result.err)) == (2, [], 1)
    assert result.err[0].startswith("customize: ") and result.err[0].endswith(message)


def test_a_completed_job_is_recorded_in_the_lock(project, aws, run):
    job = project.job("test-tune")
    arn = model_arn(job)
    expected = project.lock_json()
    assert expected["custom_models"]["test-tune"]["models"] == {}
    expected["custom_models"]["test-tune"]["models"] = {"staging": arn}

    aws.caller()
    aws.job(job, "Completed", outputModelArn=arn)
    aws.no_job(project.job("test-tune", attempt=2))
    result = status(run, project, "test-tune")
    assert (result.code, result.err) == (0, []), result
    assert result.out == [
        f"staging: test-tune: {job} Completed -> {arn}",
        "lifecycle.lock: recorded test-tune in staging",
    ]
    text = project.lock.read_text(encoding="utf-8")
    assert json.loads(text) == expected
    assert text == json.dumps(expected, indent=2) + "\n"  # the lock's own layout
    assert sorted(p.name for p in project.file.parent.iterdir()) == [
        "lifecycle.lock",
        "lifecycle.yaml",
    ]  # no partial file left behind
    load_lifecycle(project.file)  # and the file validates against it

    # Once recorded, status records nothing more and leaves the file as it is.
    aws.caller()
    aws.job(job, "Completed", outputModelArn=arn)
    aws.no_job(project.job("test-tune", attempt=2))
    result = status(run, project, "test-tune")
    assert result.out == [f"staging: test-tune: {job} Completed -> {arn}"]
    assert project.lock.read_text(encoding="utf-8") == text


def test_no_record_leaves_the_lock_untouched(project, aws, run):
    job = project.job("test-tune")
    before = project.lock.read_bytes()
    mtime = project.lock.stat().st_mtime_ns
    aws.caller()
    aws.job(job, "Completed", outputModelArn=model_arn(job))
    aws.no_job(project.job("test-tune", attempt=2))
    result = status(run, project, "test-tune", "--no-record")
    assert (result.code, result.err) == (0, [])
    assert result.out == [f"staging: test-tune: {job} Completed -> {model_arn(job)}"]
    assert project.lock.read_bytes() == before
    assert project.lock.stat().st_mtime_ns == mtime


def test_a_failed_write_leaves_the_old_lock_whole(project, aws, run, monkeypatch):
    job = project.job("test-tune")
    before = project.lock.read_bytes()

    def full_disk(src, dst):
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", full_disk)
    aws.caller()
    aws.job(job, "Completed", outputModelArn=model_arn(job))
    aws.no_job(project.job("test-tune", attempt=2))
    result = status(run, project, "test-tune")
    assert result.code == 2
    assert result.err == [f"{project.lock}: No space left on device"]
    assert project.lock.read_bytes() == before
    assert list(project.file.parent.glob("*.partial")) == []


def test_a_lock_written_while_bedrock_was_asked_is_kept(project, aws, run):
    """``bedrock-lifecycle lock`` ran (a new version) while status waited for Bedrock:
    status records into the lock as it is then, losing nothing."""
    job = project.job("test-tune")
    newer = project.lock_json()
    newer["versions"]["summarizer/v2"] = "ab" * 32

    def lock_meanwhile(**_: object) -> None:
        project.lock.write_text(json.dumps(newer, indent=2) + "\n", encoding="utf-8")

    bedrock = aws._pair("bedrock", "us-east-1")[0]
    bedrock.meta.events.register(
        "before-parameter-build.bedrock.GetModelCustomizationJob", lock_meanwhile
    )
    aws.caller()
    aws.job(job, "Completed", outputModelArn=model_arn(job))
    aws.no_job(project.job("test-tune", attempt=2))
    result = status(run, project, "test-tune")
    assert result.code == 0, result
    newer["custom_models"]["test-tune"]["models"] = {"staging": model_arn(job)}
    assert project.lock_json() == newer


def test_a_model_other_than_the_recorded_one_is_not_written(project, aws, run):
    job = project.job("test-tune")
    data = project.lock_json()
    recorded = model_arn("someone-elses-model")
    data["custom_models"]["test-tune"]["models"] = {"staging": recorded}
    project.lock.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    before = project.lock.read_bytes()
    aws.caller()
    aws.job(job, "Completed", outputModelArn=model_arn(job))
    aws.no_job(project.job("test-tune", attempt=2))
    result = status(run, project, "test-tune")
    assert result.code == 2
    assert result.out == [f"staging: test-tune: {job} Completed -> {model_arn(job)}"]
    assert result.err == [
        f"staging: test-tune: the lock records {recorded} for test-tune in staging, not "
        f"{model_arn(job)}; it is left as it is"
    ]
    assert project.lock.read_bytes() == before


def test_a_model_arn_the_lock_cannot_hold_is_not_written(project, aws, run):
    job = project.job("test-tune")
    before = project.lock.read_bytes()
    aws.caller()
    aws.job(
        job,
        "Completed",
        outputModelArn="arn:aws:bedrock:us-east-1:111111111111:imported-model/abc123xyz",
    )
    aws.no_job(project.job("test-tune", attempt=2))
    result = status(run, project, "test-tune")
    assert result.code == 2 and len(result.err) == 1
    assert "not a custom model ARN" in result.err[0]
    assert project.lock.read_bytes() == before


def test_status_of_every_job_records_what_completed_and_goes_on(project, aws, run):
    """Every declaration in every environment: one line each, a problem does not stop the
    others, and the completed model is recorded."""
    tune, own = project.job("test-tune"), project.job("test-own-role")
    distil, distil_prod = project.job("test-distil"), project.job("test-distil", "prod")
    one = project.job("test-distil-one")
    # Files order: test-tune, test-own-role, test-distil (staging, prod), test-distil-one.
    aws.caller()
    aws.job(tune, "Completed", outputModelArn=model_arn(tune))
    aws.no_job(project.job("test-tune", attempt=2))
    aws.caller()
    aws.no_job(own)
    aws.caller()
    aws.job(distil, "InProgress")
    aws.no_job(project.job("test-distil", attempt=2))
    aws.caller("999999999999", region="us-west-2")  # prod: the wrong credentials
    aws.caller()
    aws.stub("bedrock").add_client_error(
        "get_model_customization_job",
        service_error_code="AccessDeniedException",
        service_message="not allowed",
        http_status_code=403,
        expected_params={"jobIdentifier": one},
    )
    result = status(run, project)
    assert result.code == 2
    assert result.out == [
        f"staging: test-tune: {tune} Completed -> {model_arn(tune)}",
        "staging: test-own-role: not submitted; customize start test-own-role --environment "
        "staging",
        f"staging: test-distil: {distil} InProgress",
        "lifecycle.lock: recorded test-tune in staging",
    ]
    assert len(result.err) == 2
    assert result.err[0] == (
        "prod: test-distil: the credentials are of account 999999999999, environment prod is "
        "222222222222; use credentials of 222222222222"
    )
    assert result.err[1].startswith("staging: test-distil-one: AWS: ")
    assert "AccessDeniedException" in result.err[1]
    assert project.lock_json()["custom_models"]["test-tune"]["models"] == {
        "staging": model_arn(tune)
    }
    assert distil_prod not in "".join(result.out)
