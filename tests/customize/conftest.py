"""A lifecycle file of our own with declared customizations, its lock (written by the
project's own lock function), and AWS behind botocore's Stubber.

Real botocore clients (``bedrock``, ``ssm``, ``sts``) answer from queued responses and
check every call's parameters exactly; the command gets them through the ``_session``
seam of :mod:`bedrock_lifecycle.customize.cli`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle.cli import main
from bedrock_lifecycle.config import load_lifecycle
from bedrock_lifecycle.config.lockfile import updated_lock
from bedrock_lifecycle.customize import cli as customize_cli
from bedrock_lifecycle.names import customization_parameter_name

from ..support.stubbed_aws import StubbedAws

PROJECT = "acme-genai"
STAGING, PROD = "111111111111", "222222222222"
REGIONS = {"staging": "us-east-1", "prod": "us-west-2"}
ACCOUNTS = {"staging": STAGING, "prod": PROD}
BUCKET = f"s3://acme-training-{STAGING}"
KMS_KEY = f"arn:aws:kms:us-east-1:{STAGING}:key/0123abcd-0123-4567-89ab-0123456789ab"
STACK_ROLE = f"arn:aws:iam::{STAGING}:role/BedrockLifecycle-staging-CustomizationsRole"
OWN_ROLE = f"arn:aws:iam::{STAGING}:role/team-owned-customization-role"
LOGS = f"s3://acme-genai-audit-{STAGING}/AWSLogs/{STAGING}/BedrockModelInvocationLogs/"

# Names of our own: nothing here depends on what the shipped lifecycle.yaml declares.
LIFECYCLE = f"""\
schema_version: 1
project: {PROJECT}
environments:
  dev: {{}}
  staging:
    account: "{STAGING}"
    region: us-east-1
    prompt_logging: true
  prod:
    account: "{PROD}"
    region: us-west-2
    prompt_logging: true
custom_models:
  test-tune:
    description: Nova Lite tuned on our own records (not content)
    customization:
      base_model: amazon.nova-lite-v1:0
      type: FINE_TUNING
      environments: [staging]
      training_data:
        s3_uri: {BUCKET}/tune/train.jsonl
      validation_data:
        - {BUCKET}/tune/validation.jsonl
        - {BUCKET}/tune/holdout/
      output_uri: {BUCKET}/tune/output/
      hyperparameters:
        epochCount: "2"
        learningRate: "0.00001"
      kms_key: {KMS_KEY}
  test-own-role:
    customization:
      base_model: amazon.nova-lite-v1:0
      environments: [staging]
      training_data:
        s3_uri: {BUCKET}/own/train.jsonl
      output_uri: {BUCKET}/own/output/
      role_arn: {OWN_ROLE}
      network:
        subnet_ids: [subnet-0a1b2c3d4e5f60711, subnet-0a1b2c3d4e5f60722]
        security_group_ids: [sg-0a1b2c3d4e5f60733]
  test-distil:
    customization:
      base_model: amazon.nova-lite-v1:0
      type: DISTILLATION
      teacher_model: us.amazon.nova-pro-v1:0
      max_response_length: 1000
      environments: [staging, prod]
      training_data:
        invocation_logs:
          request_metadata:
            environment: staging
            alias: summarizer/live
      output_uri: {BUCKET}/distil/output/
  test-distil-one:
    customization:
      base_model: amazon.nova-lite-v1:0
      type: DISTILLATION
      teacher_model: amazon.nova-pro-v1:0
      environments: [staging]
      training_data:
        invocation_logs:
          request_metadata:
            version_id: v2@0123456789ab
          use_prompt_response: true
      output_uri: {BUCKET}/distil-one/output/
families:
  summarizer:
    versions:
      v1:
        target: {{foundation_model: amazon.nova-lite-v1:0}}
    aliases:
      live: {{version: v1}}
"""


@pytest.fixture(scope="session")
def locked_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The lock of :data:`LIFECYCLE` as the project's ``updated_lock`` writes it (the
    function behind ``bedrock-lifecycle lock``, without its slow dry build of every stack)."""
    file = tmp_path_factory.mktemp("locking") / "lifecycle.yaml"
    file.write_text(LIFECYCLE, encoding="utf-8")
    config = load_lifecycle(file, check_lock_file=False)
    lock, _ = updated_lock(config.file, None)
    text = lock.render()
    file.with_suffix(".lock").write_text(text, encoding="utf-8")
    load_lifecycle(file)  # the lock is the one validate accepts
    return text


@dataclass
class Project:
    """The lifecycle file and its lock in a temporary folder."""

    file: Path

    @property
    def lock(self) -> Path:
        return self.file.with_suffix(".lock")

    def lock_json(self) -> dict[str, Any]:
        return json.loads(self.lock.read_text(encoding="utf-8"))

    def hash_of(self, name: str) -> str:
        return str(self.lock_json()["custom_models"][name]["hash"])

    def job(self, name: str, environment: str = "staging", attempt: int = 1) -> str:
        """The job name the command must use, computed here from the locked hash:
        ``name-<12 hex of sha256(project|environment|hash)>[-attempt]``."""
        seed = f"{PROJECT}|{environment}|{self.hash_of(name)}"
        digest = hashlib.sha256(seed.encode()).hexdigest()[:12]
        return f"{name}-{digest}" + (f"-{attempt}" if attempt > 1 else "")


