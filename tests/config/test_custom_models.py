"""``custom_models:``: Legacy and end of life inherited from the base model, every refusal
as one line, the lock's records, and a fuzz of the declarations.

Every file here is judged against a test catalog (monkeypatched where the checks read
the shipped snapshot) and a fixed clock, so a catalog refresh changes nothing here.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bedrock_lifecycle.catalog import CatalogEntry, ModelCatalog, ProviderStatus
from bedrock_lifecycle.config import ConfigError, LifecycleConfig, lifecycle_rules, load_lifecycle
from bedrock_lifecycle.config import custom_models as custom_models_module
from bedrock_lifecycle.config.lockfile import updated_lock
from bedrock_lifecycle.config.schema import LifecycleFile
from bedrock_lifecycle.values import custom_model_hash
from bedrock_lifecycle.values.customization import (
    Customization,
    CustomModelSpec,
    InvocationLogData,
    JobNetwork,
    TrainingData,
)
from tests.conftest import FIXED_TODAY, SHIPPED_FILE

ACCOUNT = "111111111111"
REGION = "us-east-1"
BASE = "amazon.nova-lite-v1:0"  # FINE_TUNING and DISTILLATION in the test catalog
TEACHER = "amazon.nova-pro-v1:0"
UNCUSTOMIZABLE = "anthropic.claude-haiku-4-5-20251001-v1:0"  # takes no customization
UNKNOWN = "meta.llama3-8b-instruct-v1:0"  # not in the test catalog
ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/{BASE}/abc123def456"
OTHER_ACCOUNT_ARN = ARN.replace(ACCOUNT, "999999999999")
OTHER_REGION_ARN = ARN.replace(REGION, "eu-west-1")

LEGACY_ON = dt.datetime(2027, 1, 15, tzinfo=dt.UTC)
END_OF_LIFE = dt.datetime(2027, 7, 15, tzinfo=dt.UTC)
AFTER_LEGACY = dt.date(2027, 3, 1)  # 136 days before the end of life


def _catalog(base_status: ProviderStatus) -> ModelCatalog:
    """The snapshot as Bedrock reports it: BASE ACTIVE (its Legacy date scheduled) before
    the Legacy date, LEGACY after it; the dates are the same in both."""
    tuning = ("DISTILLATION", "FINE_TUNING")
    return ModelCatalog(
        entries={
            BASE: CatalogEntry(
                BASE,
                base_status,
                legacy=LEGACY_ON,
                end_of_life=END_OF_LIFE,
                customizations=tuning,
            ),
            TEACHER: CatalogEntry(TEACHER, ProviderStatus.ACTIVE, customizations=tuning),
            UNCUSTOMIZABLE: CatalogEntry(UNCUSTOMIZABLE, ProviderStatus.ACTIVE, customizations=()),
        }
    )


ACTIVE_CATALOG = _catalog(ProviderStatus.ACTIVE)
LEGACY_CATALOG = _catalog(ProviderStatus.LEGACY)


def _use(monkeypatch: pytest.MonkeyPatch, catalog: ModelCatalog) -> None:
    """Both readers of the shipped snapshot: the lifecycle rules and the customization check."""
    monkeypatch.setattr(lifecycle_rules, "shipped_catalog", lambda: catalog)
    monkeypatch.setattr(custom_models_module, "shipped_catalog", lambda: catalog)


@pytest.fixture(autouse=True)
def _test_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, ACTIVE_CATALOG)


def _job(**changes: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "base_model": BASE,
        "type": "FINE_TUNING",
        "environments": ["dev"],
        "training_data": {"s3_uri": "s3://training-bucket/summaries/train.jsonl"},
        "output_uri": "s3://training-bucket/summaries/output/",
    }
    job.update(changes)
    return job


def _doc(target: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """One environment (dev, its account and region declared), custom model ``tuned`` (a
    declared job in dev), version v1 on ``target`` (default: tuned), alias live on v1."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "environments": {
            "dev": {"account": ACCOUNT, "region": REGION, "provisioned_throughput": True}
        },
        "custom_models": {"tuned": {"customization": _job()}},
        "families": {
            "s": {
                "versions": {
                    "v1": {"target": target or {"custom_model": "tuned", "deployment": "on_demand"}}
                },
                "aliases": {"live": {"version": "v1"}},
            }
        },
    }
    doc.update(extra)
    return doc


