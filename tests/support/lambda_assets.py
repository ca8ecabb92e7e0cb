"""Import a Lambda asset's module in tests, and stub the boto3 clients it takes.

Each folder under ``bedrock_lifecycle/lambdas`` is zipped alone, with the
shared modules of ``bedrock_lifecycle/shared`` beside its own, and imports them
by their bare names (``from hook import ...``, ``import contract``); several
folders have an ``app.py``. So a module is loaded by path under a unique name, with its
asset root on ``sys.path`` only while it executes, and the sibling modules it
imported leave ``sys.modules`` again, so that another asset's ``hook`` or
``app`` is never picked up by mistake::

    gate = load_asset_module("evaluation_gate")
    analysis = load_asset_module("evaluation_gate", "canary_analysis")
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
from botocore.stub import Stubber

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "bedrock_lifecycle/lambdas"
# Staged beside every asset's modules at synth (bedrock_lifecycle/constructs/function.py).
SHARED_DIR = Path(__file__).resolve().parents[2] / "bedrock_lifecycle/shared"
REGION = "us-east-1"


def asset_root(asset_name: str) -> Path:
    """The folder of one Lambda asset under ``bedrock_lifecycle/lambdas``."""
    root = LAMBDAS_DIR / asset_name
    if not root.is_dir():
        raise ValueError(f"no Lambda asset {asset_name!r} under {LAMBDAS_DIR}")
    return root


def load_asset_module(
    asset_name: str, module: str = "app", unique_name: str | None = None
) -> ModuleType:
    """Import ``lambdas/<asset_name>/<module>.py`` as ``unique_name``, once per session.

    :param asset_name: the asset folder (``router``, ``evaluation_gate``, ...).
    :param module: the module in it. Default: ``app``.
    :param unique_name: its name in ``sys.modules`` (dataclasses and pickling look
        it up there). Default: ``lambda_<asset_name>_<module>``.
    """
    root = asset_root(asset_name)
    path = root / f"{module}.py"
    name = unique_name if unique_name is not None else f"lambda_{asset_name}_{module}"
    loaded = sys.modules.get(name)
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve() != path:
            raise ValueError(f"module name {name!r} is already taken by {loaded!r}")
        return loaded
    # Functions create their boto3 clients at import; botocore needs a region.
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    shared = {p.stem for p in SHARED_DIR.glob("*.py")} - {"__init__"}
    siblings = {p.stem for p in root.glob("*.py")} | shared
    shadowed = {s: sys.modules.pop(s) for s in siblings if s in sys.modules}
    # As the staged asset has them: its own modules, and the shared ones beside them.
    sys.path.insert(0, str(SHARED_DIR))
    sys.path.insert(0, str(root))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        try:
            spec.loader.exec_module(loaded)
        except BaseException:
            del sys.modules[name]
            raise
        return loaded
    finally:
        sys.path.remove(str(root))
        sys.path.remove(str(SHARED_DIR))
        for sibling in siblings:
            sys.modules.pop(sibling, None)
        sys.modules.update(shadowed)


def fake_client(service: str, region: str = REGION) -> Any:
    """A real botocore client with fake credentials: only a Stubber answers it."""
    return boto3.client(
        service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
    )


@contextmanager
def stubbed_clients(*services: str, region: str = REGION) -> Iterator[list[tuple[Any, Stubber]]]:
    """``(client, stubber)`` per service, active in the block; every stubbed response
    must have been used when it ends (``assert_no_pending_responses``)."""
    with ExitStack() as stack:
        pairs = []
        for service in services:
            client = fake_client(service, region)
            pairs.append((client, stack.enter_context(Stubber(client))))
        yield pairs
        for _client, stub in pairs:
            stub.assert_no_pending_responses()
