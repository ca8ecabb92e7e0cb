"""``python -m bedrock_lifecycle.template_diff --base REF [--env ENV] [--format F]``.

Exit 0 with the diff on stdout; exit 2 with one line on stderr when it cannot be made.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .compare import TemplateDiffError
from .render import changes_json, render_markdown, render_text
from .synth import template_changes


def main(argv: Sequence[str] | None = None) -> int:
    """Print the offline template diff of the working tree against ``--base``."""
    parser = argparse.ArgumentParser(
        prog="python -m bedrock_lifecycle.template_diff",
        description="Offline CloudFormation diff of the working tree against a git ref "
        "(no AWS credentials).",
    )
    parser.add_argument("--base", required=True, help="git ref to compare with (origin/main)")
    parser.add_argument(
        "--env",
        action="append",
        dest="environments",
        help="only this environment's stack (repeatable). Default: every stack",
    )
    parser.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="Default: text"
    )
    parser.add_argument(
        "--lifecycle",
        default="lifecycle.yaml",
        help="the lifecycle file, relative to the repository. Default: lifecycle.yaml",
    )
    parser.add_argument(
        "--repo", default=".", help="the git repository (its working tree is the head). Default: ."
    )
    args = parser.parse_args(argv)
    try:
        changes = template_changes(
            args.base,
            repo=Path(args.repo),
            lifecycle=Path(args.lifecycle),
            environments=args.environments,
        )
    except TemplateDiffError as exc:
        print(f"template diff: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(changes_json(changes), indent=2))
    else:
        render = render_markdown if args.format == "markdown" else render_text
        print("\n".join(render(changes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
