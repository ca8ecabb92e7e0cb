"""What every props type shares: frozen, keyword-only, checked when it is made.

A props type is a plain dataclass with the same fields as the lifecycle file's value
model of the same name (:mod:`bedrock_lifecycle.values`), which stays internal. That
model holds the bounds, once: making a props value validates it through the model, so
a value the file would refuse is refused in code too, with the same words. The stack
builders convert the file's models with :meth:`Props.from_model`; the constructs call
:meth:`Props.to_model` where they need the model's behaviour.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ValidationError

__all__ = ["Props", "describe_errors", "require_props"]

# The model class each props class mirrors, and back (for nested values).
_PROPS_OF: dict[type[BaseModel], type[Props]] = {}


def describe_errors(owner: str, error: ValidationError) -> str:
    """One line per problem: ``Owner.field: what is wrong (got value)``."""
    lines = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(part) for part in (owner, *problem["loc"]))
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["loc"] and "input" in problem:
            message += f" (got {problem['input']!r})"
        lines.append(f"{where}: {message}")
    return "\n".join(lines)


class Props:
    """Base of the props dataclasses: validated by their value model when made.

    Subclasses set ``_MODEL`` and are ``@dataclasses.dataclass(frozen=True, kw_only=True)``.
    """

    _MODEL: ClassVar[type[BaseModel]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_MODEL" in cls.__dict__:
            _PROPS_OF[cls._MODEL] = cls

    def __post_init__(self) -> None:
        problems = [
            f"{type(self).__name__}.{name}: {problem}" for name, problem in _kind_problems(self)
        ]
        if problems:
            raise ValueError("\n".join(problems))
        self._check_model(self.to_model())

    def _check_model(self, model: Any) -> None:
        """What a subclass refuses beyond its model's bounds, given the validated model
        (so a value is validated once). Default: nothing more.

        :raises ValueError: one line per problem.
        """

    def _model_input(self) -> dict[str, Any]:
        """The fields as the model takes them: nested props as their models."""
        data: dict[str, Any] = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            data[field.name] = value.to_model() if isinstance(value, Props) else value
        return data

    def to_model(self) -> Any:
        """The value model of the lifecycle file with the same content.

        :raises ValueError: one line per problem, naming the field, the value and what
            is allowed. Types are checked strictly: an enum field takes the enum, a
            number field a number, a sequence field a tuple.
        """
        try:
            return self._MODEL.model_validate(self._model_input(), strict=True)
        except ValidationError as error:
            raise ValueError(describe_errors(type(self).__name__, error)) from None

    @classmethod
    def from_model(cls, model: BaseModel) -> Self:
        """The props value of a lifecycle-file model (what the stack builders call)."""
        if not isinstance(model, cls._MODEL):
            raise TypeError(
                f"{cls.__name__}.from_model takes the lifecycle file's "
                f"{cls._MODEL.__module__}.{cls._MODEL.__qualname__}, got {model!r}"
            )
        return cls(**{name: _props_value(getattr(model, name)) for name in _field_names(cls)})


def _field_names(cls: type[Props]) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(cls))  # type: ignore[arg-type]


def _props_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _PROPS_OF[type(value)].from_model(value)
    return value


def require_props(**props: tuple[object, type]) -> None:
    """Refuse a prop of the wrong type before anything is made: ``name=(value, type)``;
    None passes (the construct's default applies).

    :raises TypeError: naming the prop, the type it takes and the value given (a
        lifecycle-file model where its props type belongs, say).
    """
    for name, (value, kind) in props.items():
        if value is not None and not isinstance(value, kind):
            given = type(value)
            what = (
                f"the lifecycle file's model {given.__module__}.{given.__qualname__}"
                if given.__name__ == kind.__name__
                else repr(value)
            )
            raise TypeError(
                f"{name} must be a bedrock_lifecycle.constructs.{kind.__name__}, got {what}"
            )


def _kind_problems(value: Props) -> list[tuple[str, str]]:
    """What strict validation lets through and a frozen props value must not hold: a
    nested value given as a dict or as a lifecycle-file model (unhashable, or internal),
    a float where the field takes whole numbers (``Literal[10, 30, 60]``)."""
    problems = []
    for field in dataclasses.fields(value):  # type: ignore[arg-type]
        given = getattr(value, field.name)
        nested, whole = _field_kinds(type(value))[field.name]
        if nested is not None and isinstance(given, dict | BaseModel):
            what = (
                f"a dict {given!r}"
                if isinstance(given, dict)
                else f"the lifecycle file's model {type(given).__module__}."
                f"{type(given).__qualname__}"
            )
            problems.append(
                (
                    field.name,
                    f"must be a bedrock_lifecycle.constructs.{nested.__name__}, got {what}",
                )
            )
        if whole and given is not None and type(given) is not int:
            allowed = ", ".join(map(str, whole))
            problems.append((field.name, f"must be one of {allowed} (got {given!r})"))
    return problems


_FIELD_KINDS: dict[type, dict[str, tuple[type[Props] | None, tuple[int, ...]]]] = {}


def _field_kinds(cls: type[Props]) -> dict[str, tuple[type[Props] | None, tuple[int, ...]]]:
    """Per field: the props type it nests (or None) and the whole numbers a ``Literal``
    of integers allows (or none); read once per class."""
    if cls in _FIELD_KINDS:
        return _FIELD_KINDS[cls]
    kinds = {}
    for name, hint in typing.get_type_hints(cls).items():
        members = _members(hint)
        nested = next((m for m in members if isinstance(m, type) and issubclass(m, Props)), None)
        literal = [
            v for m in members if typing.get_origin(m) is typing.Literal for v in typing.get_args(m)
        ]
        whole = tuple(literal) if literal and all(type(v) is int for v in literal) else ()
        kinds[name] = (nested, whole)
    _FIELD_KINDS[cls] = kinds
    return kinds


def _members(hint: Any) -> tuple[Any, ...]:
    """``A | B | None`` -> ``(A, B, NoneType)``; any other hint -> ``(hint,)``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)
