"""``bedrock-lifecycle``: validate, lock, plan and inspect a lifecycle file.

Exit codes: 0 success, 2 the file (or the request) has problems, 1 anything
that should never happen. Problems print one per line on stderr; nothing
prints a Python traceback for bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .catalog.cli import add_catalog_commands
from .config import ConfigError, LifecycleConfig, Lock, load_lifecycle, lock_path_for, utc_today
from .config.loader import check_lock
from .config.lockfile import moved_aliases, placed_aliases, updated_lock
from .config.network_checks import network_moves
from .config.problems import MAX_PRINTED_PROBLEMS, Problem, one_line
from .config.schema import LifecycleFile
from .customize.cli import add_customize_commands
from .operate.cli import add_operate_commands

DEFAULT_FILE = "lifecycle.yaml"
EXIT_OK = 0
EXIT_PROBLEMS = 2
EXIT_INTERNAL = 1


def _today(args: argparse.Namespace) -> dt.date:
    """The date sunset and end-of-life rules are judged at: ``--today`` or UTC today."""
    return args.today if args.today is not None else utc_today()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _print_problems(exc: ConfigError) -> int:
    for line in exc.lines(MAX_PRINTED_PROBLEMS):
        print(line, file=sys.stderr)
    return EXIT_PROBLEMS


def _load_buildable(
    path: str | Path,
    args: argparse.Namespace,
    *,
    check_lock_file: bool,
    lock: Lock | None = None,
) -> LifecycleConfig:
    """The file loaded and checked, then every environment constructed as synth would
    (``stacks.dry_build``): whatever synth refuses, this refuses.

    :param lock: places the aliases in stacks when the lock is not checked (``lock``
        builds with the placement it is about to record). Default: none.
    """
    config = load_lifecycle(path, check_lock_file=check_lock_file, clock=lambda: _today(args))
    if lock is not None and config.lock is None:
        config = dataclasses.replace(config, lock=lock)
    from .stacks.dry_build import construction_problems

    problems = construction_problems(config)
    if problems:
        raise ConfigError(config.label, problems)
    return config


def cmd_validate(args: argparse.Namespace) -> int:
    """Check the file (schema, references, lifecycle rules, lock, a dry build of every
    stack) without synthesizing."""
    config = _load_buildable(args.file, args, check_lock_file=not args.no_lock)
    for warning in config.warnings:
        print(warning.render(config.label), file=sys.stderr)
    envs = config.environment_names
    aliases = sum(len(config.aliases_for(e)) for e in envs)
    print(f"{config.label}: valid ({len(envs)} environments, {aliases} aliases)")
    return EXIT_OK


def cmd_lock(args: argparse.Namespace) -> int:
    """Record the hashes of new versions; never rewrite a recorded one."""
    path = Path(args.file)
    lock_path = lock_path_for(path)
    try:
        existing = Lock.read(lock_path)
    except ValueError as exc:
        raise ConfigError(str(lock_path), [Problem((), str(exc))]) from None
    # The lock is written only for a file that is otherwise valid and would synthesize,
    # with the aliases in the stacks the new lock records.
    config = load_lifecycle(path, check_lock_file=False, clock=lambda: _today(args))
    lock, added = updated_lock(config.file, existing)
    changed = [
        p
        for p in check_lock(config.file, lock, lock_path.name)
        if existing is not None and not p.message.startswith("new version")
    ]
    if existing is not None:
        # Judged against the lock written before this change (the deployed state).
        changed += network_moves(config.file, existing, lock_path.name)
        changed = [p for p in changed if "does not record this network" not in p.message]
    if changed:
        raise ConfigError(config.label, changed)
    config = _load_buildable(path, args, check_lock_file=False, lock=lock)
    if existing is None or lock.render() != existing.render():
        lock_path.write_text(lock.render(), encoding="utf-8")
    for key in added:
        print(f"{lock_path.name}: locked {key}")
    known = set((existing.custom_models or {}) if existing is not None else {})
    new_models = sorted(set(lock.custom_models or {}) - known)
    for name in new_models:
        print(f"{lock_path.name}: locked custom model {name}")
    for line in moved_aliases(existing, lock):
        print(f"{lock_path.name}: {line}")
    for line in placed_aliases(existing, lock):
        print(f"{lock_path.name}: {line}")
    if not added and not new_models:
        print(f"{lock_path.name}: up to date ({len(lock.versions)} versions)")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the file, for editors (or the markdown reference)."""
    if args.markdown:
        from .config.reference import render_reference

        print(render_reference(), end="")
        return EXIT_OK
    schema = LifecycleFile.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "bedrock-lifecycle lifecycle.yaml"
    print(json.dumps(schema, indent=2, sort_keys=True))
    return EXIT_OK


EXIT_RISK = 3
PLAN_FORMATS = ("text", "markdown", "json")


def _fail_on(text: str) -> frozenset[str]:
    """``--fail-on``: ``risk`` (any flag) or a comma-separated list of risk codes."""
    from .plan import RISK_CODES

    codes = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(codes - {"risk", *RISK_CODES})
    if not codes or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown risk code {', '.join(unknown) or repr(text)}; allowed: risk, "
            + ", ".join(RISK_CODES)
        )
    return frozenset(RISK_CODES) if "risk" in codes else codes


