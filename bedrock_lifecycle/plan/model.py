"""The plan as data: typed, immutable change records and risk flags, per environment.

:func:`bedrock_lifecycle.plan.compare.compare` builds a :class:`Plan`;
:mod:`bedrock_lifecycle.plan.render` prints it as text, Markdown or JSON. Every
record carries its plain-words ``text`` (what the text and Markdown formats
print) and, where it helps a machine, the ``before`` and ``after`` facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# A fact of a change record: what JSON can hold without nesting.
Scalar = str | int | float | bool | None
Facts = tuple[tuple[str, Scalar], ...]


class Kind(StrEnum):
    """What a change record is about."""

    ENVIRONMENT = "environment"
    ALIAS = "alias"
    VERSION = "version"
    THROUGHPUT = "throughput"
    AUDIT = "audit"
    GRANTS = "grants"


class RiskCode(StrEnum):
    """Stable codes of the risk flags (``--fail-on`` takes them; docs/plan.md explains each)."""

    COMMITTED_THROUGHPUT_BOUGHT = "committed-throughput-bought"
    COMMITTED_THROUGHPUT_REPLACED = "committed-throughput-replaced"
    THROUGHPUT_REPLACEMENT_REFUSED = "throughput-replacement-refused"
    COMMITTED_THROUGHPUT_REMOVED = "committed-throughput-removed"
    VERSION_RETIRED = "version-retired"
    VERSION_CONTENT_CHANGED = "version-content-changed"
    ALIAS_REMOVED = "alias-removed"
    ALIAS_ONTO_LEGACY_MODEL = "alias-onto-legacy-model"
    ALARM_REMOVED = "alarm-removed"
    ALARM_WEAKENED = "alarm-weakened"
    GATE_REMOVED = "gate-removed"
    GATE_WEAKENED = "gate-weakened"
    CONTINUOUS_EVALUATION_WEAKENED = "continuous-evaluation-weakened"
    ROLLOUT_FASTER = "rollout-faster"
    PROMPT_LOGGING_ON = "prompt-logging-on"
    AUDIT_RETENTION_SHORTENED = "audit-retention-shortened"
    OBJECT_LOCK_WEAKENED = "object-lock-weakened"
    INVOCATION_LOGGING_OFF = "invocation-logging-off"
    ENVIRONMENT_REMOVED = "environment-removed"
    ENVIRONMENT_MOVED = "environment-moved"
    CANARY_ANALYSIS_WEAKENED = "canary-analysis-weakened"
    ALARM_EMAILS_REMOVED = "alarm-emails-removed"
    PROJECT_RENAMED = "project-renamed"


RISK_CODES: tuple[str, ...] = tuple(code.value for code in RiskCode)


def facts(values: Mapping[str, Scalar]) -> Facts:
    """``values`` as the immutable pairs a record holds, in the given order."""
    return tuple(values.items())


@dataclass(frozen=True)
class Change:
    """One change in one environment.

    :param kind: what it is about.
    :param object: the object's name: ``summarizer/live``, ``summarizer/v2``, the
        throughput's name, ``audit``, the family (grants) or the environment.
    :param action: a short verb: ``added``, ``removed``, ``moved``, ``changed``,
        ``replaced``, ``refused``, ``updated``, ``deprecated``, ``retired``, ...
    :param text: the plain-words line, without the environment.
    :param before: facts before the change. Default: none.
    :param after: facts after it. Default: none.
    """

    kind: Kind
    object: str
    action: str
    text: str
    before: Facts = ()
    after: Facts = ()


@dataclass(frozen=True)
class Risk:
    """A risk flag: a change a reviewer must look at before approving."""

    code: RiskCode
    environment: str
    object: str
    message: str

    def line(self) -> str:
        """``<code>: <environment>: <object>: <message>``."""
        return f"{self.code.value}: {self.environment}: {self.object}: {self.message}"


@dataclass(frozen=True)
class EnvironmentPlan:
    """Everything that changes in one environment (one stack).

    :param status: ``new``, ``removed``, ``changed`` or ``unchanged``.
    :param warnings: lifecycle warnings as of the plan's day (deprecated versions
        and their sunset, Legacy models, ends of life within the watcher's window).
    """

    name: str
    status: str
    changes: tuple[Change, ...] = ()
    risks: tuple[Risk, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """A head lifecycle file compared with its base, as of ``today``.

    :param base: how the base is named (a path or ``<ref>:<path>``); None: no base,
        everything is new.
    :param base_not_found: ``<ref>:<path>`` when ``--base`` is a git ref where the file
        does not exist (then ``base`` is None: everything is new). Default: None.
    """

    head: str
    base: str | None
    today: dt.date
    environments: tuple[EnvironmentPlan, ...] = field(default=())
    base_not_found: str | None = None

    @property
    def risks(self) -> tuple[Risk, ...]:
        """Every risk flag, environment by environment."""
        return tuple(r for env in self.environments for r in env.risks)

    @property
    def changed(self) -> bool:
        """Whether anything at all changes."""
        return any(env.changes for env in self.environments)
