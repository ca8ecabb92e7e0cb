"""Hostile files: every command answers each in lines and exit 2, never a traceback,
never half a write; the loader's bounds hold; what synth refuses, validate refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_lifecycle import app as app_module
from bedrock_lifecycle.cli import main
from bedrock_lifecycle.config.lockfile import updated_lock
from bedrock_lifecycle.config.problems import MAX_PRINTED_PROBLEMS
from bedrock_lifecycle.config.schema import LifecycleFile
from bedrock_lifecycle.config.yaml_loader import MAX_DEPTH, MAX_FILE_BYTES
from bedrock_lifecycle.formats import MAX_JSON_DEPTH
from tests.conftest import ROOT, cdk_context
from tests.support.lifecycle_files import MINIMAL

BAD = Path(__file__).parent / "bad"
BAD_FILES = sorted(p.name for p in BAD.glob("*.yaml"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A copy of tests/config/bad (links kept as links): `lock` may write beside a file."""
    folder = tmp_path_factory.mktemp("bad") / "bad"
    shutil.copytree(BAD, folder, symlinks=True)
    return folder


def _assert_answered(code: int, err: str, label: str, allowed: tuple[int, ...] = (2,)) -> None:
    assert code in allowed, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) <= MAX_PRINTED_PROBLEMS + 1
    if code == 2:
        assert lines, "a refusal says why"
        assert all(line.startswith(label) for line in lines), lines


def _synth(path: Path, outdir: Path) -> int:
    """``cdk synth`` of ``path`` as app.py runs it, in-process; the exit code."""
    app = cdk.App(outdir=str(outdir), context={**cdk_context(), "lifecycle": str(path)})
    try:
        app_module.main(app)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.parametrize("name", BAD_FILES)
def test_every_command_answers_every_bad_file(name, corpus, tmp_path, capsys):
    path = corpus / name
    lock = path.with_suffix(".lock")
    lock_before = lock.read_bytes() if lock.is_file() else None

    assert main(["validate", str(path)]) == 2
    _assert_answered(2, capsys.readouterr().err, str(path.parent))

    for command in (["lock", str(path)], ["plan", str(path), "--base", str(path)]):
        code = main(command)
        # `lock` records a version that is only new (and `plan` then reads the file).
        _assert_answered(code, capsys.readouterr().err, str(path.parent), allowed=(0, 2))

    if lock_before is not None and not name.startswith("unlocked-"):
        assert lock.read_bytes() == lock_before, "lock rewrote a lock it refused"

    outdir = tmp_path / "cdk.out"
    code = _synth(path, outdir)
    _assert_answered(code, capsys.readouterr().err, str(path.parent), allowed=(0, 2))
    if code == 2:
        assert not outdir.exists() or not any(outdir.iterdir()), "synth left files behind"


def test_schema_command_needs_no_file(capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"]


def _write(folder: Path, text: str, lock: bytes | str | None = None) -> Path:
    path = folder / "lifecycle.yaml"
    path.write_text(text, encoding="utf-8")
    if isinstance(lock, str):
        path.with_suffix(".lock").write_text(lock, encoding="utf-8")
    elif isinstance(lock, bytes):
        path.with_suffix(".lock").write_bytes(lock)
    return path


def _locked(folder: Path, text: str) -> Path:
    path = _write(folder, text)
    lock, _ = updated_lock(LifecycleFile.model_validate(yaml.safe_load(text)), None)
    path.with_suffix(".lock").write_text(lock.render(), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("lock", "message"),
    [
        ("[" * 10_000 + "]" * 10_000, f"not valid here: JSON nested deeper than {MAX_JSON_DEPTH}"),
        ('{"format": 1, "versions": {"a/b": ' + "9" * 5000 + "}}", "more than 4,300 digits"),
        (b"\xff\xfe\x00", "is not UTF-8 text"),
        ("", "not valid JSON"),
        ("[]", 'expected a JSON object with "format": 1'),
    ],
    ids=["deep", "huge-number", "binary", "empty", "array"],
)
def test_a_hostile_lock_is_one_line(tmp_path, capsys, lock, message):
    path = _write(tmp_path, MINIMAL, lock)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"{path.with_suffix('.lock')}: {err.split(': ', 1)[1].strip()}"]
    assert message in err