def _write(
    folder: Path,
    doc: dict[str, Any],
    *,
    models: dict[str, dict[str, str]] | None = None,
    lock_doc: dict[str, Any] | None = None,
) -> Path:
    """The file, and a lock as `bedrock-lifecycle lock` writes it (of ``lock_doc``, default
    ``doc``) with ``models`` recorded as `customize status` records them (default: the
    model of every declared job in every environment it runs in)."""
    path = folder / "lifecycle.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    locked = LifecycleFile.model_validate(lock_doc if lock_doc is not None else doc)
    lock = json.loads(updated_lock(locked, None)[0].render())
    if models is None:
        models = {
            name: dict.fromkeys(spec.customization.environments, ARN)
            for name, spec in locked.custom_models.items()
            if spec.customization is not None
        }
    for name, by_env in models.items():
        lock["custom_models"][name]["models"].update(by_env)
    path.with_suffix(".lock").write_text(json.dumps(lock), encoding="utf-8")
    return path


def _lines(path: Path, today: dt.date = FIXED_TODAY) -> tuple[list[str], LifecycleConfig | None]:
    """Every line validation prints (errors, or the warnings of a file that loads)."""
    try:
        config = load_lifecycle(path, clock=lambda: today)
    except ConfigError as exc:
        return exc.lines(), None
    return [w.render(config.label) for w in config.warnings], config


def _errors(path: Path, today: dt.date = FIXED_TODAY) -> list[str]:
    lines, config = _lines(path, today)
    assert config is None, f"loaded, with warnings {lines}"
    return lines


def test_a_declared_job_with_its_model_recorded_loads_without_a_word(tmp_path):
    path = _write(tmp_path, _doc())
    lines, config = _lines(path)
    assert lines == []
    assert config is not None
    assert config.custom_model_arn("tuned", "dev") == ARN


def test_the_shipped_file_serves_its_fine_tuned_model_in_staging_only(monkeypatch):
    _use(monkeypatch, ModelCatalog.load())  # the shipped snapshot
    config = load_lifecycle(SHIPPED_FILE, clock=lambda: FIXED_TODAY)
    recorded = json.loads(SHIPPED_FILE.with_suffix(".lock").read_text())["custom_models"]
    assert (
        config.custom_model_arn("summarizer-lite", "staging")
        == (recorded["summarizer-lite"]["models"]["staging"])
    )
    assert config.custom_model_arn("summarizer-lite", "prod") is None
    served = {(a.environment, a.version_label) for a in config.aliases_for("staging")}
    assert ("staging", "v3") in served
    assert all(a.version_label != "v3" for a in config.aliases_for("prod"))


# -- Legacy and end of life, inherited from the base model ----------------------------------

# The version's target, and what else the file declares for it.
IMPORTED = {"model_arn": ARN, "base_model": BASE}
TARGETS: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    # id: (target, custom_models added, provisioned_throughputs)
    "base-model-itself": ({"foundation_model": BASE}, {}, {}),
    "customization": ({"custom_model": "tuned", "deployment": "on_demand"}, {}, {}),
    "model-arn-with-base-model": ({"custom_model": "imported"}, {"imported": IMPORTED}, {}),
    "throughput-of-customization": (
        {"provisioned_throughput": "pt"},
        {},
        {"pt": {"custom_model": "tuned", "model_units": 1, "environments": ["dev"]}},
    ),
    "throughput-of-model-arn": (
        {"provisioned_throughput": "pt"},
        {"imported": IMPORTED},
        {"pt": {"custom_model": "imported", "model_units": 1, "environments": ["dev"]}},
    ),
}


def _targeting(name: str) -> dict[str, Any]:
    target, models, throughputs = TARGETS[name]
    doc = _doc(target, provisioned_throughputs=throughputs)
    doc["custom_models"].update(copy.deepcopy(models))
    return doc


def _legacy_warning(days: int) -> str:
    return (
        f"families.s.aliases.live: warning: version 'v1' runs on {BASE}, which Bedrock marks "
        f"LEGACY (since 2027-01-15, end of life 2027-07-15 ({days} days)), in dev; plan the "
        "move to an active model (docs/governance.md)"
    )


END_OF_LIFE_ERROR = (
    f"families.s.aliases.live: {BASE} reached its end of life on 2027-07-15: Bedrock refuses "
    "every call; version 'v1' no longer works in dev; move the alias to a version on an "
    "active model"
)


