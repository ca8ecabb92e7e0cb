"""Hostile files: the time `validate` takes to refuse each kind, beside the shipped file.

Each kind is written to a temporary folder and given to ``bedrock-lifecycle validate
--no-lock`` in this process (the dry build never runs: every kind is refused before
it); the baseline is the same command on the shipped ``lifecycle.yaml`` without its
dry build (``load_lifecycle``), so the ratio says how much longer a hostile file takes
than a real one. Medians of ``--repeat`` runs; the slowest kind is the worst case the
loader's bounds allow.

    python -m benchmarks.hostile_files [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bedrock_lifecycle.cli import main as cli
from bedrock_lifecycle.config import load_lifecycle
from bedrock_lifecycle.config.yaml_loader import MAX_FILE_BYTES, MAX_NODES
from tests.support.lifecycle_files import MINIMAL

ROOT = Path(__file__).resolve().parent.parent
HEAD = MINIMAL


def _bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return HEAD + "\n".join(lines) + "\n"


def _flat_values() -> str:
    """As many plain values as fit under the size cap: the most work a file can ask."""
    body = "x: [" + ",".join(["1"] * min(MAX_NODES, (MAX_FILE_BYTES - 200) // 2)) + "]\n"
    return HEAD + body


def _many_families() -> str:
    """A schema-valid-looking file at the size cap: thousands of families."""
    out, i = [HEAD], 0
    while sum(map(len, out)) < MAX_FILE_BYTES - 400:
        out.append(
            f"  f{i}:\n    versions:\n      v1:\n        target: {{foundation_model: "
            "anthropic.claude-3-haiku-20240307-v1:0}\n    aliases:\n      live: {version: v9}\n"
        )
        i += 1
    return "".join(out)


def _merge_chain() -> str:
    links = ["&a0 {k0: v}"] + [f"&a{i} {{<<: *a{i - 1}, k{i}: v}}" for i in range(1, 999)]
    return HEAD + "? [" + ", ".join(links) + "]\n: x\ntop: *a998\n"


KINDS: dict[str, Callable[[], str]] = {
    "alias bomb (10^9 expanded)": _bomb,
    "self-reference &x [*x]": lambda: HEAD + "x: &x [*x]\n",
    "flow nesting 5,000 deep": lambda: HEAD + "x: " + "[" * 5000 + "]" * 5000 + "\n",
    "block nesting 200 deep": lambda: (
        HEAD + "\n".join(f"{'  ' * i}k{i}:" for i in range(200)) + " 1\n"
    ),
    "integer of 5,000 digits": lambda: HEAD + "x: 1" + "0" * 5000 + "\n",
    "impossible date": lambda: HEAD + "x: 2027-02-30\n",
    "merge-key chain 999 deep": _merge_chain,
    "over the size cap (50 MB)": lambda: HEAD + "#" * (50 * 1024 * 1024) + "\n",
    "flat values at the size cap": _flat_values,
    "families at the size cap": _many_families,
}


def _median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    baseline = _median_seconds(lambda: load_lifecycle(ROOT / "lifecycle.yaml"), args.repeat)
    print(f"baseline: the shipped lifecycle.yaml loads in {baseline * 1000:.1f} ms")
    print(f"{'kind':32} {'bytes':>10} {'exit':>4} {'median ms':>10} {'ratio':>8}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for kind, make in KINDS.items():
            path = Path(folder) / "lifecycle.yaml"
            path.write_text(make(), encoding="utf-8")
            codes: list[int] = []

            def run(path: Path = path, codes: list[int] = codes) -> None:
                with contextlib.redirect_stderr(io.StringIO()):
                    codes.append(cli(["validate", str(path), "--no-lock"]))

            seconds = _median_seconds(run, args.repeat)
            worst = max(worst, seconds)
            size = path.stat().st_size
            print(
                f"{kind:32} {size:>10,} {codes[-1]:>4} {seconds * 1000:>10.1f} "
                f"{seconds / baseline:>8.1f}"
            )
    print(f"worst case: {worst * 1000:.0f} ms")


if __name__ == "__main__":
    main()
