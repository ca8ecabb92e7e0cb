"""The corpus of invalid lifecycle files: each prints exactly its one problem line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bedrock_lifecycle.cli import main

BAD = Path(__file__).parent / "bad"
BAD_FILES = sorted(BAD.glob("*.yaml"))


def expected_line(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: '"
    return f"{path}: {first.removeprefix('# expect: ')}"


def test_corpus_is_large_enough():
    assert len(BAD_FILES) >= 25


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_bad_file_prints_its_one_line_and_exits_2(path: Path, capsys):
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines() == [expected_line(path)]
    assert out == ""


@pytest.mark.parametrize(
    "name",
    [
        "not-yaml",
        "duplicate-key",
        "unknown-key-did-you-mean",
        "empty",
        "alias-on-retired-version",
        "deprecated-past-sunset",
    ],
)
def test_console_script_never_prints_a_traceback(name: str):
    path = BAD / f"{name}.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "bedrock_lifecycle.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [expected_line(path)]


def test_missing_file(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert main(["validate", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"{missing}: no such file"


def test_directory_instead_of_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path}: is a directory, expected a YAML file"


def test_binary_file(tmp_path, capsys):
    path = tmp_path / "lifecycle.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.strip() == f"{path}: is not UTF-8 text"


def test_every_problem_is_reported_not_just_the_first(tmp_path, capsys):
    path = tmp_path / "lifecycle.yaml"
    path.write_text(
        "schema_version: 1\n"
        "environments:\n  dev: {rollout: {strategy: canary, percent: 0, interval_minutes: 0}}\n"
        "families:\n  s:\n    versions:\n      v1:\n        target: {}\n"
        "    aliases:\n      live: {version: v1}\n"
    )
    assert main(["validate", str(path), "--no-lock"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: environments.dev.rollout.percent: 0: input should be greater than or equal to 1",
        f"{path}: environments.dev.rollout.interval_minutes: 0: input should be greater than or "
        "equal to 1",
        f"{path}: families.s.versions.v1.target: exactly one of foundation_model, "
        "inference_profile, application_inference_profile, provisioned_throughput, "
        "custom_model_deployment, custom_model must be set, got none",
    ]
