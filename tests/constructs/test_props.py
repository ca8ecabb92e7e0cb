"""The props types refuse what the lifecycle file refuses, with the same words, and
anything else code can pass them with a ValueError naming the field (fuzzed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bedrock_lifecycle.constructs as public
from bedrock_lifecycle.config import load_lifecycle
from bedrock_lifecycle.props import Props
from tests.conftest import ROOT

PROPS_TYPES = [
    getattr(public, n)
    for n in public.__all__
    if isinstance(getattr(public, n), type) and issubclass(getattr(public, n), Props)
]

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(list(public.RolloutStrategy) + list(public.LifecycleState)),
    st.lists(st.text(max_size=5), max_size=3),
    st.lists(st.text(max_size=5), max_size=3).map(tuple),
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)),
    st.just(float("nan")),
    st.just(Path("x.jsonl")),
    st.dictionaries(st.sampled_from(["foundation_model", "max_tokens", "id"]), st.text(max_size=5)),
    st.just(public.Target(foundation_model="amazon.nova-lite-v1:0")),
    st.just(public.InferenceConfig(max_tokens=10)),
)


@pytest.mark.parametrize("cls", PROPS_TYPES, ids=lambda c: c.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_value_is_taken_or_refused_by_field(cls, data):
    fields = dataclasses.fields(cls)
    chosen = data.draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
    kwargs = {f.name: data.draw(ANY_VALUE) for f in chosen}
    try:
        value = cls(**kwargs)
    except ValueError as error:
        lines = str(error).splitlines()
        assert lines and all(line.startswith(cls.__name__) for line in lines), lines
        return
    except TypeError as error:  # a required field left out: Python's own message
        assert "required keyword-only argument" in str(error)
        return
    assert cls.from_model(value.to_model()) == value
    hash(value)  # frozen, and every field hashable: safe to share between constructs
    for field in fields:
        number = getattr(value, field.name)
        if isinstance(number, float):
            assert math.isfinite(number), field.name


def test_every_setting_of_the_shipped_file_converts_and_back(shipped_config):
    aliases = [
        a for env in shipped_config.environment_names for a in shipped_config.aliases_for(env)
    ]
    assert aliases
    for alias in aliases:
        for model in (alias.rollout, alias.alarms, alias.canary_analysis, alias.version):
            props = type(model).__name__
            converted = getattr(public, props).from_model(model)
            assert converted.to_model() == model, (alias.qualified_name, props)


def test_a_file_model_is_not_a_props_value():
    config = load_lifecycle(ROOT / "lifecycle.yaml", check_lock_file=False)
    file_policy = config.aliases_for("dev")[0].rollout
    with pytest.raises(
        TypeError,
        match=r"file's bedrock_lifecycle\.values\.AlarmThresholds, got RolloutPolicy",
    ):
        public.AlarmThresholds.from_model(file_policy)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: public.RolloutPolicy(strategy="canary", percent=10, interval_minutes=5),
            "RolloutPolicy.strategy: Input should be an instance of RolloutStrategy (got 'canary')",
        ),
        (
            lambda: public.AlarmThresholds(p99_latency_ms=300_000),
            "AlarmThresholds.p99_latency_ms: Input should be less than or equal to 240000 "
            "(got 300000)",
        ),
        (
            lambda: public.InferenceConfig(stop_sequences=["END"]),
            "InferenceConfig.stop_sequences: Input should be a valid tuple (got ['END'])",
        ),
        (
            lambda: public.Evaluation(golden_prompts="golden.jsonl"),
            "Evaluation.golden_prompts: must be a pathlib.Path (got 'golden.jsonl')",
        ),
        (
            lambda: public.Evaluation(golden_prompts=Path("g.jsonl"), pass_rate=0),
            "Evaluation.pass_rate: must be a number more than 0 and at most 1 (got 0)",
        ),
        (
            lambda: public.VersionLifecycle(state=public.LifecycleState.DEPRECATED),
            "VersionLifecycle: a deprecated version needs sunset and replacement",
        ),
    ],
)
def test_a_bad_value_is_named_with_what_is_allowed(make, message):
    with pytest.raises(ValueError) as raised:
        make()
    assert str(raised.value) == message


def test_a_nested_value_is_a_props_value_not_a_dict_or_a_file_model():
    from bedrock_lifecycle import values

    with pytest.raises(ValueError) as raised:
        public.VersionSpec(target={"foundation_model": "amazon.nova-lite-v1:0"})
    assert str(raised.value) == (
        "VersionSpec.target: must be a bedrock_lifecycle.constructs.Target, got a dict "
        "{'foundation_model': 'amazon.nova-lite-v1:0'}"
    )
    with pytest.raises(ValueError, match="got the lifecycle file's model bedrock_lifecycle"):
        public.VersionSpec(target=values.Target(foundation_model="amazon.nova-lite-v1:0"))
    with pytest.raises(ValueError, match=r"period_seconds: must be one of 10, 30, 60 \(got 10.0\)"):
        public.AlarmThresholds(period_seconds=10.0)


def test_a_model_version_holds_props_and_the_same_id_either_way():
    spec = public.VersionSpec(target=public.Target(foundation_model="amazon.nova-lite-v1:0"))
    from_props = public.ModelVersion(family="f", label="v1", spec=spec)
    from_file = public.ModelVersion.from_spec("f", "v1", spec.to_model())
    assert from_file.spec == spec and isinstance(from_file.target, public.Target)
    assert from_props.version_id == from_file.version_id
    with pytest.raises(TypeError, match="kind must be a FamilyKind"):
        public.ModelVersion.from_spec("f", "v1", spec, kind="embedding")  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"spec must be a bedrock_lifecycle\.constructs\.VersionSpec"
    ):
        public.ModelVersion(family="f", label="v1", spec={"target": {}})  # type: ignore[arg-type]
