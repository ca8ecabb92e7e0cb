"""Load the lifecycle watcher's Lambda code (its asset root is zipped alone)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from botocore.stub import Stubber

ASSET = Path(__file__).resolve().parents[3] / "bedrock_lifecycle/lambdas/lifecycle_watcher"


@pytest.fixture(scope="session")
def watcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lifecycle_watcher_app", ASSET / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lifecycle_watcher_app"] = module
    spec.loader.exec_module(module)
    return module


def _client(service: str):
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


@pytest.fixture
def clients():
    """Real botocore bedrock and cloudwatch clients behind Stubbers."""
    bedrock, cloudwatch = _client("bedrock"), _client("cloudwatch")
    with Stubber(bedrock) as bedrock_stub, Stubber(cloudwatch) as cloudwatch_stub:
        yield bedrock, bedrock_stub, cloudwatch, cloudwatch_stub
        bedrock_stub.assert_no_pending_responses()
        cloudwatch_stub.assert_no_pending_responses()
