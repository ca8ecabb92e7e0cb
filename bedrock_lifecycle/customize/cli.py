"""``bedrock-lifecycle customize start | status``: run the declared customization jobs.

``start NAME`` submits the job of custom model ``NAME`` in one environment (its
account and region), once. ``status [NAME]`` shows every declared job and
records the model of each completed one in ``lifecycle.lock``, where versions
that target the custom model find it. Without credentials, or with credentials
of another account than the environment's, each says so in one line (exit 2).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import ConfigError, Lock, load_lifecycle, lock_path_for
from ..config.problems import one_line
from ..values import MAX_ATTEMPTS
from .jobs import (
    CustomizeError,
    JobState,
    NoCredentials,
    latest,
    record,
    site_of,
    sites,
    start,
)

EXIT_OK = 0
EXIT_PROBLEMS = 2


def _session(region: str | None) -> Any:
    """A boto3 session in ``region`` (a seam for tests)."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.session.Session(region_name=region)
    except ProfileNotFound as exc:  # the same for every environment: said once
        raise NoCredentials(f"{exc}; set AWS_PROFILE to a configured profile or unset it") from None


Sessions = Callable[[str | None], Any]


def _fail(message: str) -> int:
    print(one_line(f"customize: {message}"), file=sys.stderr)
    return EXIT_PROBLEMS


def _clients(session: Any, environment: str, account: str | None) -> tuple[Any, Any]:
    """Bedrock and SSM clients of ``session``, after checking it has credentials of the
    environment's account."""
    if session.get_credentials() is None:
        raise NoCredentials(
            "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or log in with "
            "`aws sso login`); nothing was asked of AWS"
        )
    if session.region_name is None:
        raise CustomizeError(
            f"environment {environment} declares no region and the session has none; set AWS_REGION"
        )
    if account is not None:
        caller = session.client("sts").get_caller_identity()["Account"]
        if caller != account:
            raise CustomizeError(
                f"the credentials are of account {caller}, environment {environment} is "
                f"{account}; use credentials of {account}"
            )
    return session.client("bedrock"), session.client("ssm")


def _load(path: Path) -> tuple[Any, Lock | None, Path]:
    config = load_lifecycle(path, check_lock_file=False)
    lock_path = lock_path_for(path)
    try:
        lock = Lock.read(lock_path)
    except ValueError as exc:
        raise CustomizeError(f"{lock_path}: {exc}") from None
    return config.file, lock, lock_path


def _line(state: JobState) -> str:
    line = f"{state.site.environment}: {state.site.name}: {state.name} {state.status}"
    if state.details:
        line += f" ({state.details})"
    if state.status == "Completed" and state.model_arn:
        line += f" -> {state.model_arn}"
    if state.failure:
        line += f": {state.failure}"
    if state.status in ("Failed", "Stopped") and state.attempt < MAX_ATTEMPTS:
        line += (
            f"; to try again: customize start {state.site.name} --environment "
            f"{state.site.environment} --attempt {state.attempt + 1}"
        )
    return one_line(line)


def _record_all(lock_path: Path, completed: list[JobState]) -> int:
    """Record the models of ``completed`` jobs in the lock as it is now: read again, so
    that a ``lock`` run while Bedrock was asked is kept, then replaced atomically (a
    reader sees the old lock or the new, never half of one). Returns the problems."""
    try:
        lock = Lock.read(lock_path)
    except ValueError as exc:
        print(one_line(f"customize: {lock_path}: {exc}"), file=sys.stderr)
        return 1
    if lock is None:
        print(one_line(f"customize: {lock_path} is gone; nothing was recorded"), file=sys.stderr)
        return 1
    problems = 0
    recorded = []
    for state in completed:
        try:
            updated = record(lock, state)
        except CustomizeError as exc:
            problems += 1
            print(one_line(f"{state.site.environment}: {state.site.name}: {exc}"), file=sys.stderr)
            continue
        if updated.render() != lock.render():
            lock = updated
            recorded.append(
                f"{lock_path.name}: recorded {state.site.name} in {state.site.environment}"
            )
    if recorded:
        partial = lock_path.with_name(f"{lock_path.name}.{os.getpid()}.partial")
        try:
            partial.write_text(lock.render(), encoding="utf-8")
            os.replace(partial, lock_path)
        finally:
            partial.unlink(missing_ok=True)
        for line in recorded:
            print(line)
    return problems


