"""LifecycleFunction refuses what Lambda would refuse, before it creates anything."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from bedrock_lifecycle.constructs import function as function_module
from bedrock_lifecycle.constructs.function import (
    LAMBDAS_DIR,
    SHARED_DIR,
    LifecycleFunction,
    asset_files,
)
from bedrock_lifecycle.constructs.staging import STAGING_DIR, stage_files

ENV = cdk.Environment(account="111111111111", region="us-east-1")


def new_stack(context: dict | None = None) -> cdk.Stack:
    return cdk.Stack(cdk.App(context=context), "Functions", env=ENV)


def test_unknown_source_is_refused_with_the_known_ones_before_any_resource():
    stack = new_stack()
    with pytest.raises(
        ValueError,
        match=r"source must be a folder of .*\(continuous_evaluation, custom_model_deployment, "
        r"evaluation_gate, "
        r".*router\), got 'routr'",
    ):
        LifecycleFunction(stack, "Fn", source="routr", description="typo")
    assert stack.node.try_find_child("Fn") is None
    assert stack.node.try_find_child("LogsKey") is None


@pytest.mark.parametrize("memory_size", [127, 10241])
def test_memory_size_outside_lambdas_range_is_refused(memory_size):
    stack = new_stack()
    with pytest.raises(
        ValueError, match=rf"memory_size must be between 128 and 10240 MiB, got {memory_size}$"
    ):
        LifecycleFunction(stack, "Fn", source="router", description="x", memory_size=memory_size)
    assert stack.node.try_find_child("Fn") is None


def layers_of(stack: cdk.Stack) -> list:
    LifecycleFunction(stack, "Fn", source="router", description="x")
    (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    return function["Properties"]["Layers"]


@pytest.mark.parametrize("value", [31, "31"])
def test_powertools_layer_version_from_context(value):
    layer = ":lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:31"
    assert layers_of(new_stack({"powertools_layer_version": value})) == [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, layer]]}
    ]


@pytest.mark.parametrize("value", [0, "latest"])
def test_powertools_layer_version_that_is_no_version_is_refused(value):
    with pytest.raises(
        ValueError,
        match=rf"context powertools_layer_version must be a whole number >= 1, got {value!r}$",
    ):
        layers_of(new_stack({"powertools_layer_version": value}))


# -- the staged asset: the function's modules and the shared contract, privately ---------


def test_every_asset_is_staged_with_the_shared_contract_under_the_apps_output(tmp_path):
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Functions", env=ENV)
    LifecycleFunction(stack, "Fn", source="router", description="x")
    staging = tmp_path / "out" / STAGING_DIR
    (folder,) = [p for p in staging.iterdir() if not p.name.startswith(".")]
    assert folder.name.startswith("router-")
    assert (folder / "contract.py").read_bytes() == (SHARED_DIR / "contract.py").read_bytes()
    assert (folder / "app.py").read_bytes() == (LAMBDAS_DIR / "router/app.py").read_bytes()
    assert not (folder / "__init__.py").exists()
    assert staging.stat().st_mode & 0o077 == 0, "the staging folder is the owner's only"
    assembly = app.synth()
    (asset,) = [p for p in Path(assembly.directory).glob("asset.*") if (p / "contract.py").exists()]
    assert sorted(p.name for p in asset.iterdir()) == sorted(p.name for p in folder.iterdir())


def test_a_file_planted_in_the_shared_temp_folder_never_reaches_an_asset(tmp_path):
    planted = Path(tempfile.gettempdir()) / "bedrock-lifecycle-rollout-planted"
    planted.mkdir(exist_ok=True)
    (planted / "evil.py").write_text("raise SystemExit")
    try:
        app = cdk.App(outdir=str(tmp_path / "out"))
        stack = cdk.Stack(app, "Functions", env=ENV)
        LifecycleFunction(stack, "Fn", source="router", description="x")
        assembly = app.synth()
        assert not list(Path(assembly.directory).rglob("evil.py"))
    finally:
        shutil.rmtree(planted)


def test_an_asset_module_may_not_shadow_a_shared_one(tmp_path, monkeypatch):
    assert "contract.py" in asset_files("router")
    (tmp_path / "app.py").write_text("")
    monkeypatch.setattr(function_module, "SHARED_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"^lambdas/router/app.py has the name of the shared"):
        asset_files("router")


def test_staged_files_must_stay_inside_their_folder(tmp_path):
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "S")
    for name in ("../escape.py", "/etc/passwd", ""):
        with pytest.raises(ValueError, match="relative paths inside the folder"):
            stage_files(stack, "x", {name: b""})


@pytest.mark.parametrize("source", sorted(p.name for p in LAMBDAS_DIR.iterdir() if p.is_dir()))
def test_each_staged_asset_imports_on_its_own(source, tmp_path):
    """The asset as Lambda gets it: its files alone, no bedrock_lifecycle to fall back on."""
    files = asset_files(source)
    assert all(name.endswith(".py") for name in files)
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    modules = sorted(Path(name).stem for name in files)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import importlib.util\n"
        "assert importlib.util.find_spec('bedrock_lifecycle') is None, 'the package leaked in'\n"
        "for m in sys.argv[2:]: importlib.import_module(m)\n"
    )
    site = [p for p in sys.path if p.endswith("site-packages")]
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path[:0] = {site!r}\n" + script,
            str(tmp_path),
            *modules,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_an_asset_carries_only_the_shared_modules_it_imports():
    assert "golden.py" not in asset_files("router")
    assert {"contract.py", "golden.py"} <= set(asset_files("evaluation_gate"))