# base-model-itself is the reference: a custom model of BASE, targeted directly or through
# a throughput, gets the very same line as a version on BASE.
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize(
    ("catalog", "today", "expected"),
    [
        (ACTIVE_CATALOG, FIXED_TODAY, None),
        (LEGACY_CATALOG, AFTER_LEGACY, _legacy_warning(136)),
        (LEGACY_CATALOG, END_OF_LIFE.date() - dt.timedelta(days=1), _legacy_warning(1)),
        (LEGACY_CATALOG, END_OF_LIFE.date(), END_OF_LIFE_ERROR),
        (LEGACY_CATALOG, dt.date(2030, 1, 1), END_OF_LIFE_ERROR),
    ],
    ids=["before-legacy", "after-legacy", "day-before-end", "end-of-life-day", "long-after"],
)
def test_a_custom_model_inherits_its_base_models_legacy_and_end_of_life(
    tmp_path, monkeypatch, target, catalog, today, expected
):
    _use(monkeypatch, catalog)
    path = _write(tmp_path, _targeting(target))
    lines, config = _lines(path, today)
    assert lines == ([] if expected is None else [f"{path}: {expected}"])
    assert (config is None) == (expected is END_OF_LIFE_ERROR)  # an error refuses the file


@pytest.mark.parametrize("target", ["customization", "model-arn-with-base-model"])
def test_moving_an_alias_onto_a_custom_model_of_a_legacy_base_is_an_error(
    tmp_path, monkeypatch, target
):
    _use(monkeypatch, LEGACY_CATALOG)
    doc = _targeting(target)
    doc["families"]["s"]["versions"]["v0"] = {"target": {"foundation_model": TEACHER}}
    before = copy.deepcopy(doc)
    before["families"]["s"]["aliases"]["live"]["version"] = "v0"
    path = _write(tmp_path, doc, lock_doc=before)  # the lock records live on v0
    assert _errors(path, AFTER_LEGACY) == [
        f"{path}: families.s.aliases.live: moves to version 'v1' on {BASE}, which Bedrock marks "
        "LEGACY (since 2027-01-15, end of life 2027-07-15 (136 days)), in dev; choose a version "
        "on an active model"
    ]


@pytest.mark.parametrize("through_throughput", [False, True], ids=["direct", "throughput"])
@pytest.mark.parametrize("today", [FIXED_TODAY, dt.date(2030, 1, 1)], ids=["now", "2030"])
def test_a_model_arn_without_base_model_is_not_judged(
    tmp_path, monkeypatch, through_throughput, today
):
    _use(monkeypatch, LEGACY_CATALOG)
    throughputs = {"pt": {"custom_model": "imported", "model_units": 1, "environments": ["dev"]}}
    doc = _doc(
        {"provisioned_throughput": "pt"} if through_throughput else {"custom_model": "imported"},
        provisioned_throughputs=throughputs if through_throughput else {},
    )
    doc["custom_models"] = {"imported": {"model_arn": ARN}}
    assert _lines(_write(tmp_path, doc), today)[0] == []


# -- refusals, each one line -----------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], object]


def _set_job(**changes: Any) -> Mutation:
    return lambda doc: doc["custom_models"]["tuned"]["customization"].update(changes)


def _set_env(**changes: Any) -> Mutation:
    return lambda doc: doc["environments"]["dev"].update(changes)


def _add_prod(doc: dict[str, Any]) -> None:
    doc["environments"]["prod"] = {"account": "222222222222", "region": REGION}


def _target(**target: Any) -> Mutation:
    return lambda doc: doc["families"]["s"]["versions"]["v1"].update(target=target)


def _throughput(custom_model: str, environments: list[str]) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        doc["provisioned_throughputs"] = {
            "pt": {"custom_model": custom_model, "model_units": 1, "environments": environments}
        }
        doc["families"]["s"]["versions"]["v1"]["target"] = {"provisioned_throughput": "pt"}

    return mutate


def _model(spec: dict[str, Any], name: str = "tuned") -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        doc["custom_models"] = {name: spec}
        doc["families"]["s"]["versions"]["v1"]["target"] = {"custom_model": name}

    return mutate


def _rename(name: str) -> Mutation:
    return lambda doc: doc["custom_models"].update({name: doc["custom_models"].pop("tuned")})


