"""Load the invocation logging handler (its asset root is zipped alone)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from botocore.stub import Stubber

ASSET = Path(__file__).resolve().parents[3] / "bedrock_lifecycle/lambdas/invocation_logging"


@pytest.fixture(scope="session")
def logging_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("invocation_logging_app", ASSET / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["invocation_logging_app"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bedrock():
    """A real botocore ``bedrock`` client behind a Stubber: wrong wire names fail."""
    client = boto3.client(
        "bedrock", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()
