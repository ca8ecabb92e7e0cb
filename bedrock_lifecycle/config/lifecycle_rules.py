"""Lifecycle rules: the project's own version states, judged against a clock.

- an alias may not point at a retired version;
- an alias pointing at a deprecated version warns until the version's sunset
  date and is an error after it;
- retiring a version still used by an alias is an error naming those aliases.

Dates come from an injected ``today`` so that tests are deterministic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from .problems import Problem, Severity
from .schema import LifecycleFile, LifecycleState
from .semantic import alias_environments


def check_version_states(file: LifecycleFile, today: dt.date) -> Iterator[Problem]:
    for fam_name, family in file.families.items():
        users: dict[str, list[str]] = {}
        for alias_name, alias in family.aliases.items():
            by_label: dict[str, list[str]] = {}
            for env in alias_environments(file, family, alias_name):
                by_label.setdefault(alias.version_in(env), []).append(env)
            for label, envs in by_label.items():
                users.setdefault(label, []).append(f"{fam_name}/{alias_name} ({', '.join(envs)})")
        for label, version in family.versions.items():
            lc = version.lifecycle
            used_by = users.get(label, [])
            if not used_by:
                continue
            path = ("families", fam_name, "versions", label, "lifecycle", "state")
            if lc.state is LifecycleState.RETIRED:
                yield Problem(
                    path,
                    f"'retired' but still used by {'; '.join(used_by)}; move those aliases first",
                )
            elif lc.state is LifecycleState.DEPRECATED and lc.sunset is not None:
                if today > lc.sunset:
                    yield Problem(
                        path,
                        f"'deprecated' and past its sunset {lc.sunset.isoformat()}, still used "
                        f"by {'; '.join(used_by)}; move them to {lc.replacement!r}",
                    )
                else:
                    days = (lc.sunset - today).days
                    yield Problem(
                        path,
                        f"deprecated, sunset {lc.sunset.isoformat()} ({days} days); still used by "
                        f"{'; '.join(used_by)}; replacement: {lc.replacement!r}",
                        Severity.WARNING,
                    )


def check_lifecycle(file: LifecycleFile, today: dt.date) -> list[Problem]:
    """Every lifecycle problem of the file as of ``today``."""
    return list(check_version_states(file, today))