def _all(*mutations: Mutation) -> Mutation:
    return lambda doc: [m(doc) for m in mutations]


LOGS = {"invocation_logs": {"request_metadata": {"alias": "s/live"}}}
DISTILLING = {"type": "DISTILLATION", "teacher_model": TEACHER, "training_data": LOGS}
AT_JOB = "custom_models.tuned.customization"
AT_LOGS = f"{AT_JOB}.training_data.invocation_logs"
ABSENT = (
    "custom model 'tuned' does not exist in {envs} (its customization's environments, or the "
    "account and region of its model_arn); run the job there or limit where it is used"
)
SCHEMA_REFUSALS: list[tuple[str, Mutation, str]] = [
    (
        "reinforcement-fine-tuning",
        _set_job(type="REINFORCEMENT_FINE_TUNING"),
        f"{AT_JOB}: type REINFORCEMENT_FINE_TUNING cannot be declared yet: Bedrock needs a "
        "grader for it (customizationConfig.rftConfig), which this file has no field for; run "
        "the job outside this file and declare its model with model_arn and base_model",
    ),
    (
        "both-model-arn-and-customization",
        lambda doc: doc["custom_models"]["tuned"].update(model_arn=ARN),
        "custom_models.tuned: exactly one of model_arn, customization must be set",
    ),
    (
        "neither-model-arn-nor-customization",
        _model({"description": "made somewhere"}),
        "custom_models.tuned: exactly one of model_arn, customization must be set",
    ),
    (
        "base-model-beside-customization",
        lambda doc: doc["custom_models"]["tuned"].update(base_model=BASE),
        "custom_models.tuned: base_model goes with model_arn; a customization has base_model",
    ),
    (
        "name-with-double-dash",
        _rename("tuned--v2"),
        "custom_models.tuned--v2: 'tuned--v2': does not match the allowed pattern "
        "^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
    ),
    (
        "name-ending-in-dash",
        _rename("tuned-"),
        "custom_models.tuned-: 'tuned-': does not match the allowed pattern "
        "^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
    ),
    (
        "name-over-32-characters",
        _rename("t" * 33),
        f"custom_models.{'t' * 33}: '{'t' * 33}': string should have at most 32 characters",
    ),
    (
        "target-name-over-32-characters",
        _target(custom_model="t" * 33),
        f"families.s.versions.v1.target.custom_model: '{'t' * 33}': string should have at most "
        "32 characters",
    ),
    (
        "deployment-on-a-foundation-model",
        _target(foundation_model=BASE, deployment="on_demand"),
        "families.s.versions.v1.target: deployment applies to custom_model targets only",
    ),
    (
        "deployment-on-a-throughput",
        _all(
            _throughput("tuned", ["dev"]),
            _target(provisioned_throughput="pt", deployment="on_demand"),
        ),
        "families.s.versions.v1.target: deployment applies to custom_model targets only",
    ),
    (
        "distillation-without-teacher",
        _set_job(type="DISTILLATION"),
        f"{AT_JOB}: a DISTILLATION needs teacher_model (the model it learns from)",
    ),
    (
        "teacher-of-a-fine-tuning",
        _set_job(teacher_model=TEACHER),
        f"{AT_JOB}: teacher_model and max_response_length apply to DISTILLATION only",
    ),
    (
        "environment-listed-twice",
        _set_job(environments=["dev", "dev"]),
        f"{AT_JOB}: environments lists dev more than once",
    ),
    (
        "both-training-sources",
        _set_job(training_data={"s3_uri": "s3://training-bucket/t.jsonl", **LOGS}),
        f"{AT_JOB}.training_data: exactly one of s3_uri, invocation_logs must be set",
    ),
    (
        "throughput-both-model-and-custom-model",
        _all(
            _throughput("tuned", ["dev"]),
            lambda doc: doc["provisioned_throughputs"]["pt"].update(model=BASE),
        ),
        "provisioned_throughputs.pt: exactly one of model, custom_model must be set",
    ),
]
SEMANTIC_REFUSALS: list[tuple[str, Mutation, str]] = [
    (
        "type-the-base-model-does-not-take",
        _set_job(type="CONTINUED_PRE_TRAINING"),
        f"{AT_JOB}.type: CONTINUED_PRE_TRAINING: Bedrock does not customize {BASE} so (the "
        "catalog snapshot lists DISTILLATION, FINE_TUNING); choose another base model or type",
    ),
    (
        "base-model-that-takes-no-customization",
        _set_job(base_model=UNCUSTOMIZABLE),
        f"{AT_JOB}.type: FINE_TUNING: Bedrock does not customize {UNCUSTOMIZABLE} so (the "
        "catalog snapshot lists no customization); choose another base model or type",
    ),
    (
        "job-environment-undeclared",
        _set_job(environments=["dev", "qa"]),
        f"{AT_JOB}.environments[1]: 'qa' is not a declared environment (declared: dev)",
    ),
    (
        "invocation-logs-of-a-fine-tuning",
        _all(_set_job(training_data=LOGS), _set_env(prompt_logging=True)),
        f"{AT_LOGS}: Bedrock takes invocation logs as training data for DISTILLATION only, got "
        "FINE_TUNING; use s3_uri, or type DISTILLATION with a teacher_model",
    ),
    (
        "invocation-logs-without-prompt-logging",
        _set_job(**DISTILLING),
        f"{AT_LOGS}: environment dev logs no prompt text (environments.dev.prompt_logging is "
        "false), so its invocation logs hold nothing to train on; set it, and read "
        "docs/fine-tuning.md on what that keeps",
    ),
    (
        "invocation-logs-without-invocation-logging",
        _all(
            _set_job(**DISTILLING),
            _set_env(prompt_logging=True, audit={"invocation_logging": False}),
        ),
        f"{AT_LOGS}: environment dev does not own Bedrock's invocation logging "
        "(environments.dev.audit.invocation_logging is false): its logs are not in its audit "
        "bucket",
    ),
    (
        "version-on-an-undeclared-custom-model",
        _target(custom_model="other"),
        "families.s.versions.v1.target.custom_model: 'other' is not a declared custom model "
        "(declared: tuned)",
    ),
    (
        "throughput-of-an-undeclared-custom-model",
        _throughput("other", ["dev"]),
        "provisioned_throughputs.pt.custom_model: 'other' is not a declared custom model "
        "(declared: tuned)",
    ),
    (
        "served-where-the-job-does-not-run",
        _add_prod,
        "families.s.aliases.live: serves version 'v1': " + ABSENT.format(envs="prod"),
    ),
    (
        "bought-where-the-job-does-not-run",
        _all(
            _add_prod,
            lambda doc: doc["environments"]["prod"].update(provisioned_throughput=True),
            _throughput("tuned", ["dev", "prod"]),
        ),
        "provisioned_throughputs.pt.custom_model: " + ABSENT.format(envs="prod"),
    ),
    (
        "model-arn-of-another-account",
        _model({"model_arn": OTHER_ACCOUNT_ARN, "base_model": BASE}),
        "families.s.aliases.live: serves version 'v1': " + ABSENT.format(envs="dev"),
    ),
    (
        "model-arn-of-another-region",
        _model({"model_arn": OTHER_REGION_ARN, "base_model": BASE}),
        "families.s.aliases.live: serves version 'v1': " + ABSENT.format(envs="dev"),
    ),
]


