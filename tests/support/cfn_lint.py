"""cfn-lint, the gate every synthesized template of the suite passes with zero errors."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")


def cfn_lint_errors(templates: Iterable[Path]) -> str:
    """cfn-lint's report on ``templates`` when it finds an error; empty when none."""
    result = subprocess.run(
        [CFN_LINT, "--non-zero-exit-code", "error", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr
