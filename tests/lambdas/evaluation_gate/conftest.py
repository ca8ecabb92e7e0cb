"""Load the two hooks of the ``evaluation_gate`` asset (zipped alone, so they import ``hook``)."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.support.lambda_assets import load_asset_module


@pytest.fixture(scope="session")
def gate() -> ModuleType:
    """The BeforeAllowTraffic evaluation gate (``app.handler``)."""
    return load_asset_module("evaluation_gate")


@pytest.fixture(scope="session")
def analysis() -> ModuleType:
    """The AfterAllowTraffic canary analysis (``canary_analysis.handler``)."""
    return load_asset_module("evaluation_gate", "canary_analysis")
