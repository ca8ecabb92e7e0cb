"""docs/fine-tuning.md, run: from the declaration of ``summarizer-lite`` to ``summarizer/v3``
in the shipped file, with the real CLI and real botocore HTTP against a stand-in of
Bedrock, SSM and STS on 127.0.0.1. The lock it ends with is the shipped lock."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bedrock_lifecycle.cli import main
from bedrock_lifecycle.names import customization_parameter_name
from tests.conftest import FIXED_TODAY, ROOT
from tests.support.control_plane_standin import control_plane

STAGING = "111111111111"
NAME = "summarizer-lite"


def before_v3(data: dict[str, Any]) -> dict[str, Any]:
    """The shipped file as it was while the job ran: the custom model, no version on it."""
    data = copy.deepcopy(data)
    summarizer = data["families"]["summarizer"]
    del summarizer["versions"]["v3"]
    del summarizer["aliases"]["live"]["environment_versions"]
    return data


def lock_before_v3(lock: dict[str, Any]) -> dict[str, Any]:
    lock = copy.deepcopy(lock)
    del lock["versions"]["summarizer/v3"]
    lock["aliases"]["staging"]["summarizer/live"] = "v2"
    del lock["custom_models"]
    return lock


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with control_plane(STAGING) as plane:
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASTANDIN")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "standin")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
        monkeypatch.setenv("AWS_ENDPOINT_URL", plane.endpoint)
        yield plane


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_from_the_declaration_to_v3_serving_live_in_staging(tmp_path, capsys, aws):
    shipped = yaml.safe_load((ROOT / "lifecycle.yaml").read_text())
    shipped_lock = json.loads((ROOT / "lifecycle.lock").read_text())
    shutil.copytree(ROOT / "evals", tmp_path / "evals")
    file, lock_file = tmp_path / "lifecycle.yaml", tmp_path / "lifecycle.lock"
    file.write_text(yaml.safe_dump(before_v3(shipped), sort_keys=False))
    lock_file.write_text(json.dumps(lock_before_v3(shipped_lock), indent=2) + "\n")
    today = FIXED_TODAY.isoformat()

    # 1. Declare the custom model; lock records its hash.
    code, out, err = run(capsys, "lock", "--today", today, str(file))
    assert code == 0 and out == [f"lifecycle.lock: locked custom model {NAME}"], (out, err)
    locked = json.loads(lock_file.read_text())["custom_models"][NAME]
    assert locked["models"] == {}

    # 2. Before the staging stack is deployed there is no job role to run it with.
    code, out, err = run(capsys, "customize", "start", NAME, "--file", str(file))
    assert code == 2 and len(err) == 1 and "deploy the staging stack" in err[0], err
    assert aws.calls("bedrock") == ["GetModelCustomizationJob"]

    # 3. The deployed stack published its job role; start submits the job, once.
    role = f"arn:aws:iam::{STAGING}:role/BedrockLifecycle-staging-CustomizationsRole"
    aws.parameters[customization_parameter_name("acme-genai", "staging", NAME)] = json.dumps(
        {"role_arn": role}
    )
    code, out, err = run(capsys, "customize", "start", NAME, "--file", str(file))
    assert code == 0, err
    (job,) = aws.jobs
    assert out == [
        f"staging: {NAME}: submitted {job} "
        f"(arn:aws:bedrock:us-east-1:{STAGING}:model-customization-job/{job}), InProgress"
    ]
    submitted = aws.jobs[job]
    assert submitted["roleArn"] == role
    assert submitted["clientRequestToken"] == job
    assert submitted["baseModelIdentifier"] == "amazon.nova-lite-v1:0"
    assert submitted["trainingDataConfig"] == {
        "s3Uri": "s3://acme-genai-training-111111111111/summarizer/train.jsonl"
    }
    code, out, err = run(capsys, "customize", "start", NAME, "--file", str(file))
    assert code == 0 and "already submitted" in out[0], (out, err)
    assert aws.calls("bedrock").count("CreateModelCustomizationJob") == 1

    # 4. status shows the job; once it completes, status records its model in the lock.
    code, out, err = run(capsys, "customize", "status", "--file", str(file))
    assert code == 0 and out == [f"staging: {NAME}: {job} InProgress"], (out, err)
    model_arn = aws.finish(job)
    code, out, err = run(capsys, "customize", "status", "--file", str(file))
    assert code == 0, err
    assert out == [
        f"staging: {NAME}: {job} Completed -> {model_arn}",
        f"lifecycle.lock: recorded {NAME} in staging",
    ]
    assert json.loads(lock_file.read_text())["custom_models"][NAME]["models"] == {
        "staging": model_arn
    }

    # 5. Add summarizer/v3 on it and move staging's live to it; lock; validate.
    file.write_text(yaml.safe_dump(shipped, sort_keys=False))
    code, out, err = run(capsys, "lock", "--today", today, str(file))
    assert code == 0, err
    code, out, err = run(capsys, "validate", "--today", today, str(file))
    assert code == 0, err
    # The shipped lock is the one this walkthrough ends with.
    assert json.loads(lock_file.read_text()) == shipped_lock


def test_a_job_made_first_under_the_declared_name_is_neither_used_nor_recorded(
    tmp_path, capsys, aws
):
    """The job name is predictable: anyone who may create jobs could take it first, with
    other data. start and status find it, refuse it in one line, and record nothing."""
    from bedrock_lifecycle.config import load_lifecycle
    from bedrock_lifecycle.values import job_name

    shutil.copytree(ROOT / "evals", tmp_path / "evals")
    file = tmp_path / "lifecycle.yaml"
    shutil.copy(ROOT / "lifecycle.yaml", file)
    shutil.copy(ROOT / "lifecycle.lock", tmp_path / "lifecycle.lock")
    spec = load_lifecycle(file, check_lock_file=False).file.custom_models[NAME]
    name = job_name("acme-genai", "staging", NAME, spec, 1)
    aws.bedrock(
        "POST",
        "/model-customization-jobs",
        {
            "jobName": name,
            "customModelName": name,
            "clientRequestToken": "insider",
            "roleArn": f"arn:aws:iam::{STAGING}:role/insider",
            "baseModelIdentifier": "amazon.nova-lite-v1:0",
            "customizationType": "FINE_TUNING",
            "trainingDataConfig": {"s3Uri": "s3://insider-bucket/poisoned.jsonl"},
            "outputDataConfig": {"s3Uri": "s3://insider-bucket/out/"},
        },
    )
    aws.finish(name)
    before = (tmp_path / "lifecycle.lock").read_text()
    for argv in (["start", NAME], ["status", NAME]):
        code, out, err = run(capsys, "customize", *argv, "--file", str(file))
        assert code == 2 and len(err) == 1, (out, err)
        assert f"a job named {name} exists that this declaration did not submit" in err[0]
        assert "s3://insider-bucket/poisoned.jsonl" in err[0]
    assert (tmp_path / "lifecycle.lock").read_text() == before
    assert aws.calls("bedrock").count("CreateModelCustomizationJob") == 1  # the insider's


def test_without_the_lock_comparison_the_recorded_models_still_count(capsys):
    """validate --no-lock skips the comparison, not what the lock records of the world:
    the shipped file still builds staging's deployment of summarizer-lite."""
    code, out, err = run(capsys, "validate", "--no-lock", "--today", FIXED_TODAY.isoformat())
    assert code == 0 and out[-1].endswith("valid (3 environments, 11 aliases)"), (out, err)
