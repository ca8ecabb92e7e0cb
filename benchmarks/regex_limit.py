"""The evaluation gate's regex time limit: a check in a forked child beside plain ``re``.

Each golden-prompt ``regex`` check runs in a forked child killed at its deadline
(``shared/regex_check.py``, staged with the gate), so no pattern can take the gate past
its budget. This prints what that costs per check: the median of ``--checks`` calls
of ``search_within`` and of ``re.search`` on the same pattern and answer, alternating,
and the ratio.

    python -m benchmarks.regex_limit [--checks 200]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

PATTERN = r"(?i)refund.*\d+ days"
ANSWER = "Refunds of duplicate charges take 5 days to appear on the statement."


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    args = parser.parse_args(argv)
    from bedrock_lifecycle.shared import regex_check

    limited, plain = [], []
    for _ in range(args.checks):
        start = time.perf_counter()
        regex_check.search_within(PATTERN, ANSWER)
        limited.append(time.perf_counter() - start)
        start = time.perf_counter()
        re.search(PATTERN, ANSWER)
        plain.append(time.perf_counter() - start)
    fork, direct = statistics.median(limited), statistics.median(plain)
    print(f"checks: {args.checks}")
    print(f"search_within (forked, time-limited): median {fork * 1000:.2f} ms")
    print(f"re.search:                            median {direct * 1e6:.2f} us")
    print(f"ratio: {fork / direct:.0f}")


if __name__ == "__main__":
    main()
