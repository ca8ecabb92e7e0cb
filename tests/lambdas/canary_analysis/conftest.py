"""Load the canary analysis code (its asset root is zipped alone, so it imports ``hook``)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ASSET = Path(__file__).resolve().parents[3] / "bedrock_lifecycle/lambdas/canary_analysis"


def load_asset_module(asset: Path, module: str, unique_name: str) -> ModuleType:
    """Import ``asset/module.py`` under ``unique_name`` with the asset root on sys.path."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    saved_hook = sys.modules.pop("hook", None)
    sys.path.insert(0, str(asset))
    try:
        spec = importlib.util.spec_from_file_location(unique_name, asset / f"{module}.py")
        assert spec is not None and spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[unique_name] = loaded
        spec.loader.exec_module(loaded)
        return loaded
    finally:
        sys.path.remove(str(asset))
        sys.modules.pop("hook", None)
        if saved_hook is not None:
            sys.modules["hook"] = saved_hook


@pytest.fixture(scope="session")
def analysis() -> ModuleType:
    return load_asset_module(ASSET, "app", "canary_analysis_app")
