"""What the person running ``customize`` must fix: one line on stderr, exit 2, nothing
asked of AWS that need not be, the lock as it was."""

from __future__ import annotations

import json

import pytest

from bedrock_lifecycle.config import load_lifecycle
from bedrock_lifecycle.config.lockfile import updated_lock

from .conftest import LIFECYCLE, PROD, STAGING

START = ("customize", "start")
STATUS = ("customize", "status")


def one_problem(result, startswith: str = "customize: ") -> str:
    assert result.code == 2, result
    assert result.out == []
    assert len(result.err) == 1, result.err
    assert result.err[0].startswith(startswith), result.err
    return str(result.err[0])


@pytest.mark.parametrize(
    "argv",
    [
        (*START, "test-tune"),
        (*START, "test-distil", "--environment", "prod"),
        STATUS,  # five jobs in two environments: still said once
        (*STATUS, "test-distil"),
    ],
)
def test_no_credentials_is_one_line_and_the_lock_unchanged(project, aws, run, argv):
    aws.credentials = False
    before = project.lock.read_bytes()
    line = one_problem(run(*argv, "--file", str(project.file)))
    assert line == (
        "customize: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or log in "
        "with `aws sso login`); nothing was asked of AWS"
    )
    assert project.lock.read_bytes() == before
    assert not aws.stubs  # no client was even made


def test_credentials_of_another_account_are_one_line(project, aws, run):
    aws.caller(PROD)  # prod's credentials, staging's job
    before = project.lock.read_bytes()
    line = one_problem(run(*START, "test-tune", "--file", str(project.file)))
    assert line == (
        f"customize: the credentials are of account {PROD}, environment staging is {STAGING}; "
        f"use credentials of {STAGING}"
    )
    aws.caller(PROD)
    result = run(*STATUS, "test-tune", "--file", str(project.file))
    one_problem(result, startswith=f"staging: test-tune: the credentials are of account {PROD}")
    assert project.lock.read_bytes() == before


def test_an_expired_token_is_one_line(project, aws, run):
    aws.stub("sts").add_client_error(
        "get_caller_identity",
        service_error_code="ExpiredToken",
        service_message="The security token included in the request is expired",
        http_status_code=403,
    )
    line = one_problem(run(*START, "test-tune", "--file", str(project.file)))
    assert line == (
        "customize: AWS refused: ExpiredToken: The security token included in the request "
        "is expired"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            (*START, "no-such-model"),
            "customize: custom_models.no-such-model: not a declared customization (declared: "
            "test-distil, test-distil-one, test-own-role, test-tune)",
        ),
        (
            (*START, "test-tune", "--environment", "qa"),
            "customize: custom_models.test-tune.customization.environments: qa is not one of "
            "staging",
        ),
        (
            (*START, "test-tune", "--environment", "prod"),  # declared, but not the job's
            "customize: custom_models.test-tune.customization.environments: prod is not one of "
            "staging",
        ),
        (
            (*START, "test-distil"),
            "customize: custom_models.test-distil: runs in staging, prod; name one with "
            "--environment",
        ),
        (
            (*STATUS, "no-such-model"),
            "customize: no declared customization matches no-such-model in any environment",
        ),
        (
            (*STATUS, "test-tune", "--environment", "qa"),
            "customize: no declared customization matches test-tune in qa",
        ),
        (
            (*STATUS, "--environment", "dev"),
            "customize: no declared customization matches any name in dev",
        ),
    ],
)
def test_an_unknown_name_or_environment_is_one_line(project, aws, run, argv, message):
    assert one_problem(run(*argv, "--file", str(project.file))) == message
    assert aws.regions == []  # refused before any session


def test_a_declaration_changed_since_locked_is_refused(project, aws, run):
    project.file.write_text(
        project.file.read_text().replace('epochCount: "2"', 'epochCount: "3"'), encoding="utf-8"
    )
    for command in (START, STATUS):
        line = one_problem(
            run(*command, "test-tune", "--file", str(project.file)),
            startswith="customize: " if command == START else "staging: test-tune: ",
        )
        assert line.endswith(
            "custom_models.test-tune: the lock does not record this declaration; run "
            "`bedrock-lifecycle lock` and commit it first, so that the job matches a reviewed "
            "declaration"
        )
    assert aws.regions == []


def test_without_a_lock_nothing_is_submitted(project, aws, run):
    project.lock.unlink()
    line = one_problem(run(*START, "test-tune", "--file", str(project.file)))
    assert "the lock does not record this declaration" in line
    assert not project.lock.exists()


def test_a_malformed_lock_is_one_line(project, aws, run):
    data = project.lock_json()
    data["custom_models"]["test-tune"]["models"] = {"staging": "not an arn"}
    project.lock.write_text(json.dumps(data), encoding="utf-8")
    for command in (START, STATUS):
        line = one_problem(run(*command, "test-tune", "--file", str(project.file)))
        assert line.startswith(f"customize: {project.lock}: ")
        assert '"custom_models" must map a name to' in line


def test_a_missing_file_is_refused_without_a_traceback(tmp_path, aws, run):
    result = run(*START, "test-tune", "--file", str(tmp_path / "nowhere.yaml"))
    assert result.code == 2 and result.out == [] and result.err, result
    assert aws.regions == []


def test_an_environment_without_a_region_needs_one_from_the_session(tmp_path, aws, run):
    text = LIFECYCLE.replace("      environments: [staging]\n", "      environments: [dev]\n", 1)
    file = tmp_path / "lifecycle.yaml"
    file.write_text(text, encoding="utf-8")
    lock, _ = updated_lock(load_lifecycle(file, check_lock_file=False).file, None)
    file.with_suffix(".lock").write_text(lock.render(), encoding="utf-8")
    line = one_problem(run(*START, "test-tune", "--file", str(file)))
    assert line == (
        "customize: environment dev declares no region and the session has none; set AWS_REGION"
    )
    assert aws.regions == [None]


@pytest.mark.parametrize("attempt", ["0", "21", "two", "-1"])
def test_an_attempt_out_of_range_is_refused_by_the_parser(project, aws, run, attempt, capsys):
    with pytest.raises(SystemExit) as exc:
        run(*START, "test-tune", "--attempt", attempt, "--file", str(project.file))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --attempt" in err.splitlines()[-1] and "Traceback" not in err


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """The real boto3 session with nothing to find: no keys, files or instance metadata."""
    empty = tmp_path_factory.mktemp("no-aws")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    for key in ("AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.mark.parametrize("argv", [(*START, "test-tune"), STATUS])
def test_the_real_session_without_credentials_is_one_line(project, run, no_aws_config, argv):
    before = project.lock.read_bytes()
    line = one_problem(run(*argv, "--file", str(project.file)))
    assert line.startswith("customize: no AWS credentials found")
    assert project.lock.read_bytes() == before


@pytest.mark.parametrize("argv", [(*START, "test-tune"), STATUS])
def test_a_profile_not_configured_is_one_line(project, run, no_aws_config, argv):
    no_aws_config.setenv("AWS_PROFILE", "nowhere")
    line = one_problem(run(*argv, "--file", str(project.file)))
    assert line == (
        "customize: The config profile (nowhere) could not be found; set AWS_PROFILE to a "
        "configured profile or unset it"
    )
