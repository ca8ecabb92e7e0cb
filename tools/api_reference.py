"""The API reference of docs/api/: pdoc over the public module, ``make docs``.

Only ``bedrock_lifecycle.constructs`` is rendered, the package's one public surface:
one page with every name of its ``__all__``, their docstrings and each field's
default. ``tests/test_api_reference.py`` renders it again and fails when the committed
pages are stale.

    python -m tools.api_reference [OUTDIR]    # default: docs/api
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTDIR = ROOT / "docs/api"
MODULES = ("bedrock_lifecycle.constructs", "!bedrock_lifecycle.constructs.")


def render(outdir: Path) -> None:
    """Write the reference's HTML pages to ``outdir`` (replaced)."""
    if outdir.exists():
        shutil.rmtree(outdir)
    env = dict(os.environ)
    env["PDOC_ALLOW_EXEC"] = "1"  # importing aws-cdk-lib starts jsii's Node.js process
    subprocess.run(  # noqa: S603 (a fixed argument list: this interpreter, pdoc, our modules)
        [sys.executable, "-m", "pdoc", "--no-search", "--no-show-source",
         "--docformat", "restructuredtext", "--output-directory", str(outdir), *MODULES],
        check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip


if __name__ == "__main__":
    render(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTDIR)