@pytest.fixture
def project(tmp_path: Path, locked_text: str) -> Project:
    file = tmp_path / "lifecycle.yaml"
    file.write_text(LIFECYCLE, encoding="utf-8")
    file.with_suffix(".lock").write_text(locked_text, encoding="utf-8")
    return Project(file)


@dataclass
class Aws(StubbedAws):
    """Stubbed clients per (service, region), with the responses of these tests."""

    # -- responses ---------------------------------------------------------------------
    def caller(self, account: str = STAGING, region: str = "us-east-1") -> None:
        self.stub("sts", region).add_response(
            "get_caller_identity",
            {
                "UserId": "AROASTUBBED:someone",
                "Account": account,
                "Arn": f"arn:aws:sts::{account}:assumed-role/Admin/someone",
            },
            {},
        )

    def parameter(self, name: str, value: dict[str, Any], environment: str = "staging") -> None:
        region = REGIONS[environment]
        self.stub("ssm", region).add_response(
            "get_parameter",
            {
                "Parameter": {
                    "Name": customization_parameter_name(PROJECT, environment, name),
                    "Type": "String",
                    "Value": json.dumps(value),
                    "Version": 1,
                }
            },
            {"Name": customization_parameter_name(PROJECT, environment, name)},
        )

    def no_parameter(self, name: str, environment: str = "staging") -> None:
        self.stub("ssm", REGIONS[environment]).add_client_error(
            "get_parameter",
            service_error_code="ParameterNotFound",
            http_status_code=400,
            expected_params={"Name": customization_parameter_name(PROJECT, environment, name)},
        )

    def no_job(self, job: str, region: str = "us-east-1") -> None:
        self.stub("bedrock", region).add_client_error(
            "get_model_customization_job",
            service_error_code="ResourceNotFoundException",
            service_message=f"Job {job} not found",
            http_status_code=404,
            expected_params={"jobIdentifier": job},
        )

    def job(self, job: str, status: str, region: str = "us-east-1", **extra: Any) -> str:
        arn = job_arn(job, region)
        # What Bedrock reports of the job start submitted for that declaration.
        declared = {
            "test-tune": ("FINE_TUNING", "tune/train.jsonl", "tune/output/"),
            "test-own-role": ("FINE_TUNING", "own/train.jsonl", "own/output/"),
            "test-distil": ("DISTILLATION", None, "distil/output/"),
            "test-distil-one": ("DISTILLATION", None, "distil-one/output/"),
        }
        model = re.fullmatch(r"(.+)-[0-9a-f]{12}(-\d+)?", job)
        kind, train, output = declared[model[1]] if model else declared["test-tune"]
        response = {
            "jobArn": arn,
            "jobName": job,
            "outputModelName": job,
            "clientRequestToken": job,
            "roleArn": STACK_ROLE,
            "status": status,
            "creationTime": dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
            "baseModelArn": f"arn:aws:bedrock:{region}::foundation-model/amazon.nova-lite-v1:0",
            "trainingDataConfig": {"s3Uri": f"{BUCKET}/{train}"} if train else {},
            "validationDataConfig": {"validators": []},
            "outputDataConfig": {"s3Uri": f"{BUCKET}/{output}"},
            "customizationType": kind,
            **extra,
        }
        self.stub("bedrock", region).add_response(
            "get_model_customization_job", response, {"jobIdentifier": job}
        )
        return arn

    def create(self, params: dict[str, Any], region: str = "us-east-1") -> str:
        arn = job_arn(params["jobName"], region)
        self.stub("bedrock", region).add_response(
            "create_model_customization_job", {"jobArn": arn}, params
        )
        return arn


def job_arn(job: str, region: str = "us-east-1") -> str:
    account = PROD if region == REGIONS["prod"] else STAGING
    return f"arn:aws:bedrock:{region}:{account}:model-customization-job/amazon.nova-lite-v1:0/{job}"


def model_arn(job: str, region: str = "us-east-1") -> str:
    account = PROD if region == REGIONS["prod"] else STAGING
    return f"arn:aws:bedrock:{region}:{account}:custom-model/amazon.nova-lite-v1:0/{job[-12:]}"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """The AWS the command sees; every queued response must have been asked for."""
    stand_in = Aws()
    monkeypatch.setattr(customize_cli, "_session", stand_in)
    yield stand_in
    stand_in.calls_left()


@dataclass
class Result:
    code: int
    out: list[str]
    err: list[str]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """``bedrock-lifecycle ARGS`` through ``main``: exit code and the lines printed."""

    def go(*argv: str) -> Result:
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return Result(code, out.splitlines(), err.splitlines())

    return go
