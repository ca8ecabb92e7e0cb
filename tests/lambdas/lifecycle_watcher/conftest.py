"""Load the lifecycle watcher's Lambda code (its asset root is zipped alone)."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.support.lambda_assets import load_asset_module, stubbed_clients


@pytest.fixture(scope="session")
def watcher() -> ModuleType:
    return load_asset_module("lifecycle_watcher")


@pytest.fixture
def clients():
    """Real botocore bedrock and cloudwatch clients behind Stubbers."""
    with stubbed_clients("bedrock", "cloudwatch") as [(bedrock, bstub), (cloudwatch, cstub)]:
        yield bedrock, bstub, cloudwatch, cstub
