"""Lifecycle rules with a fixed clock and a test catalog: version states and Bedrock's states."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from bedrock_lifecycle.catalog import CatalogEntry, ModelCatalog, ProviderStatus
from bedrock_lifecycle.cli import main
from bedrock_lifecycle.config import ConfigError, Severity, load_lifecycle
from bedrock_lifecycle.config.lifecycle_rules import check_lifecycle
from bedrock_lifecycle.config.schema import LifecycleFile

LEGACY = "anthropic.claude-3-haiku-20240307-v1:0"
ACTIVE = "anthropic.claude-haiku-4-5-20251001-v1:0"
ENDED = "anthropic.claude-v2:1"
NOVA = "amazon.nova-pro-v1:0"
SUNSET = dt.date(2027, 6, 30)


def _utc(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


CATALOG = ModelCatalog(
    entries={
        LEGACY: CatalogEntry(
            LEGACY,
            ProviderStatus.LEGACY,
            legacy=_utc("2026-08-15"),
            public_extended_access=_utc("2027-02-15"),
            end_of_life=_utc("2027-08-15"),
        ),
        ACTIVE: CatalogEntry(ACTIVE, ProviderStatus.ACTIVE),
        ENDED: CatalogEntry(ENDED, ProviderStatus.LEGACY, end_of_life=_utc("2026-07-01")),
        NOVA: CatalogEntry(NOVA, ProviderStatus.ACTIVE),
    }
)


def _file(
    versions: dict, aliases: dict, envs: tuple[str, ...] = ("dev", "prod"), **extra
) -> LifecycleFile:
    return LifecycleFile.model_validate(
        {
            "schema_version": 1,
            "environments": {e: {"provisioned_throughput": True} for e in envs},
            "families": {"s": {"versions": versions, "aliases": aliases}},
            **extra,
        }
    )


def _fm(model: str, **lifecycle) -> dict:
    version: dict = {"target": {"foundation_model": model}}
    if lifecycle:
        version["lifecycle"] = lifecycle
    return version


def _deprecated() -> dict:
    return _fm(ACTIVE, state="deprecated", sunset=SUNSET.isoformat(), replacement="v2")


def _check(file, today=dt.date(2026, 11, 26), previous=None):
    return check_lifecycle(file, today, catalog=CATALOG, previous=previous)


# -- version states ---------------------------------------------------------------------------


def test_deprecated_version_warns_before_its_sunset():
    file = _file({"v1": _deprecated(), "v2": _fm(ACTIVE)}, {"pinned": {"version": "v1"}})
    (problem,) = _check(file, today=SUNSET)  # the sunset day itself is still allowed
    assert problem.severity is Severity.WARNING
    assert problem.path == ("families", "s", "versions", "v1", "lifecycle", "state")
    assert problem.message == (
        "deprecated, sunset 2027-06-30 (0 days); still used by s/pinned (dev, prod); "
        "replacement: 'v2'"
    )
    assert problem.envs == ("dev", "prod")


def test_deprecated_version_warns_the_day_before_its_sunset_with_one_day_left():
    file = _file({"v1": _deprecated(), "v2": _fm(ACTIVE)}, {"pinned": {"version": "v1"}})
    (problem,) = _check(file, today=SUNSET - dt.timedelta(days=1))
    assert problem.severity is Severity.WARNING
    assert "sunset 2027-06-30 (1 days)" in problem.message


def test_deprecated_version_is_an_error_after_its_sunset():
    file = _file({"v1": _deprecated(), "v2": _fm(ACTIVE)}, {"pinned": {"version": "v1"}})
    (problem,) = _check(file, today=SUNSET + dt.timedelta(days=1))
    assert problem.severity is Severity.ERROR
    assert problem.message == (
        "'deprecated' and past its sunset 2027-06-30, still used by s/pinned (dev, prod); "
        "move them to 'v2'"
    )


def test_deprecated_version_nobody_uses_is_silent_even_after_sunset():
    file = _file({"v1": _deprecated(), "v2": _fm(ACTIVE)}, {"live": {"version": "v2"}})
    assert _check(file, today=dt.date(2030, 1, 1)) == []


def test_retiring_a_version_still_used_names_every_alias_and_environment():
    file = _file(
        {"v1": _fm(ACTIVE, state="retired"), "v2": _fm(ACTIVE)},
        {
            "live": {"version": "v2", "environment_versions": {"prod": "v1"}},
            "pinned": {"version": "v1", "environments": ["dev"]},
        },
    )
    (problem,) = _check(file)
    assert problem.severity is Severity.ERROR
    assert problem.message == (
        "'retired' but still used by s/live (prod); s/pinned (dev); move those aliases first"
    )
    assert set(problem.envs) == {"dev", "prod"}


def test_retiring_a_version_used_in_one_environment_only_concerns_that_environment():
    # live serves v1 in prod only: the error lands on the prod stack, dev is untouched.
    file = _file(
        {"v1": _fm(ACTIVE, state="retired"), "v2": _fm(ACTIVE)},
        {"live": {"version": "v2", "environment_versions": {"prod": "v1"}}},
    )
    (problem,) = _check(file)
    assert problem.severity is Severity.ERROR
    assert problem.message == "'retired' but still used by s/live (prod); move those aliases first"
    assert problem.envs == ("prod",)


def test_retired_version_no_alias_uses_is_fine():
    file = _file({"v1": _fm(ACTIVE, state="retired"), "v2": _fm(ACTIVE)}, {"l": {"version": "v2"}})
    assert _check(file) == []


# -- provider states from the catalog -------------------------------------------------------


def test_alias_staying_on_a_legacy_model_warns_with_its_end_of_life():
    file = _file({"v1": _fm(LEGACY)}, {"live": {"version": "v1"}})
    previous = {"dev": {"s/live": "v1"}, "prod": {"s/live": "v1"}}
    (problem,) = _check(file, previous=previous)
    assert problem.severity is Severity.WARNING
    assert problem.path == ("families", "s", "aliases", "live")
    assert problem.message == (
        f"version 'v1' runs on {LEGACY}, which Bedrock marks LEGACY (since 2026-08-15, public "
        "extended access from 2027-02-15, end of life 2027-08-15 (262 days)), in dev, prod; "
        "plan the move to an active model (docs/governance.md)"
    )


def test_moving_an_alias_onto_a_legacy_model_is_an_error_only_where_it_moves():
    file = _file(
        {"v1": _fm(LEGACY), "v2": _fm(ACTIVE)},
        {"live": {"version": "v1"}},
    )
    previous = {"dev": {"s/live": "v1"}, "prod": {"s/live": "v2"}}
    problems = _check(file, previous=previous)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    warnings = [p for p in problems if p.severity is Severity.WARNING]
    assert [p.envs for p in errors] == [("prod",)]
    assert errors[0].message.startswith(f"moves to version 'v1' on {LEGACY}, which Bedrock marks")
    assert errors[0].message.endswith("in prod; choose a version on an active model")
    assert [p.envs for p in warnings] == [("dev",)]


def test_a_new_alias_created_on_a_legacy_model_is_a_move():
    file = _file({"v1": _fm(LEGACY)}, {"live": {"version": "v1"}})
    problems = _check(file, previous={"dev": {}, "prod": {}})
    assert {p.severity for p in problems} == {Severity.ERROR}


def test_a_new_version_on_the_same_legacy_model_is_not_a_move():
    # Changing the prompt of a version on a Legacy model keeps the alias on that model.
    file = _file(
        {"v1": _fm(LEGACY), "v1b": {**_fm(LEGACY), "system_prompt": "Shorter."}},
        {"live": {"version": "v1b"}},
    )
    problems = _check(file, previous={"dev": {"s/live": "v1"}, "prod": {"s/live": "v1"}})
    assert {p.severity for p in problems} == {Severity.WARNING}


def test_without_recorded_positions_no_alias_counts_as_moving():
    file = _file({"v1": _fm(LEGACY)}, {"live": {"version": "v1"}})
    assert {p.severity for p in _check(file, previous=None)} == {Severity.WARNING}


def test_a_model_past_its_end_of_life_is_an_error_even_when_staying():
    file = _file({"v1": _fm(ENDED)}, {"live": {"version": "v1"}})
    (problem,) = _check(file, previous={"dev": {"s/live": "v1"}, "prod": {"s/live": "v1"}})
    assert problem.severity is Severity.ERROR
    assert problem.message == (
        f"{ENDED} reached its end of life on 2026-07-01: Bedrock refuses every call; version "
        "'v1' no longer works in dev, prod; move the alias to a version on an active model"
    )


def test_end_of_life_day_itself_is_already_an_error():
    file = _file({"v1": _fm(LEGACY)}, {"live": {"version": "v1"}})
    previous = {"dev": {"s/live": "v1"}, "prod": {"s/live": "v1"}}
    day_before = _check(file, today=dt.date(2027, 8, 14), previous=previous)
    on_the_day = _check(file, today=dt.date(2027, 8, 15), previous=previous)
    assert [p.severity for p in day_before] == [Severity.WARNING]
    assert [p.severity for p in on_the_day] == [Severity.ERROR]


def test_inference_profile_and_throughput_resolve_to_their_models():
    file = _file(
        {
            "v1": {"target": {"inference_profile": f"us.{LEGACY}"}},
            "v2": {"target": {"provisioned_throughput": "pt"}},
        },
        {"a": {"version": "v1"}, "b": {"version": "v2", "environments": ["prod"]}},
        provisioned_throughputs={
            "pt": {"model": f"{ENDED}:200k", "model_units": 1, "environments": ["prod"]}
        },
    )
    problems = _check(file, previous=None)
    assert [(p.path[-1], p.severity) for p in problems] == [
        ("a", Severity.WARNING),
        ("b", Severity.ERROR),
    ]
    assert ENDED in problems[1].message


def test_a_model_missing_from_the_catalog_warns():
    file = _file({"v1": _fm("meta.llama3-70b-instruct-v1:0")}, {"live": {"version": "v1"}})
    (problem,) = _check(file)
    assert problem.severity is Severity.WARNING
    assert problem.message.startswith(
        "meta.llama3-70b-instruct-v1:0 (used by s/live (dev), s/live (prod)) is not in the "
        "model catalog snapshot"
    )


# -- through the loader and the CLI (the lock holds the alias positions) ---------------------


def _write(tmp_path: Path, live: str) -> Path:
    path = tmp_path / "lifecycle.yaml"
    body = {
        "schema_version": 1,
        "environments": {"dev": {}},
        "families": {
            "s": {
                "versions": {
                    "v1": {"target": {"foundation_model": ACTIVE}},
                    "v2": {"target": {"foundation_model": LEGACY}},
                },
                "aliases": {"live": {"version": live}},
            }
        },
    }
    path.write_text(json.dumps(body))
    return path


def test_lock_records_positions_and_refuses_to_launder_a_move_onto_legacy(tmp_path, capsys):
    path = _write(tmp_path, "v1")
    assert main(["lock", str(path)]) == 0
    lock = json.loads((tmp_path / "lifecycle.lock").read_text())
    assert lock["aliases"] == {"dev": {"s/live": "v1"}}
    capsys.readouterr()

    path = _write(tmp_path, "v2")  # the pull request moves live onto the Legacy model
    assert main(["validate", str(path)]) == 2
    assert f"moves to version 'v2' on {LEGACY}" in capsys.readouterr().err
    assert main(["lock", str(path)]) == 2  # the lock cannot be rewritten to hide the move
    assert json.loads((tmp_path / "lifecycle.lock").read_text())["aliases"] == lock["aliases"]
    with pytest.raises(ConfigError, match="choose a version on an active model"):
        load_lifecycle(path, clock=lambda: dt.date(2026, 11, 26))


def test_lock_prints_alias_moves_it_records(tmp_path, capsys):
    _write(tmp_path, "v1")
    # A lock whose recorded position is v2 (the Legacy one): moving back to v1 is fine.
    (tmp_path / "lifecycle.lock").write_text(
        json.dumps(
            {
                "format": 1,
                "versions": {},
                "aliases": {"dev": {"s/live": "v2"}},
            }
        )
    )
    assert main(["lock", str(tmp_path / "lifecycle.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "lifecycle.lock: dev: s/live v2 -> v1" in out


# -- every error rule through `bedrock-lifecycle validate`: exit 2, one line, no traceback -----

ENDED_LONG_AGO = "anthropic.claude-v2:1"  # CATALOG: end of life 2026-07-01, before any real today
NO_DATES_LEGACY = "meta.llama3-8b-instruct-v1:0"
CLI_CATALOG = ModelCatalog(
    entries={
        **CATALOG.entries,
        NO_DATES_LEGACY: CatalogEntry(NO_DATES_LEGACY, ProviderStatus.LEGACY),
    }
)


def _cli_file(tmp_path: Path, versions: dict, live: str, aliases_lock: dict | None) -> Path:
    path = tmp_path / "lifecycle.yaml"
    body = {
        "schema_version": 1,
        "environments": {"dev": {}},
        "families": {"s": {"versions": versions, "aliases": {"live": {"version": live}}}},
    }
    path.write_text(json.dumps(body))
    if aliases_lock is not None:
        lock = {"format": 1, "versions": {}, "aliases": aliases_lock}
        (tmp_path / "lifecycle.lock").write_text(json.dumps(lock))
    return path


@pytest.mark.parametrize(
    ("versions", "live", "aliases_lock", "line"),
    [
        (
            {"v1": _fm(ACTIVE, state="retired"), "v2": _fm(ACTIVE)},
            "v1",
            None,
            "families.s.versions.v1.lifecycle.state: 'retired' but still used by s/live (dev); "
            "move those aliases first",
        ),
        (
            {
                "v1": _fm(ACTIVE, state="deprecated", sunset="2001-01-01", replacement="v2"),
                "v2": _fm(ACTIVE),
            },
            "v1",
            None,
            "families.s.versions.v1.lifecycle.state: 'deprecated' and past its sunset 2001-01-01, "
            "still used by s/live (dev); move them to 'v2'",
        ),
        (
            {"v1": _fm(ACTIVE), "v2": _fm(NO_DATES_LEGACY)},
            "v2",
            {"dev": {"s/live": "v1"}},
            f"families.s.aliases.live: moves to version 'v2' on {NO_DATES_LEGACY}, which Bedrock "
            "marks LEGACY (no end-of-life date published), in dev; choose a version on an active "
            "model",
        ),
        (
            {"v1": _fm(ENDED_LONG_AGO)},
            "v1",
            {"dev": {"s/live": "v1"}},
            f"families.s.aliases.live: {ENDED_LONG_AGO} reached its end of life on 2026-07-01: "
            "Bedrock refuses every call; version 'v1' no longer works in dev; move the alias to a "
            "version on an active model",
        ),
    ],
    ids=["retired", "past-sunset", "moves-onto-legacy", "end-of-life"],
)
def test_validate_prints_each_error_rule_as_one_line_and_exits_2(
    tmp_path, capsys, monkeypatch, versions, live, aliases_lock, line
):
    # The real clock: every date above is far enough in the past to stay an error.
    from bedrock_lifecycle.config import lifecycle_rules

    monkeypatch.setattr(lifecycle_rules, "shipped_catalog", lambda: CLI_CATALOG)
    path = _cli_file(tmp_path, versions, live, aliases_lock)
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert (out, err.splitlines()) == ("", [f"{path}: {line}"])
    assert "Traceback" not in err


# -- at synth: warnings land on the alias constructs of the environments concerned -----------


@pytest.mark.parametrize(
    "pattern",
    ["Bedrock marks LEGACY", r"versions\.v1\.lifecycle\.state: deprecated, sunset 2027-06-30"],
    ids=["legacy-model", "deprecated-version"],
)
def test_synth_warnings_land_on_the_aliases_concerned(synthesized, pattern):
    def warnings(env: str) -> list[str]:
        found = synthesized.warnings(env)
        return sorted(path for path, text in found if re.search(pattern, text))

    assert warnings("dev") == []  # pinned-v1 does not exist in dev
    for env in ("staging", "prod"):
        assert warnings(env) == [f"/BedrockLifecycle-{env}/Aliases/SummarizerPinnedV1"]
