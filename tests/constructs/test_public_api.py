"""``bedrock_lifecycle.constructs`` is the API: pinned, documented, props with defaults.

A name in ``__all__`` is public (CHANGELOG.md's versioning policy applies to it): the
list is pinned in ``public_api.txt``, so adding or removing a name is a reviewed change.
Every public name has a docstring; every prop of a construct and every field of a props
type has one documented default; the props types are frozen dataclasses with the same
fields and defaults as the lifecycle file's model they are checked by.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import re
import textwrap
from pathlib import Path

import pytest
from constructs import Construct

import bedrock_lifecycle.constructs as public
from bedrock_lifecycle.props import Props

PINNED = Path(__file__).with_name("public_api.txt")
NAMES = sorted(public.__all__)
PARAM = re.compile(
    r"^\s*:(?:param|ivar) (\w+):(.*?)(?=^\s*:(?:param|ivar|raises|returns?)\b|^\s*Attributes?:|\Z)",
    re.M | re.S,
)


def test_the_public_names_are_the_pinned_ones():
    pinned = PINNED.read_text(encoding="utf-8").split()
    assert pinned == NAMES, (
        "a public name was added or removed: update public_api.txt and the CHANGELOG"
    )


@pytest.mark.parametrize("name", NAMES)
def test_every_public_name_is_exported_and_documented(name):
    obj = getattr(public, name)
    assert inspect.isclass(obj) or inspect.isfunction(obj), f"{name}: a class or a function"
    doc = (obj.__doc__ or "").strip()
    assert doc, f"{name} has no docstring"
    # @dataclass writes the signature as __doc__ when the class has none of its own.
    assert not doc.startswith(f"{name}("), f"{name} has only the docstring @dataclass wrote"


DEFAULT = re.compile(r"Default: `{0,2}([^`.,;:]+?)`{0,2}(?:[.,;]|$)")


def default_problem(name: str, text: str, actual: object) -> str | None:
    """Where ``text`` documents a plain default (a number, none, true or false), whether
    it is ``actual``; other defaults (words, calls) are not judged."""
    match = DEFAULT.search(text)
    if match is None:
        return None
    written = match.group(1).strip()
    if written.lower() in ("none", "true", "false"):
        expected: object = {"none": None, "true": True, "false": False}[written.lower()]
        if written.lower() == "none" and "required" in text[match.end() : match.end() + 12]:
            return None  # "Default: none, required": no default at all
        empty = isinstance(actual, tuple | list | dict | frozenset | set | str) and not actual
        if actual is expected or (expected is None and empty):  # none: nothing, or no items
            return None
        return f"{name}: documented {written}, is {actual!r}"
    try:
        number = float(written.replace("_", ""))
    except ValueError:
        return None
    if isinstance(actual, bool) or not isinstance(actual, int | float) or actual != number:
        return f"{name}: documented {written}, is {actual!r}"
    return None


def documented_params(obj) -> dict[str, str]:
    docs = "\n".join(
        textwrap.dedent(d) for d in (obj.__doc__, getattr(obj.__init__, "__doc__", None)) if d
    )
    return {m.group(1): " ".join(m.group(2).split()) for m in PARAM.finditer(docs)}


def field_docstrings(cls) -> dict[str, str]:
    """The attribute docstring under each field of a dataclass (what pdoc renders)."""
    (tree,) = ast.parse(textwrap.dedent(inspect.getsource(cls))).body
    docs, body = {}, tree.body
    for node, after in zip(body, [*body[1:], None], strict=True):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
        ):
            docs[node.target.id] = " ".join(str(after.value.value).split())
    return docs


CONSTRUCTS = [
    n
    for n in NAMES
    if inspect.isclass(getattr(public, n)) and issubclass(getattr(public, n), Construct)
]
PROPS = [
    n
    for n in NAMES
    if inspect.isclass(getattr(public, n)) and dataclasses.is_dataclass(getattr(public, n))
]


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_every_prop_of_a_construct_has_a_documented_default(name):
    cls = getattr(public, name)
    docs = documented_params(cls)
    problems = []
    for param in list(inspect.signature(cls.__init__).parameters.values())[3:]:
        if param.name not in docs:
            problems.append(f"{param.name}: not documented")
        elif param.default is not inspect.Parameter.empty and "Default" not in docs[param.name]:
            problems.append(f"{param.name}: no documented default")
        elif param.default is not inspect.Parameter.empty:
            problems.append(default_problem(param.name, docs[param.name], param.default))
    assert [p for p in problems if p] == []


@pytest.mark.parametrize("name", PROPS)
def test_every_field_of_a_props_type_has_one_line_and_its_default(name):
    cls = getattr(public, name)
    assert cls.__dataclass_params__.frozen, f"{name} is not frozen"
    docs = {**documented_params(cls), **field_docstrings(cls)}
    problems = []
    for field in dataclasses.fields(cls):
        if field.name not in docs:
            problems.append(f"{field.name}: not documented")
        elif has_default(field) and "Default" not in docs[field.name]:
            problems.append(f"{field.name}: no documented default")
        elif field.default is not dataclasses.MISSING:
            problems.append(default_problem(field.name, docs[field.name], field.default))
    assert [p for p in problems if p] == []


def has_default(field: dataclasses.Field) -> bool:
    return (
        field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
    )


PROPS_TYPES = [n for n in PROPS if issubclass(getattr(public, n), Props)]


@pytest.mark.parametrize("name", PROPS_TYPES)
def test_a_props_type_has_the_fields_and_defaults_of_its_file_model(name):
    cls = getattr(public, name)
    model = cls._MODEL
    assert [f.name for f in dataclasses.fields(cls)] == list(model.model_fields)
    for field in dataclasses.fields(cls):
        info = model.model_fields[field.name]
        if info.is_required():
            assert (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            )
            continue
        default = field.default_factory() if field.default is dataclasses.MISSING else field.default  # type: ignore[misc]
        mine = default.to_model() if isinstance(default, Props) else default
        assert mine == info.default, field.name


EXAMPLES = {
    "RolloutPolicy": public.RolloutPolicy(
        strategy=public.RolloutStrategy.LINEAR, percent=20, interval_minutes=3
    ),
    "Guardrail": public.Guardrail(id="abcdefghij12", version="3"),
    "Target": public.Target(inference_profile="us.anthropic.claude-haiku-4-5-20251001-v1:0"),
    "VersionSpec": public.VersionSpec(
        target=public.Target(foundation_model="amazon.nova-lite-v1:0"),
        inference=public.InferenceConfig(max_tokens=300, stop_sequences=("END",)),
        guardrail=public.Guardrail(id="abcdefghij12", version="DRAFT"),
        lifecycle=public.VersionLifecycle(
            state=public.LifecycleState.DEPRECATED,
            sunset=__import__("datetime").date(2027, 1, 31),
            replacement="v4",
        ),
    ),
}


@pytest.mark.parametrize("name", PROPS_TYPES)
def test_a_props_value_survives_the_round_trip_through_its_model(name):
    cls = getattr(public, name)
    value = EXAMPLES[name] if name in EXAMPLES else cls()
    assert cls.from_model(value.to_model()) == value


def test_a_wrong_documented_default_is_found():
    assert default_problem("x", "Share. Default: 5.", 5.0) is None
    assert default_problem("x", "Share. Default: 50.", 5.0) == "x: documented 50, is 5.0"
    assert default_problem("x", "Default: none.", 3) == "x: documented none, is 3"
    assert default_problem("x", "Default: ``AlarmThresholds()``.", None) is None


def test_enums_are_plain_enums():
    for name in NAMES:
        obj = getattr(public, name)
        if inspect.isclass(obj) and issubclass(obj, enum.Enum):
            assert obj.__doc__ and list(obj), name