def _template_lines(args: argparse.Namespace, head: Path) -> tuple[list[str], list[dict]]:
    """The offline CloudFormation diff against ``--base`` (a git ref): rendered lines in the
    plan's format, and its JSON records."""
    from . import template_diff
    from .plan.base import repository_of

    repo = repository_of(head)
    if repo is None:  # describe_base checked that --base is a ref of it
        raise ConfigError("--templates", [Problem((), f"{head} is not inside a git repository")])
    try:
        changes = template_diff.template_changes(args.base, repo=repo, lifecycle=head.resolve())
    except template_diff.TemplateDiffError as exc:
        raise ConfigError("--templates", [Problem((), str(exc))]) from None
    if args.format == "markdown":
        return template_diff.render_markdown(changes), []
    if args.format == "json":
        return [], template_diff.changes_json(changes)
    return template_diff.render_text(changes), []


def cmd_plan(args: argparse.Namespace) -> int:
    """Say in plain words what deploying this file changes where the base is deployed,
    with risk flags; exit 3 when ``--fail-on`` names a flag that is raised."""
    from .plan import compare, markdown_lines, open_base, render_json, text_lines
    from .plan.base import describe_base

    head = Path(args.file)
    today = _today(args)
    config = load_lifecycle(head, check_lock_file=not args.no_lock, clock=lambda: today)
    if args.templates and (args.base is None or describe_base(args.base, head) != "ref"):
        raise ConfigError(
            "--templates",
            [Problem((), "needs --base to be a git ref (origin/main, HEAD~1), not a file")],
        )
    if args.base is None:
        plan = compare(config, None, today=today)
    else:
        with open_base(args.base, head) as base:
            plan = compare(config, base, today=today)
    extra, records = _template_lines(args, head) if args.templates else ([], [])
    if args.format == "json":
        print(render_json(plan, records if args.templates else None))
    else:
        lines = text_lines(plan) if args.format == "text" else markdown_lines(plan)
        if extra:
            heading = (
                "CloudFormation templates:"
                if args.format == "text"
                else "### CloudFormation (offline template diff)"
            )
            lines = (
                [*lines, "", heading, "", *extra]
                if args.format != "text"
                else [
                    *lines,
                    "",
                    heading,
                    *extra,
                ]
            )
        print("\n".join(lines))
    raised = {risk.code.value for risk in plan.risks}
    if args.fail_on and raised & args.fail_on:
        return EXIT_RISK
    return EXIT_OK


def version_line() -> str:
    """``bedrock-lifecycle X.Y.Z (aws-cdk-lib A, cdk-nag B, constructs C, Python D)``:
    what a bug report needs, read from the installed distributions (no jsii start)."""
    from importlib import metadata

    def installed(name: str) -> str:
        try:
            return f"{name} {metadata.version(name)}"
        except metadata.PackageNotFoundError:
            return f"{name} not installed"

    runs_on = [installed(n) for n in ("aws-cdk-lib", "cdk-nag", "constructs")]
    python = ".".join(str(part) for part in sys.version_info[:3])
    return f"bedrock-lifecycle {__version__} ({', '.join(runs_on)}, Python {python})"


class _PrintVersion(argparse.Action):
    """``--version``: one line, never wrapped (argparse's own action wraps it)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help=str(kwargs.get("help", "")))

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(version_line())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bedrock-lifecycle",
        description="Amazon Bedrock model lifecycle as code.",
    )
    parser.add_argument(
        "--version",
        action=_PrintVersion,
        help="print the package's version and the versions it runs on, then exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    today_help = "judge sunset and end-of-life dates as of this day (YYYY-MM-DD); default: today"
    p = add("validate", cmd_validate, "check a lifecycle file without synthesizing")
    p.add_argument("file", nargs="?", default=DEFAULT_FILE)
    p.add_argument("--today", type=_date, help=today_help)
    p.add_argument("--no-lock", action="store_true", help="skip the lifecycle.lock comparison")

    p = add("lock", cmd_lock, "record the content hash of new versions in lifecycle.lock")
    p.add_argument("file", nargs="?", default=DEFAULT_FILE)
    p.add_argument("--today", type=_date, help=today_help)

    p = add("schema", cmd_schema, "print the JSON Schema of lifecycle.yaml")
    p.add_argument(
        "--markdown", action="store_true", help="print the configuration reference tables instead"
    )

    p = add("plan", cmd_plan, "describe, per environment, what a deploy of this file changes")
    p.add_argument("file", nargs="?", default=DEFAULT_FILE)
    p.add_argument(
        "--base",
        help="the file as deployed: a lifecycle file, or a git ref (origin/main, HEAD~1) "
        "to read the same file at; default: none (everything is new)",
    )
    p.add_argument(
        "--format", choices=PLAN_FORMATS, default="text", help="output format; default: text"
    )
    p.add_argument(
        "--fail-on",
        type=_fail_on,
        metavar="risk|CODE[,CODE...]",
        help="exit 3 when any risk flag (risk) or one of these codes is raised; default: never",
    )
    p.add_argument(
        "--templates",
        action="store_true",
        help="append the offline CloudFormation template diff (needs --base to be a git ref)",
    )
    p.add_argument("--today", type=_date, help=today_help)
    p.add_argument("--no-lock", action="store_true", help="skip the lifecycle.lock comparison")

    add_catalog_commands(sub)
    add_customize_commands(sub, DEFAULT_FILE)
    add_operate_commands(sub, DEFAULT_FILE)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bedrock-lifecycle`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        return _print_problems(exc)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # writing the lock: a read-only folder, a full disk
        where = exc.filename if exc.filename is not None else args.command
        print(one_line(f"{where}: {exc.strerror or exc}"), file=sys.stderr)
        return EXIT_PROBLEMS
    except Exception as exc:  # the last resort: one line, never a traceback
        print(
            one_line(
                f"bedrock-lifecycle {args.command}: internal error "
                f"({type(exc).__name__}: {str(exc)[:200]}); please report it"
            ),
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
