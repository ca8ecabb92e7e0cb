"""The shipped lifecycle file in a temporary folder, and AWS behind botocore's Stubber
for ``history`` and ``audit`` (through the ``new_session`` seam of the operate CLI)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle.cli import main
from bedrock_lifecycle.names import audit_parameter_name, manifest_parameter_name
from bedrock_lifecycle.operate import cli as operate_cli

from ..support.bedrock_standin import bedrock_standin  # noqa: F401 (fixture)
from ..support.stubbed_aws import StubbedAws

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "acme-genai"
STAGING = "111111111111"
REGION = "us-east-1"
MANIFEST = manifest_parameter_name(PROJECT, "staging")
AUDIT = audit_parameter_name(PROJECT, "staging")
LOG_GROUP = "BedrockLifecycle-staging-AuditLogGroup4CD660E1-x1Y2z3"
BUCKET = "bedrocklifecycle-staging-audit60ac924e-abc123"


def manifest(**aliases: str) -> str:
    """The manifest the stack writes: ``summarizer_live="v3@..."`` -> its JSON."""
    return json.dumps(
        {
            name.replace("_", "/", 1).replace("_", "-"): {
                "version_id": version,
                "model_arn": f"arn:aws:bedrock:{REGION}::foundation-model/m-{version[:2]}",
                "state": "active",
            }
            for name, version in aliases.items()
        },
        sort_keys=True,
    )


@dataclass
class Aws(StubbedAws):
    """Stubbed SSM, STS and CloudWatch Logs with the responses of these tests."""

    def caller(self, account: str = STAGING) -> None:
        self.stub("sts", REGION).add_response(
            "get_caller_identity",
            {
                "UserId": "AROASTUBBED:oncall",
                "Account": account,
                "Arn": f"arn:aws:sts::{account}:assumed-role/OnCall/oncall",
            },
            {},
        )

    def history_page(
        self,
        versions: list[tuple[int, dt.datetime, str]],
        *,
        name: str = MANIFEST,
        token: str | None = None,
        next_token: str | None = None,
    ) -> None:
        expected: dict[str, Any] = {"Name": name, "MaxResults": 50}
        if token:
            expected["NextToken"] = token
        response: dict[str, Any] = {
            "Parameters": [
                {
                    "Name": name,
                    "Type": "String",
                    "Value": value,
                    "Version": number,
                    "LastModifiedDate": when,
                    "LastModifiedUser": "arn:aws:sts::111111111111:assumed-role/cdk-exec/cfn",
                    "Tier": "Standard",
                }
                for number, when, value in versions
            ]
        }
        if next_token:
            response["NextToken"] = next_token
        self.stub("ssm", REGION).add_response("get_parameter_history", response, expected)

    def no_parameter(self, operation: str, name: str, **extra: Any) -> None:
        self.stub("ssm", REGION).add_client_error(
            operation,
            service_error_code="ParameterNotFound",
            http_status_code=400,
            expected_params={"Name": name, **extra},
        )

    def trail(self, value: dict[str, Any] | str | None = None) -> None:
        if value is None:
            value = {
                "log_group": LOG_GROUP,
                "bucket": BUCKET,
                "invocation_log_prefix": "invocation-logs",
            }
        self.stub("ssm", REGION).add_response(
            "get_parameter",
            {
                "Parameter": {
                    "Name": AUDIT,
                    "Type": "String",
                    "Value": value if isinstance(value, str) else json.dumps(value),
                    "Version": 1,
                }
            },
            {"Name": AUDIT},
        )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The shipped lifecycle.yaml, lifecycle.lock and golden prompts, copied."""
    for name in ("lifecycle.yaml", "lifecycle.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "evals", tmp_path / "evals")
    return tmp_path / "lifecycle.yaml"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """The AWS the commands see; every queued response must have been asked for."""
    stand_in = Aws()
    monkeypatch.setattr(operate_cli, "new_session", stand_in)
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
