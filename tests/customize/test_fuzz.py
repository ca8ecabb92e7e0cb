"""Any name, environment and attempt: ``customize`` exits 0 or 2 with one-line messages,
never a traceback and never an internal error, and leaves the lock as it was."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_lifecycle.cli import main
from bedrock_lifecycle.customize import cli as customize_cli

from .conftest import LIFECYCLE, Aws

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

DECLARED = ["test-tune", "test-own-role", "test-distil", "test-distil-one", "summarizer"]
ENVIRONMENTS = ["dev", "staging", "prod", "qa"]
# Names as a person types them, and what no person does: controls, separators, quotes.
texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=40
)
names = st.one_of(st.sampled_from(DECLARED), texts)
environments = st.one_of(st.none(), st.sampled_from(ENVIRONMENTS), texts)
attempts = st.one_of(st.none(), st.integers(-2, 25).map(str), texts)


@pytest.fixture(scope="module")
def fuzzed_project(tmp_path_factory: pytest.TempPathFactory, locked_text: str) -> Path:
    file = tmp_path_factory.mktemp("fuzz") / "lifecycle.yaml"
    file.write_text(LIFECYCLE, encoding="utf-8")
    file.with_suffix(".lock").write_text(locked_text, encoding="utf-8")
    return file


def invoke(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage and one error line
            assert exc.code == 2, (argv, err.getvalue())
            assert "Traceback" not in err.getvalue()
            return -2, out.getvalue(), err.getvalue()
    return code, out.getvalue(), err.getvalue()


@FUZZ
@given(
    command=st.sampled_from(["start", "status"]),
    name=st.one_of(st.none(), names),
    environment=environments,
    attempt=attempts,
    no_record=st.booleans(),
    credentials=st.booleans(),
)
def test_any_arguments_exit_0_or_2_in_one_line_each(
    fuzzed_project, monkeypatch, command, name, environment, attempt, no_record, credentials
):
    # Credentials of an account no environment has, or none: never a job submitted.
    stand_in = Aws(credentials=credentials)
    monkeypatch.setattr(customize_cli, "_session", stand_in)
    for region in ("us-east-1", "us-west-2"):
        for _ in range(5):  # status asks at most once per job
            stand_in.caller("999999999999", region)
    before = fuzzed_project.with_suffix(".lock").read_bytes()

    argv = ["customize", command]
    if name is not None:
        argv.append(name)
    if environment is not None:
        argv.append(f"--environment={environment}")
    if command == "start" and attempt is not None:
        argv.append(f"--attempt={attempt}")
    if command == "status" and no_record:
        argv.append("--no-record")
    argv += ["--file", str(fuzzed_project)]

    code, out, err = invoke(argv)
    assert fuzzed_project.with_suffix(".lock").read_bytes() == before
    assert "Traceback" not in out + err and "internal error" not in err, (argv, err)
    if code == -2:
        return
    assert code in (0, 2), (argv, code, err)
    assert code == 2 and out == ""  # nobody's credentials fit: nothing to show or submit
    lines = err.splitlines()
    assert lines and all(line.strip() for line in lines), (argv, err)
    if command == "start" or stand_in.credentials is False:
        assert len(lines) == 1, (argv, lines)
    else:  # one line per job it could not ask about
        assert len(lines) <= 5, (argv, lines)
