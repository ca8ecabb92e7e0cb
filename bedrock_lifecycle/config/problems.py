"""Problems found in a lifecycle file, and their one-line wording.

Every problem prints as ``<file>: <path.inside.file>: <what is wrong>``, one
line each, so CI logs and editors show exactly where to look.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Path = tuple[str | int, ...]


class Severity(StrEnum):
    """An error stops validate and synth; a warning is printed and synth goes on."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One problem, at one path inside the file.

    ``envs`` names the environments it concerns (synth annotates only their
    stacks). Default: empty, meaning the whole file.
    """

    path: Path
    message: str
    severity: Severity = Severity.ERROR
    envs: tuple[str, ...] = ()

    def render(self, file_label: str, *, with_severity: bool = True) -> str:
        """The one-line form: ``file: path: message``.

        :param with_severity: prefix warnings' messages with ``warning:``. Default: true.
        """
        where = dotted(self.path)
        prefix = f"{file_label}: {where}: " if where else f"{file_label}: "
        marker = "warning: " if with_severity and self.severity is Severity.WARNING else ""
        return one_line(f"{prefix}{marker}{self.message}")


class ConfigError(Exception):
    """The file has errors. ``problems`` holds them all; ``lines()`` renders them."""

    def __init__(self, file_label: str, problems: Sequence[Problem]) -> None:
        self.file_label = file_label
        self.problems = tuple(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self, limit: int | None = None) -> list[str]:
        """One rendered line per problem; past ``limit`` lines, one ``... and N more``.

        :param limit: the most problems rendered. Default: all (the CLI prints
            :data:`MAX_PRINTED_PROBLEMS`).
        """
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [p.render(self.file_label) for p in shown]
        if len(shown) < len(self.problems):
            more = len(self.problems) - len(shown)
            lines.append(one_line(f"{self.file_label}: ... and {more} more problems"))
        return lines


# The most problem lines the CLI prints for one file; the rest are counted.
MAX_PRINTED_PROBLEMS = 50


def one_line(text: str) -> str:
    """``text`` with every character that would start a new line or hide text (newlines,
    tabs, other control and separator characters) written as its escape, so a key or a
    value holding one can never print a second line."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def dotted(path: Iterable[str | int]) -> str:
    """``('families', 'x', 'versions', 0)`` -> ``families.x.versions[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def show(value: Any) -> str:
    """A short, readable rendering of a value from the file."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional so the structural type is left."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class whose instance sits at ``loc`` (used for did-you-mean)."""
    current: Any = root
    i = 0
    while i < len(loc):
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(loc[i]))
        if field is None:
            return None
        current = _unwrap(field.annotation)
        i += 1
        origin = typing.get_origin(current)
        if origin is dict:
            current = _unwrap(typing.get_args(current)[1])
            i += 1
        elif origin is tuple:
            current = _unwrap(typing.get_args(current)[0])
            i += 1
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _message_for(root: type[BaseModel], error: ErrorDetails) -> tuple[Path, str]:
    # pydantic marks an invalid dict key with a trailing "[key]": the key's own path is enough.
    loc: Path = tuple(
        part for part in error["loc"] if isinstance(part, str | int) and part != "[key]"
    )
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        parent = _model_at(root, loc[:-1])
        allowed = sorted(parent.model_fields) if parent else []
        key = str(loc[-1])
        hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        did_you_mean = f"did you mean {hint[0]!r}? " if hint else ""
        return loc, f"unknown key {key!r} ({did_you_mean}allowed: {', '.join(allowed)})"
    if kind == "missing":
        return loc, "required key is missing"
    text = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text[:1].lower() + text[1:]
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        text = f"does not match the allowed pattern {pattern}"
    if kind in ("model_type", "model_attributes_type", "dict_type") and isinstance(value, list):
        return loc, "expected a mapping of keys to values, got a list"
    if kind == "too_long":
        ctx = error.get("ctx", {})
        actual = ctx.get("actual_length")
        got = f", got {actual}" if actual is not None else ""
        return loc, f"holds at most {ctx.get('max_length')} entries{got}"
    if kind == "too_short":
        ctx = error.get("ctx", {})
        return loc, (
            f"needs at least {ctx.get('min_length')} entry, got {ctx.get('actual_length', 0)}"
        )
    if value is None or (isinstance(value, dict) and kind.startswith(("value_error", "assertion"))):
        return loc, text
    if isinstance(value, dict) and kind in ("model_type", "dict_type"):
        return loc, text
    return loc, f"{show(value)}: {text}"


def problems_from_validation(root: type[BaseModel], exc: ValidationError) -> list[Problem]:
    """Translate pydantic's errors into one Problem each, in file order."""
    seen: set[tuple[Path, str]] = set()
    problems = []
    errors = exc.errors(include_url=False)
    # A list whose entries were refused is also "too short" after validation; its
    # entries' own errors say what is wrong, so the count (of the valid ones) is not said.
    refused_parents = {tuple(e["loc"][:-1]) for e in errors if e["type"] != "too_short"}
    for error in errors:
        if error["type"] == "too_short" and tuple(error["loc"]) in refused_parents:
            continue
        path, message = _message_for(root, error)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        problems.append(Problem(path, message))
    return problems