@pytest.mark.parametrize(
    ("mutate", "line"),
    [(m, line) for _, m, line in SCHEMA_REFUSALS + SEMANTIC_REFUSALS],
    ids=[name for name, _, _ in SCHEMA_REFUSALS + SEMANTIC_REFUSALS],
)
def test_each_refusal_is_its_one_line(tmp_path, mutate, line):
    doc = _doc()
    mutate(doc)
    path = tmp_path / "lifecycle.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    # Refused before the lock is read: none is needed.
    assert _errors(path) == [f"{path}: {line}"]


def test_an_unknown_base_model_warns_and_loads(tmp_path):
    doc = _doc()
    _set_job(base_model=UNKNOWN)(doc)
    path = _write(tmp_path, doc)
    lines, config = _lines(path)
    assert config is not None
    assert lines == [
        f"{path}: {AT_JOB}.base_model: warning: {UNKNOWN} is not in the catalog snapshot, or the "
        "snapshot does not say which customizations it takes; run `bedrock-lifecycle catalog "
        "refresh`",
        f"{path}: warning: {UNKNOWN} (used by s/live (dev)) is not in the model catalog "
        "snapshot; run `bedrock-lifecycle catalog refresh` so that its Legacy and end-of-life "
        "dates are checked",
    ]


def test_a_snapshot_that_does_not_say_which_customizations_warns(tmp_path, monkeypatch):
    silent = ModelCatalog(
        entries={**ACTIVE_CATALOG.entries, BASE: CatalogEntry(BASE, ProviderStatus.ACTIVE)}
    )
    _use(monkeypatch, silent)
    path = _write(tmp_path, _doc())
    assert _lines(path)[0] == [
        f"{path}: {AT_JOB}.base_model: warning: {BASE} is not in the catalog snapshot, or the "
        "snapshot does not say which customizations it takes; run `bedrock-lifecycle catalog "
        "refresh`"
    ]