def cmd_start(args: argparse.Namespace, sessions: Sessions | None = None) -> int:
    """Submit the declared job of one custom model in one environment, idempotently.

    A job found failed or stopped is a problem (exit 2): it says which ``--attempt`` runs
    it again."""
    from botocore.exceptions import BotoCoreError, ClientError

    sessions = sessions or _session  # looked up now, so that tests can replace it

    try:
        file, lock, _ = _load(Path(args.file))
        site = site_of(file, lock, args.name, args.environment)
        env = file.environments[site.environment]
        bedrock, ssm = _clients(sessions(env.region), site.environment, env.account)
        state, submitted = start(site, args.attempt, bedrock, ssm)
    except CustomizeError as exc:
        return _fail(str(exc))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return _fail(f"AWS refused: {error.get('Code')}: {error.get('Message')}")
    except BotoCoreError as exc:
        return _fail(f"AWS: {exc}")
    if not submitted and state.status in ("Failed", "Stopped"):
        print(_line(state), file=sys.stderr)
        return EXIT_PROBLEMS
    verb = "submitted" if submitted else "already submitted"
    print(f"{site.environment}: {site.name}: {verb} {state.name} ({state.arn}), {state.status}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace, sessions: Sessions | None = None) -> int:
    """Show every declared job; record the model of each completed one in the lock."""
    from botocore.exceptions import BotoCoreError, ClientError

    sessions = sessions or _session

    try:
        file, lock, lock_path = _load(Path(args.file))
    except CustomizeError as exc:
        return _fail(str(exc))
    targets = list(sites(file, args.name, args.environment))
    if not targets:
        return _fail(
            f"no declared customization matches {args.name or 'any name'} in "
            f"{args.environment or 'any environment'}"
        )
    problems = 0
    completed: list[JobState] = []
    for name, environment in targets:
        try:
            site = site_of(file, lock, name, environment)
            env = file.environments[environment]
            bedrock, _ = _clients(sessions(env.region), environment, env.account)
            state = latest(site, bedrock)
        except NoCredentials as exc:  # no environment has any: say it once
            return _fail(str(exc))
        except CustomizeError as exc:
            problems += 1
            print(one_line(f"{environment}: {name}: {exc}"), file=sys.stderr)
            continue
        except (ClientError, BotoCoreError) as exc:
            problems += 1
            print(one_line(f"{environment}: {name}: AWS: {exc}"), file=sys.stderr)
            continue
        if state is None:
            print(
                f"{environment}: {name}: not submitted; "
                f"customize start {name} --environment {environment}"
            )
            continue
        print(_line(state))
        if state.status == "Completed" and state.model_arn is not None:
            completed.append(state)
    if completed and lock is not None and not args.no_record:
        problems += _record_all(lock_path, completed)
    return EXIT_PROBLEMS if problems else EXIT_OK


def add_customize_commands(sub: Any, default_file: str) -> None:
    """Add the ``customize`` command group to the CLI's subparsers."""
    help_text = "run the customization jobs custom_models declares (needs AWS credentials)"
    group = sub.add_parser("customize", help=help_text, description=help_text)
    commands = group.add_subparsers(dest="customize_command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "start",
        help="submit a declared job, once",
        description="submit the job of custom model NAME in one environment; running it "
        "again finds the job instead of starting another",
    )
    p.add_argument("name", help="a custom model declared with customization:")
    p.add_argument("--file", default=default_file, help=f"Default: {default_file}")
    p.add_argument("--environment", help="Default: the customization's one environment")
    p.add_argument(
        "--attempt",
        type=int,
        default=1,
        choices=range(1, MAX_ATTEMPTS + 1),
        metavar="N",
        help=f"the attempt, 1 to {MAX_ATTEMPTS}, after a failed or stopped one; default: 1",
    )
    p.set_defaults(func=cmd_start)

    p = commands.add_parser(
        "status",
        help="show the jobs; record completed models in the lock",
        description="show each declared job's progress and record the model of each "
        "completed one in lifecycle.lock",
    )
    p.add_argument("name", nargs="?", help="Default: every declared customization")
    p.add_argument("--file", default=default_file, help=f"Default: {default_file}")
    p.add_argument("--environment", help="Default: every environment of each customization")
    p.add_argument("--no-record", action="store_true", help="show only; leave the lock as it is")
    p.set_defaults(func=cmd_status)


__all__ = ["ConfigError", "add_customize_commands", "cmd_start", "cmd_status"]
