"""``evaluation.continuous.schedule``: what EventBridge takes, at most hourly, and a clear
answer for anything else (fuzzed: any text is either refused with a reason or runs at
most once an hour)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_lifecycle.values.evaluation import rate_minutes, schedule_errors

CRON_PARTS = st.sampled_from(["0", "15", "*", "?", "*/6", "1-5", "MON-FRI", "L", "3#2", "6,18"])


@pytest.mark.parametrize(
    "schedule",
    [
        "rate(1 hour)",
        "rate(2 hours)",
        "rate(1 day)",
        "rate(90 minutes)",
        "cron(0 6 * * ? *)",
        "cron(30 */4 ? * MON-FRI *)",
        "cron(0 6,18 1 * ? 2027)",
    ],
)
def test_schedules_eventbridge_takes_at_most_hourly(schedule: str) -> None:
    assert schedule_errors(schedule) == []


@pytest.mark.parametrize(
    ("schedule", "why"),
    [
        ("rate(59 minutes)", "runs every 59 minutes"),
        ("rate(1 hours)", "must say 1 hour"),
        ("rate(2 hour)", "must say 2 hours"),
        ("cron(*/10 * * * ? *)", "the minutes field must be one number"),
        ("cron(0 6 * * * *)", "?"),
        ("cron(0 6 * *)", "must have 6 fields"),
        ("cron(007 6 * * ? *)", "the minutes field must be one number"),
        ("every day", "rate("),
        ("", "rate("),
    ],
)
def test_other_schedules_are_refused_with_a_reason(schedule: str, why: str) -> None:
    problems = schedule_errors(schedule)
    assert len(problems) == 1 and why in problems[0], problems


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda n, unit: f"rate({n} {unit})",
            st.integers(-5, 10**7),
            st.sampled_from(["minute", "minutes", "hour", "hours", "day", "days", "week"]),
        ),
        st.builds(lambda parts: f"cron({' '.join(parts)})", st.lists(CRON_PARTS, max_size=8)),
    )
)
def test_any_text_is_refused_or_runs_at_most_hourly(schedule: str) -> None:
    problems = schedule_errors(schedule)
    assert all(isinstance(p, str) and "\n" not in p and len(p) < 600 for p in problems)
    if problems:
        return
    minutes = rate_minutes(schedule)
    if minutes is not None:
        assert minutes >= 60
        return
    fields = re.fullmatch(r"cron\((.*)\)", schedule)
    assert fields is not None, schedule
    minute, _, day_of_month, _, day_of_week, _ = fields.group(1).split(" ")
    assert re.fullmatch(r"[0-9]{1,2}", minute) and int(minute) < 60
    assert "?" in (day_of_month, day_of_week)
