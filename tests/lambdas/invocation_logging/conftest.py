"""Load the invocation logging handler (its asset root is zipped alone)."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.support.lambda_assets import load_asset_module, stubbed_clients


@pytest.fixture(scope="session")
def logging_app() -> ModuleType:
    return load_asset_module("invocation_logging")


@pytest.fixture
def bedrock():
    """A real botocore ``bedrock`` client behind a Stubber: wrong wire names fail."""
    with stubbed_clients("bedrock") as [(client, stub)]:
        yield client, stub
