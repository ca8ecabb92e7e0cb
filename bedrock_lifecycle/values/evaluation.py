"""Continuous evaluation: a family's golden prompts, run on a schedule against every alias.

The evaluation gate runs the prompts once, before traffic moves; a model's answers can
still drift later (a provider-side change behind the same model id, a guardrail edit, a
new system prompt upstream). ``ContinuousEvaluation`` runs them again on a schedule,
through the Lambda alias ``live`` that callers use (docs/operations.md).
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from .common import EnvName, StrictModel

DEFAULT_SCHEDULE = "rate(1 day)"
# Each run costs tokens and answers to one alarm period: at most once an hour.
MIN_INTERVAL_MINUTES = 60
MAX_SAMPLE = 500  # golden.MAX_GOLDEN_PROMPTS: a file holds no more
_RATE = re.compile(r"rate\(([1-9][0-9]{0,5}) (minute|minutes|hour|hours|day|days)\)")
_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
_CRON = re.compile(r"cron\(([^()]{1,200})\)")
_CRON_FIELD = re.compile(r"[0-9A-Z*?,/#\-]{1,60}")
CRON_FIELDS = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")


def rate_minutes(schedule: str) -> int | None:
    """The interval of a ``rate(...)`` schedule in minutes; None for a ``cron(...)`` one."""
    match = _RATE.fullmatch(schedule)
    if match is None:
        return None
    return int(match.group(1)) * _MINUTES[match.group(2).rstrip("s")]


def schedule_errors(schedule: str) -> list[str]:
    """Why EventBridge would refuse ``schedule``, or why it runs more than hourly; ``[]``
    when it is fine.

    Allowed: ``rate(N unit)`` (``minute``/``hour``/``day``, singular for 1, plural
    otherwise) of at least an hour, or a six-field ``cron(minutes hours day-of-month
    month day-of-week year)`` whose minutes field is one number (at most hourly) and
    whose day-of-month or day-of-week is ``?`` (EventBridge's rule).
    """
    match = _RATE.fullmatch(schedule)
    if match is not None:
        count, unit = int(match.group(1)), match.group(2)
        if (count == 1) != (not unit.endswith("s")):
            singular = unit.rstrip("s")
            want = singular if count == 1 else singular + "s"
            return [f"schedule {schedule!r} must say {count} {want} (EventBridge's spelling)"]
        minutes = count * _MINUTES[unit.rstrip("s")]
        if minutes < MIN_INTERVAL_MINUTES:
            return [
                f"schedule {schedule!r} runs every {minutes} minutes; continuous evaluation "
                "runs at most hourly (each run costs tokens), for example rate(1 hour)"
            ]
        return []
    match = _CRON.fullmatch(schedule)
    if match is None:
        return [
            f"schedule {schedule!r} must be rate(N minutes|hours|days) or "
            "cron(minutes hours day-of-month month day-of-week year)"
        ]
    fields = match.group(1).split(" ")
    if len(fields) != len(CRON_FIELDS) or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        return [
            f"schedule {schedule!r} must have 6 fields ({' '.join(CRON_FIELDS)}) separated "
            "by single spaces, of digits, letters and * ? , / # -"
        ]
    if not re.fullmatch(r"[0-9]{1,2}", fields[0]) or int(fields[0]) > 59:
        return [
            f"schedule {schedule!r}: the minutes field must be one number 0-59 (at most one "
            f"run an hour), got {fields[0]!r}"
        ]
    if "?" not in (fields[2], fields[4]):
        return [f"schedule {schedule!r}: day-of-month or day-of-week must be ? (EventBridge)"]
    return []


class ContinuousEvaluation(StrictModel):
    """Golden prompts run on a schedule through each alias's Lambda alias ``live``."""

    schedule: str = Field(
        default=DEFAULT_SCHEDULE,
        max_length=256,
        description="EventBridge schedule, rate(...) or cron(...), at most hourly; "
        "default rate(1 day)",
    )
    sample: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SAMPLE,
        description="prompts per alias and run, drawn at random each run; default all",
    )
    environments: tuple[EnvName, ...] | None = Field(
        default=None,
        description="environments where it runs; default every environment with an alias "
        "of the family; [] turns it off",
    )

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        problems = schedule_errors(value)
        if problems:
            raise ValueError(problems[0])
        return value

    def runs_in(self, environment: str) -> bool:
        """Whether it runs in ``environment``."""
        return self.environments is None or environment in self.environments