def test_a_distillation_from_logs_that_are_kept_loads(tmp_path):
    doc = _doc()
    _all(_set_job(**DISTILLING), _set_env(prompt_logging=True))(doc)
    assert _lines(_write(tmp_path, doc))[0] == []


def test_a_32_character_name_is_allowed(tmp_path):
    doc = _doc()
    _model({"model_arn": ARN, "base_model": BASE}, "t" * 32)(doc)
    assert _lines(_write(tmp_path, doc))[0] == []


# -- the lock's records ----------------------------------------------------------------------

NOT_RECORDED = (
    "custom model 'tuned' has no model recorded for dev in lifecycle.lock yet; run "
    "`bedrock-lifecycle customize start tuned --environment dev`, then `bedrock-lifecycle "
    "customize status tuned` records it once the job has completed (a new custom model is "
    "locked before anything uses it)"
)


def test_a_version_before_its_job_recorded_a_model_names_the_commands(tmp_path):
    path = _write(tmp_path, _doc(), models={})
    assert _errors(path) == [f"{path}: families.s.versions.v1.target: {NOT_RECORDED}"]


def test_a_version_nothing_serves_yet_waits_for_its_model(tmp_path):
    """v2 serves nothing: the stacks leave it out (no grant, no deployment) until its model
    is recorded, so the job's environment can be deployed (its role) and the job run.
    Served, it needs the model."""
    doc = _doc({"foundation_model": TEACHER})
    doc["families"]["s"]["versions"]["v2"] = {"target": {"custom_model": "tuned"}}
    assert _lines(_write(tmp_path, doc, models={}))[0] == []
    doc["families"]["s"]["aliases"]["live"]["version"] = "v2"
    path = _write(tmp_path, doc, models={})
    assert _errors(path) == [f"{path}: families.s.versions.v2.target: {NOT_RECORDED}"]


def test_a_throughput_before_its_job_recorded_a_model_names_the_commands(tmp_path):
    # Bought whether or not a version uses it: it needs the model as soon as it is declared.
    doc = _doc()
    _all(_throughput("tuned", ["dev"]), _target(foundation_model=TEACHER))(doc)
    path = _write(tmp_path, doc, models={})
    assert _errors(path) == [f"{path}: provisioned_throughputs.pt.custom_model: {NOT_RECORDED}"]


def test_a_version_through_a_throughput_is_the_throughputs_one_line(tmp_path):
    doc = _doc()
    _throughput("tuned", ["dev"])(doc)
    path = _write(tmp_path, doc, models={})
    assert _errors(path) == [f"{path}: provisioned_throughputs.pt.custom_model: {NOT_RECORDED}"]


@pytest.mark.parametrize(
    "arn", [OTHER_ACCOUNT_ARN, OTHER_REGION_ARN], ids=["other-account", "other-region"]
)
def test_a_recorded_model_of_another_account_or_region_is_refused(tmp_path, arn):
    path = _write(tmp_path, _doc(), models={"tuned": {"dev": arn}})
    assert _errors(path) == [
        f"{path}: custom_models.tuned: lifecycle.lock records {arn} as its model in dev, which "
        f"is not in dev's account and region ({ACCOUNT}/{REGION}); remove that record, then run "
        "`bedrock-lifecycle customize start tuned --environment dev`"
    ]


def test_an_environment_agnostic_environment_takes_any_recorded_model(tmp_path):
    doc = _doc()
    doc["environments"]["dev"] = {}
    assert _lines(_write(tmp_path, doc, models={"tuned": {"dev": OTHER_REGION_ARN}}))[0] == []


