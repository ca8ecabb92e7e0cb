"""The benchmarks keep running (tiny sizes; the figures come from `make benchmark`)."""

from __future__ import annotations

import re

from benchmarks import router_overhead, synth_scale


def test_synth_scale_prints_a_ratio_per_size(capsys):
    synth_scale.main(["--sizes", "1", "--repeat", "1"])
    rows = [
        line.split() for line in capsys.readouterr().out.splitlines() if re.match(r"\s+\d", line)
    ]
    assert [row[0] for row in rows] == ["1"]
    assert all(float(row[4]) > 0 for row in rows)  # the no-nag/baseline ratio column
    assert all(float(row[9]) > 0 and int(row[11]) > 0 for row in rows)  # resources


def test_router_overhead_prints_both_medians_and_the_ratio(capsys):
    router_overhead.main(["--requests", "1000", "--warmup", "10", "--cold-runs", "3"])
    out = capsys.readouterr().out
    number = r"(\d+(?:\.\d+)?)"
    warm_rows = re.findall(rf"^\s+(direct|router)\s+{number}\s+{number}\s+{number}$", out, re.M)
    assert [row[0] for row in warm_rows] == ["direct", "router"], out
    cold_rows = re.findall(rf"^\s+(direct|router)(?:\s+{number}){{7}}$", out, re.M)
    assert len(cold_rows) == 2, out
    figures = [float(x) for row in warm_rows for x in row[1:]]
    patterns = [
        rf"^ratio router/direct at p50: {number} \(target at most 1\.15: (met|not met)\)$",
        rf"^ratio router/direct at p99: {number} \(target at most 1\.25: (met|not met)\)$",
        rf"^cold-start ratio router/direct \(wall, median\): {number}"
        r" \(target at most 1\.30: (met|not met)\)$",
    ]
    for pattern in patterns:
        match = re.search(pattern, out, re.M)
        assert match, (pattern, out)
        figures.append(float(match[1]))
    assert all(value > 0 for value in figures), out


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