def test_a_lock_that_is_a_folder(tmp_path, capsys):
    path = _write(tmp_path, MINIMAL)
    path.with_suffix(".lock").mkdir()
    for command in ("validate", "lock"):
        assert main([command, str(path)]) == 2
        assert capsys.readouterr().err.splitlines() == [
            f"{path.with_suffix('.lock')}: is a directory, expected a JSON lock file"
        ]


def test_a_file_past_the_size_cap_is_refused_unread(tmp_path, capsys):
    path = _write(tmp_path, MINIMAL + "#" * MAX_FILE_BYTES)
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: is larger than {MAX_FILE_BYTES:,} bytes, the most accepted"
    ]


def test_a_file_at_the_size_cap_is_read(tmp_path, capsys):
    padding = MAX_FILE_BYTES - len(MINIMAL.encode()) - 1
    path = _write(tmp_path, MINIMAL + "#" * padding + "\n")
    assert path.stat().st_size == MAX_FILE_BYTES
    main(["validate", str(path)])
    assert "larger than" not in capsys.readouterr().err


def test_problems_past_the_cap_are_counted(tmp_path, capsys):
    aliases = "\n".join(f"      a{i}: {{version: v9}}" for i in range(200))
    path = _write(tmp_path, MINIMAL.replace("      live: {version: v1}", aliases))
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == MAX_PRINTED_PROBLEMS + 1
    # 200 aliases on an undeclared version, and v1 then retired by nobody: at least 200.
    more = int(lines[-1].removeprefix(f"{path}: ... and ").removesuffix(" more problems"))
    assert more >= 200 - MAX_PRINTED_PROBLEMS


def test_depth_at_the_cap_is_read_one_past_is_refused(tmp_path, capsys):
    # The document itself is one level; MAX_DEPTH - 1 more lists reach the cap.
    at_cap = MINIMAL + "x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    main(["validate", str(_write(tmp_path, at_cap))])
    assert "nests deeper" not in capsys.readouterr().err
    over = MINIMAL + "x: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    assert main(["validate", str(_write(tmp_path, over))]) == 2
    assert f"nests deeper than {MAX_DEPTH} levels" in capsys.readouterr().err


# -- what only a construct can tell: validate's dry build ------------------------------------

LONG_PROMPT = MINIMAL.replace(
    "        target: {foundation_model: anthropic.claude-3-haiku-20240307-v1:0}\n",
    "        target: {foundation_model: anthropic.claude-3-haiku-20240307-v1:0}\n"
    f"        system_prompt: '{'Summarize. ' * 400}'\n",
)


def test_validate_refuses_what_only_a_construct_refuses_and_synth_says_the_same(tmp_path, capsys):
    # A 4,400-character system prompt passes the schema (20,000 allowed) but not the
    # router's 4 KB Lambda environment: ModelAlias refuses it, so validate and lock do.
    path = _locked(tmp_path, LONG_PROMPT)
    lock_before = path.with_suffix(".lock").read_text()
    for command in ("validate", "lock"):
        assert main([command, str(path)]) == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"{path}: environments.dev: synth would refuse: ")
        assert "router configuration" in line and "shorten the system prompt" in line
    assert path.with_suffix(".lock").read_text() == lock_before
    outdir = tmp_path / "cdk.out"
    assert _synth(path, outdir) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{path}: synth refuses: ") and "router configuration" in line
    assert not outdir.exists() or not any(outdir.iterdir()), "synth left files behind"


# -- fuzz: hostile YAML text ------------------------------------------------------------------