def test_a_changed_declaration_needs_a_new_name(tmp_path):
    locked = _doc()
    doc = _doc()
    _set_job(hyperparameters={"epochCount": "3"})(doc)
    path = _write(tmp_path, doc, lock_doc=locked)
    before = custom_model_hash(CustomModelSpec.model_validate(locked["custom_models"]["tuned"]))
    after = custom_model_hash(CustomModelSpec.model_validate(doc["custom_models"]["tuned"]))
    assert _errors(path) == [
        f"{path}: custom_models.tuned: content changed since it was locked ({before[:12]} -> "
        f"{after[:12]}): a custom model is immutable once locked; declare the changed one under "
        "a new name"
    ]


def test_a_description_or_a_default_written_out_is_no_change(tmp_path):
    locked = _doc()
    doc = _doc()
    doc["custom_models"]["tuned"]["description"] = "Nova Lite on reviewed summaries."
    _set_job(validation_data=[], hyperparameters={})(doc)
    assert _lines(_write(tmp_path, doc, lock_doc=locked))[0] == []


def test_adding_an_environment_keeps_the_name_the_jobs_and_the_recorded_models(tmp_path):
    """Promoting a customization to prod runs the same job there: its hash, and the name
    and records of the environments it ran in, stay."""
    from bedrock_lifecycle.values import job_name

    locked = _doc()
    doc = _doc()
    doc["environments"]["prod"] = {"account": "222222222222", "region": REGION}
    _set_job(environments=["dev", "prod"])(doc)
    before = CustomModelSpec.model_validate(locked["custom_models"]["tuned"])
    after = CustomModelSpec.model_validate(doc["custom_models"]["tuned"])
    assert custom_model_hash(before) == custom_model_hash(after)
    assert job_name("p", "dev", "tuned", before, 1) == job_name("p", "dev", "tuned", after, 1)
    assert job_name("p", "dev", "tuned", after, 1) != job_name("p", "prod", "tuned", after, 1)
    # live serves v1 in prod too, where nothing is recorded yet; the declaration is the
    # one locked (prod itself is new to the lock too).
    problems = _errors(_write(tmp_path, doc, lock_doc=locked))
    assert any("no model recorded for prod" in p for p in problems), problems
    assert not [p for p in problems if "custom_models.tuned: content changed" in p], problems


def test_a_custom_model_the_lock_does_not_record_is_new(tmp_path):
    path = _write(tmp_path, _doc(), models={})
    lock = json.loads(path.with_suffix(".lock").read_text())
    del lock["custom_models"]
    path.with_suffix(".lock").write_text(json.dumps(lock))
    assert _errors(path) == [
        f"{path}: custom_models.tuned: new custom model not in lifecycle.lock; run "
        "`bedrock-lifecycle lock` and commit the lock with it"
    ]


# -- fuzz: whatever custom_models holds, one-line answers -----------------------------------

FIELDS = sorted(
    {
        name
        for model in (
            CustomModelSpec,
            Customization,
            TrainingData,
            InvocationLogData,
            JobNetwork,
        )
        for name in model.model_fields
    }
)
NAMES = ["tuned", "imported", "t" * 33, "a--b", "Tuned", "x-"]
PLAUSIBLE = [
    BASE,
    TEACHER,
    UNKNOWN,
    UNCUSTOMIZABLE,
    ARN,
    OTHER_ACCOUNT_ARN,
    "s3://training-bucket/t.jsonl",
    "dev",
    "prod",
    "FINE_TUNING",
    "DISTILLATION",
    "CONTINUED_PRE_TRAINING",
    "REINFORCEMENT_FINE_TUNING",
    "subnet-0123abcd",
    "sg-0123abcd",
]
names = st.one_of(
    st.sampled_from(NAMES), st.text(string.ascii_lowercase + "-", min_size=1, max_size=8)
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(PLAUSIBLE),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.one_of(st.sampled_from(FIELDS), st.text(max_size=6)), children, max_size=5
        ),
    ),
    max_leaves=25,
)
# Close to a declaration often: the known fields, with plausible or random values.
declarations = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6)
s3_uris = st.sampled_from(["s3://training-bucket/t.jsonl", "s3://training-bucket/out/", "s3://x"])
models = st.sampled_from([BASE, TEACHER, UNKNOWN, UNCUSTOMIZABLE, f"us.{TEACHER}"])
jobs = st.fixed_dictionaries(
    {
        "base_model": models,
        "environments": st.lists(st.sampled_from(["dev", "prod", "qa"]), min_size=1, max_size=2),
        "training_data": st.one_of(
            st.fixed_dictionaries({"s3_uri": s3_uris}),
            st.fixed_dictionaries(
                {
                    "invocation_logs": st.fixed_dictionaries(
                        {"request_metadata": st.just({"alias": "s/live"})}
                    )
                }
            ),
        ),
        "output_uri": s3_uris,
    },
    optional={
        "type": st.sampled_from(["FINE_TUNING", "DISTILLATION", "CONTINUED_PRE_TRAINING"]),
        "teacher_model": models,
        "max_response_length": st.integers(-1, 40_000),
        "validation_data": st.lists(s3_uris, max_size=2),
        "hyperparameters": st.dictionaries(st.sampled_from(["epochCount", "1x"]), scalars),
    },
)
made_elsewhere = st.fixed_dictionaries(
    {"model_arn": st.sampled_from([ARN, OTHER_ACCOUNT_ARN, OTHER_REGION_ARN])},
    optional={"base_model": models},
)
custom_models = st.dictionaries(
    names,
    st.one_of(st.fixed_dictionaries({"customization": jobs}), made_elsewhere, declarations, values),
    max_size=3,
)


