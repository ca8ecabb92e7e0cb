"""The ``history`` and ``audit`` commands of the CLI (docs/operations.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import LifecycleConfig, load_lifecycle, lock_path_for
from ..config.problems import one_line
from ..names import audit_parameter_name, manifest_parameter_name
from . import audit, history
from .session import OperateError, aws_message, checked_session, new_session

EXIT_OK = 0
EXIT_PROBLEMS = 2
FORMATS = ("text", "json")
Sessions = Callable[[str | None], Any]


def _fail(command: str, message: str) -> int:
    print(one_line(f"{command}: {message}"), file=sys.stderr)
    return EXIT_PROBLEMS


def _environment(config: LifecycleConfig, environment: str) -> Any:
    if environment not in config.file.environments:
        raise OperateError(
            f"unknown environment {environment!r} "
            f"(declared: {', '.join(sorted(config.file.environments))})"
        )
    return config.file.environments[environment]


def _client(sessions: Sessions, env: Any, environment: str, service: str) -> tuple[Any, Any]:
    session = checked_session(sessions(env.region), environment, env.account)
    return session, session.client(service)


def cmd_history(args: argparse.Namespace, sessions: Sessions | None = None) -> int:
    """Which version each alias served, and from when to when."""
    from botocore.exceptions import BotoCoreError, ClientError

    sessions = sessions or new_session
    try:
        path = Path(args.file)
        config = load_lifecycle(path, check_lock_file=False)
        env = _environment(config, args.environment)
        if args.from_git:
            items = history.from_git(lock_path_for(path), args.environment)
        else:
            project = config.file.project
            names = [
                manifest_parameter_name(project, args.environment, group)
                for group in range(config.alias_stack_count(args.environment) + 1)
            ]
            _, ssm = _client(sessions, env, args.environment, "ssm")
            items = history.from_ssm(ssm, args.environment, names)
    except OperateError as exc:
        return _fail("history", str(exc))
    except (ClientError, BotoCoreError) as exc:
        return _fail("history", aws_message(exc))
    items = history.only(items, args.alias)
    if args.format == "json":
        print(history.render_json(items))
    else:
        print("\n".join(history.render_text(items)))
    return EXIT_OK


def _utc(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time (2026-12-01 or 2026-12-01T10:00:00Z), got {text[:40]!r}"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def cmd_audit(
    args: argparse.Namespace,
    sessions: Sessions | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> int:
    """Which model answered: the audit records of one request, or of an alias's requests."""
    from botocore.exceptions import BotoCoreError, ClientError

    sessions = sessions or new_session
    until = args.until or now()
    lookback = audit.DEFAULT_REQUEST_LOOKBACK if args.request_id else audit.DEFAULT_LOOKBACK
    lookup = audit.Lookup(
        since=args.since or until - lookback,
        until=until,
        request_id=args.request_id,
        alias=args.alias,
        version_id=args.version,
        limit=args.limit,
    )
    problems = audit.lookup_problems(lookup)
    if not 0 < args.timeout <= audit.MAX_TIMEOUT_SECONDS:
        problems.append(f"--timeout must be 1-{audit.MAX_TIMEOUT_SECONDS} seconds")
    if problems:
        for problem in problems:
            print(one_line(f"audit: {problem}"), file=sys.stderr)
        return EXIT_PROBLEMS
    try:
        config = load_lifecycle(Path(args.file), check_lock_file=False)
        env = _environment(config, args.environment)
        session, logs = _client(sessions, env, args.environment, "logs")
        if args.log_group:
            trail = audit.Trail(args.log_group)
        else:
            parameter = audit_parameter_name(config.file.project, args.environment)
            trail = audit.trail_of(session.client("ssm"), parameter)
        rows = audit.run_query(logs, trail, lookup, timeout=args.timeout)
    except OperateError as exc:
        return _fail("audit", str(exc))
    except (ClientError, BotoCoreError) as exc:
        return _fail("audit", aws_message(exc))
    found = audit.answers(rows, trail, env.account, env.region or session.region_name)
    if args.format == "json":
        print(audit.render_json(found, args.limit))
    else:
        print("\n".join(audit.render_text(found, args.limit)))
    return EXIT_OK


def add_operate_commands(sub: Any, default_file: str) -> None:
    """Add ``history`` and ``audit`` to the CLI's subparsers."""
    help_text = "which version each alias served, from when to when (needs AWS credentials)"
    p = sub.add_parser("history", help=help_text, description=help_text)
    p.add_argument("environment", help="an environment of the lifecycle file")
    p.add_argument("alias", nargs="?", help="family/alias; default: every alias")
    p.add_argument("--file", default=default_file, help=f"Default: {default_file}")
    p.add_argument("--format", choices=FORMATS, default="text", help="Default: text")
    p.add_argument(
        "--from-git",
        action="store_true",
        help="offline: read the commits of lifecycle.lock (when a change was committed, not "
        "when it was deployed)",
    )
    p.set_defaults(func=cmd_history)

    help_text = "which model answered a request, from the audit trail (needs AWS credentials)"
    p = sub.add_parser("audit", help=help_text, description=help_text)
    p.add_argument("environment", help="an environment of the lifecycle file")
    p.add_argument("--request-id", help="the request id the router answered with")
    p.add_argument("--alias", help="family/alias: every request of the alias in the window")
    p.add_argument("--version", help="with --alias: only requests one version id answered")
    p.add_argument(
        "--since",
        type=_utc,
        help="start of the window (ISO 8601, UTC unless given); default: 30 days before "
        "--until with --request-id, else 24 hours",
    )
    p.add_argument("--until", type=_utc, help="end of the window; default: now")
    p.add_argument(
        "--limit",
        type=int,
        default=audit.DEFAULT_LIMIT,
        help=f"requests shown at most, 1-{audit.MAX_LIMIT}; default {audit.DEFAULT_LIMIT}",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=audit.DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds to wait for the query; default {audit.DEFAULT_TIMEOUT_SECONDS}",
    )
    p.add_argument("--log-group", help="the audit log group; default: the one the stack names")
    p.add_argument("--file", default=default_file, help=f"Default: {default_file}")
    p.add_argument("--format", choices=FORMATS, default="text", help="Default: text")
    p.set_defaults(func=cmd_audit)


__all__ = ["add_operate_commands", "cmd_audit", "cmd_history"]
