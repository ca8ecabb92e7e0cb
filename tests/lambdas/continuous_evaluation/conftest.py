"""The continuous evaluator of the ``continuous_evaluation`` asset, and the Bedrock stand-in."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.support.bedrock_standin import bedrock_standin  # noqa: F401 (fixture)
from tests.support.lambda_assets import load_asset_module


@pytest.fixture(scope="session")
def evaluator() -> ModuleType:
    """``lambdas/continuous_evaluation/app.py``."""
    return load_asset_module("continuous_evaluation")