anchors = st.integers(min_value=1, max_value=12).map(
    lambda n: "\n".join(
        [f"a0: &a0 [{', '.join(['x'] * 10)}]"]
        + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, n)]
    )
)
nesting = st.integers(min_value=1, max_value=3000).map(lambda d: "n: " + "[" * d + "]" * d)
block_nesting = st.integers(min_value=1, max_value=80).map(
    lambda d: "\n".join(f"{'  ' * i}k{i}:" for i in range(d)) + " 1"
)
numbers = st.integers(min_value=1, max_value=6000).map(lambda n: f"big: 1{'0' * n}")
dates = st.tuples(st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99)).map(
    lambda t: f"d: {t[0]:04d}-{t[1]:02d}-{t[2]:02d}"
)
keys = st.sampled_from(["yes", "no", "on", "off", "~", "null", "true", "0x1F", "1e3", "010"]).map(
    lambda k: f"{k}: 1"
)
merges = st.sampled_from(
    ["m: &m {k: 1, <<: *m}", "m: &m [*m]", "m: &m {a: {<<: *m}}", "m: {<<: [*nope]}"]
)
hostile_lines = st.lists(
    st.one_of(anchors, nesting, block_nesting, numbers, dates, keys, merges), min_size=1, max_size=4
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=hostile_lines, where=st.sampled_from(["top", "environment", "alias"]))
def test_hostile_yaml_is_always_answered(lines, where, tmp_path_factory, capsys):
    block = "\n".join(lines)
    if where == "top":
        text = MINIMAL + block + "\n"
    else:
        indent = "    " if where == "environment" else "        "
        nested = "\n".join(indent + line for line in block.splitlines())
        anchor = "  dev:\n" if where == "environment" else "      live:\n        version: v1\n"
        text = (
            MINIMAL.replace("  dev: {}\n", anchor + nested + "\n")
            if where == "environment"
            else MINIMAL.replace("      live: {version: v1}\n", anchor + nested + "\n")
        )
    path = tmp_path_factory.mktemp("hostile") / "lifecycle.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path), "--no-lock"])
    _assert_answered(code, capsys.readouterr().err, str(path), allowed=(0, 2))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lock=st.one_of(st.text(max_size=200), st.binary(max_size=200), nesting.map(lambda t: t[3:])))
def test_any_lock_is_answered(lock, tmp_path_factory, capsys):
    path = _write(tmp_path_factory.mktemp("lock"), MINIMAL, lock)
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    _assert_answered(code, err, str(path.parent), allowed=(2,))
    assert len(err.splitlines()) == 1


def test_the_shipped_file_still_validates(capsys):
    assert main(["validate", str(ROOT / "lifecycle.yaml"), "--today", "2026-11-26"]) == 0


def test_a_stack_over_cloudformations_resource_limit_is_refused_by_validate(
    tmp_path, capsys, monkeypatch
):
    # The real limit (500) takes dozens of aliases to reach; the check is the same code.
    from bedrock_lifecycle.stacks import limits

    monkeypatch.setattr(limits, "MAX_STACK_RESOURCES", 20)
    path = _locked(tmp_path, MINIMAL.replace("summarizer", "limits"))
    assert main(["validate", str(path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{path}: environments.dev: stack BedrockLifecycle-dev: ")
    assert "resources, more than the 20 CloudFormation allows per stack; " in line


def test_a_fifo_is_refused_not_waited_on(tmp_path, capsys):
    import os

    fifo = tmp_path / "lifecycle.yaml"
    os.mkfifo(fifo)
    assert main(["validate", str(fifo)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{fifo}: is not a regular file (a pipe, socket or device), expected a YAML file"
    ]
    folder = tmp_path / "with-a-fifo-lock"
    folder.mkdir()
    lock_beside = _write(folder, MINIMAL)
    os.mkfifo(lock_beside.with_suffix(".lock"))
    assert main(["validate", str(lock_beside)]) == 2
    assert "is not a regular file" in capsys.readouterr().err


def test_a_failed_gate_at_synth_is_one_line_and_keeps_its_report(tmp_path, capsys, monkeypatch):
    # What CDK does when a policy-validation plugin (cdk-nag) refuses: it writes the
    # report, prints it, and raises. The report stays; the rest of that synth goes.
    outdir = tmp_path / "cdk.out"
    path = _locked(tmp_path, MINIMAL)

    def refusing(config, *, app):
        (outdir / "validation-report.json").write_text("{}")
        (outdir / "half-written.template.json").write_text("{")
        raise RuntimeError("Validation failed\nsee the report above")

    monkeypatch.setattr(app_module, "build_app", refusing)
    outdir.mkdir()
    assert _synth(path, outdir) == 2
    assert capsys.readouterr().err.splitlines() == [f"{path}: synth refuses: Validation failed"]
    assert sorted(p.name for p in outdir.iterdir()) == ["validation-report.json"]
