"""``bedrock-lifecycle catalog refresh | show``: maintain the model catalog snapshot."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from . import SNAPSHOT_PATH, ModelCatalog

EXIT_OK = 0
EXIT_PROBLEMS = 2
DEFAULT_REGION = "us-east-1"


def _session(region: str | None) -> Any:
    """A boto3 session (a seam for tests)."""
    import boto3

    return boto3.session.Session(region_name=region)


def _fail(message: str) -> int:
    print(f"catalog: {message}", file=sys.stderr)
    return EXIT_PROBLEMS


def cmd_refresh(args: argparse.Namespace) -> int:
    """Rebuild the snapshot from ListFoundationModels and GetFoundationModel."""
    from botocore.exceptions import BotoCoreError, ClientError

    from .refresh import fetch_catalog

    output = Path(args.output) if args.output else SNAPSHOT_PATH
    session = _session(args.region)
    if session.get_credentials() is None:
        return _fail(
            "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or log in with "
            f"`aws sso login`); {output} is unchanged"
        )
    region = args.region or session.region_name or DEFAULT_REGION
    try:
        old = ModelCatalog.load(output) if output.is_file() else None
    except ValueError:
        old = None  # a broken snapshot is replaced, not merged
    try:
        client = session.client("bedrock", region_name=region)
        catalog = fetch_catalog(
            client, region=region, keep=old.entries.values() if old is not None else ()
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return _fail(
            f"Bedrock refused the request in {region}: {error.get('Code')}: "
            f"{error.get('Message')}; {output} is unchanged"
        )
    except BotoCoreError as exc:
        return _fail(f"cannot reach Bedrock in {region}: {exc}; {output} is unchanged")
    except ValueError as exc:
        # A lifecycle status newer than this project: refuse rather than guess its meaning.
        return _fail(
            f"Bedrock answered what this version cannot read ({exc}); upgrade "
            f"bedrock-lifecycle; {output} is unchanged"
        )
    output.write_text(catalog.render(), encoding="utf-8")
    legacy = sum(1 for e in catalog.entries.values() if e.is_legacy)
    print(f"{output}: {len(catalog.entries)} models from {region} ({legacy} LEGACY)")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    """Print the snapshot, one model a line, Legacy models first."""
    path = Path(args.catalog) if args.catalog else SNAPSHOT_PATH
    try:
        catalog = ModelCatalog.load(path)
    except FileNotFoundError:
        return _fail(f"{path}: no such file")
    except ValueError as exc:
        return _fail(f"{path}: {exc}")
    today = dt.datetime.now(dt.UTC).date()
    captured = catalog.captured_at.date().isoformat() if catalog.captured_at else "unknown"
    print(f"{path}: {len(catalog.entries)} models, region {catalog.region}, captured {captured}")
    entries = sorted(catalog.entries.values(), key=lambda e: (not e.is_legacy, e.model_id))
    for entry in entries:
        parts = [entry.model_id, entry.status.value]
        if entry.legacy is not None:
            parts.append(f"legacy {entry.legacy.date().isoformat()}")
        if entry.public_extended_access is not None:
            parts.append(f"extended access {entry.public_extended_access.date().isoformat()}")
        if entry.end_of_life is not None:
            days = entry.days_until_end_of_life(today)
            parts.append(f"end of life {entry.end_of_life.date().isoformat()} ({days} days)")
        print("  ".join(parts))
    return EXIT_OK


def add_catalog_commands(sub: Any) -> None:
    """Add the ``catalog`` command group to the CLI's subparsers."""
    help_text = "maintain the snapshot of Bedrock's model lifecycle (Legacy, end of life)"
    group = sub.add_parser("catalog", help=help_text, description=help_text)
    commands = group.add_subparsers(dest="catalog_command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "refresh",
        help="rebuild the snapshot from Bedrock (needs AWS credentials)",
        description="rebuild the snapshot from ListFoundationModels and GetFoundationModel",
    )
    p.add_argument("--region", help=f"Default: the session's region, else {DEFAULT_REGION}")
    p.add_argument("--output", help="Default: the snapshot shipped in the package")
    p.set_defaults(func=cmd_refresh)

    p = commands.add_parser("show", help="print the snapshot", description="print the snapshot")
    p.add_argument("--catalog", help="Default: the snapshot shipped in the package")
    p.set_defaults(func=cmd_show)
