"""The benchmarks keep running (tiny sizes; the figures come from `make benchmark`)."""

from __future__ import annotations

import re

from benchmarks import router_overhead, synth_scale


def test_synth_scale_prints_a_ratio_per_size(capsys):
    synth_scale.main(["--sizes", "1,2", "--repeat", "1"])
    rows = [
        line.split() for line in capsys.readouterr().out.splitlines() if re.match(r"\s+\d", line)
    ]
    assert [row[0] for row in rows] == ["1", "2"]
    assert all(float(row[4]) > 0 for row in rows)  # the ratio column


def test_router_overhead_prints_both_medians_and_the_ratio(capsys):
    router_overhead.main(["--requests", "1000", "--warmup", "10"])
    out = capsys.readouterr().out
    assert re.search(r"ratio", out), out


def test_hostile_files_prints_a_ratio_per_kind(capsys):
    from benchmarks import hostile_files

    hostile_files.main(["--repeat", "1"])
    out = capsys.readouterr().out
    rows = [
        line for line in out.splitlines() if line[:1].isalpha() and line.split()[-1][0].isdigit()
    ]
    assert len(rows) >= len(hostile_files.KINDS)
    assert all(" 2 " in row for row in rows if not row.startswith(("baseline", "worst"))), out


def test_regex_limit_prints_both_medians_and_the_ratio(capsys):
    from benchmarks import regex_limit

    regex_limit.main(["--checks", "5"])
    assert re.search(r"^ratio: \d+$", capsys.readouterr().out, re.M)