# FUZZ_EXAMPLES=3000 for a deeper run, as tests/config/test_fuzz.py.
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    models=custom_models,
    data=st.data(),
    through_throughput=st.booleans(),
    recorded=st.sampled_from([None, ARN, OTHER_ACCOUNT_ARN]),
    prompt_logging=st.booleans(),
)
def test_any_custom_models_mapping_is_answered_in_lines(
    models, data, through_throughput, recorded, prompt_logging, tmp_path_factory
):
    target = data.draw(st.sampled_from(sorted(models) + NAMES), label="target")
    doc = _doc()
    doc["environments"]["dev"]["prompt_logging"] = prompt_logging
    doc["environments"]["prod"] = {}  # environment-agnostic: takes any model_arn
    doc["families"]["s"]["aliases"]["live"]["environments"] = ["dev"]
    doc["custom_models"] = models
    if through_throughput:
        _throughput(target, ["dev"])(doc)
    else:
        doc["families"]["s"]["versions"]["v1"]["target"] = {"custom_model": target}
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "lifecycle.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        file = LifecycleFile.model_validate(doc)
    except ValidationError:
        file = None
    if file is not None:  # a lock, with the model of every job recorded (or none)
        _write(
            folder,
            doc,
            models={
                name: dict.fromkeys(spec.customization.environments, recorded)
                for name, spec in file.custom_models.items()
                if spec.customization is not None and recorded is not None
            },
        )
    try:
        load_lifecycle(path, clock=lambda: FIXED_TODAY)
    except ConfigError as exc:
        lines = exc.lines()
        assert lines
        for line in lines:
            assert "\n" not in line and line.startswith(f"{path}: "), line


def test_a_model_made_elsewhere_is_not_served_by_an_environment_without_account(tmp_path):
    """dev deploys with whatever credentials are at hand: it cannot be known to hold a
    model of another account, so it is neither granted nor deployed there, and an alias
    serving it there is refused (review: dev built a deployment of prod's model)."""
    doc = _doc({"custom_model": "imported", "deployment": "on_demand"})
    doc["custom_models"] = {"imported": IMPORTED}
    doc["environments"]["dev"] = {}
    path = _write(tmp_path, doc, models={})
    errors = _errors(path)
    assert len(errors) == 1 and "custom model 'imported' does not exist in dev" in errors[0]


def test_a_base_model_named_by_its_context_variant_inherits_the_same_dates(tmp_path, monkeypatch):
    """Bedrock customizes some models by their context variant (``...:300k``): the dates
    are the model's (review: only "not in the catalog" was said)."""
    _use(monkeypatch, LEGACY_CATALOG)
    doc = _targeting("customization")
    doc["custom_models"]["tuned"]["customization"]["base_model"] = f"{BASE}:300k"
    lines, _ = _lines(_write(tmp_path, doc), AFTER_LEGACY)
    assert any("Bedrock marks LEGACY" in line for line in lines), lines
    assert not any("not in the catalog" in line for line in lines), lines
