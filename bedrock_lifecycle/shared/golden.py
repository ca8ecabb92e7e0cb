"""Golden prompts, written once: what a prompt line holds and which checks it may ask.

``bedrock_lifecycle.config.rollout_checks`` validates the files with it at synth and in
``bedrock-lifecycle validate``; the evaluation gate (staged with a copy, ``import
golden``) reads the same files with it at deploy time. Standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

# The family kinds (``FamilyKind`` values): a chat prompt has messages, an embedding one input.
CHAT = "chat"
EMBEDDING = "embedding"
# The Titan text embeddings input limit the router enforces.
MAX_INPUT_CHARACTERS = 50_000

PROMPT_KEYS = frozenset({"id", "messages", "system", "input", "checks", "description"})
CHAT_CHECKS = frozenset(
    {"contains", "not_contains", "regex", "valid_json", "max_latency_ms", "max_output_tokens"}
)
EMBEDDING_CHECKS = frozenset({"dimensions", "max_latency_ms"})
ALL_CHECKS = CHAT_CHECKS | EMBEDDING_CHECKS
CHECKS_BY_KIND: Mapping[str, frozenset[str]] = {CHAT: CHAT_CHECKS, EMBEDDING: EMBEDDING_CHECKS}
# The caps of one golden-prompt file, checked before it is parsed: its size, its prompt
# lines, and how many problems are reported for it (then one "... and N more problems").
MAX_GOLDEN_FILE_BYTES = 4 * 1024 * 1024
MAX_GOLDEN_PROMPTS = 500
MAX_PROBLEMS_PER_FILE = 50
# Checks whose value is a list of strings; regex is a string, valid_json true, the rest
# whole numbers (check_errors words each shape).
STRING_LIST_CHECKS = frozenset({"contains", "not_contains"})


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """The prompt lines of a file, numbered from 1: every line that is not blank."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


class GoldenFileError(ValueError):
    """A golden-prompt file over its caps, not UTF-8, or not one JSON value per line."""


def read_text(path: Path, max_bytes: int = MAX_GOLDEN_FILE_BYTES) -> str:
    """The text of a golden-prompt file, reading at most ``max_bytes + 1`` bytes.

    :param max_bytes: the size cap. Default: ``MAX_GOLDEN_FILE_BYTES`` (4 MiB).
    :raises GoldenFileError: when the file is larger or not UTF-8 text.
    """
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise GoldenFileError(f"is larger than {max_bytes} bytes; split it or keep fewer prompts")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise GoldenFileError("is not UTF-8 text") from None


def parse_line(line: str) -> Any:
    """One prompt line's JSON value.

    :raises GoldenFileError: not JSON, or nested too deeply for the parser (one line,
        never a RecursionError).
    """
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise GoldenFileError(f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise GoldenFileError("not valid JSON (nested too deeply)") from None


def read_prompts(text: str, max_prompts: int = MAX_GOLDEN_PROMPTS) -> list[Any]:
    """The golden prompts of a file's text, one JSON value per non-blank line.

    :param max_prompts: the cap on prompt lines. Default: ``MAX_GOLDEN_PROMPTS`` (500).
    :raises GoldenFileError: over the cap, or a line that is not JSON (``line N: ...``).
    """
    prompts: list[Any] = []
    for number, line in numbered_lines(text):
        if len(prompts) >= max_prompts:
            raise GoldenFileError(f"has more than {max_prompts} prompts")
        try:
            prompts.append(parse_line(line))
        except GoldenFileError as exc:
            raise GoldenFileError(f"line {number}: {exc}") from None
    return prompts


def line_errors(line: str, kind: str) -> tuple[Any, list[str]]:
    """Parse and validate one prompt line: ``(prompt, problems)``; prompt is None if not JSON."""
    try:
        prompt = parse_line(line)
    except GoldenFileError as exc:
        return None, [str(exc)]
    return prompt, prompt_errors(prompt, kind)


def prompt_errors(prompt: Any, kind: str) -> list[str]:
    """Problems of one golden prompt (one line of the file) of a ``kind`` family."""
    if not isinstance(prompt, dict):
        return [f"expected a JSON object, got {type(prompt).__name__}"]
    errors = []
    unknown = sorted(set(prompt) - PROMPT_KEYS)
    if unknown:
        errors.append(
            f"unknown key {', '.join(_shown(k, 40) for k in unknown[:10])}"
            f"{f' and {len(unknown) - 10} more' if len(unknown) > 10 else ''} "
            f"(allowed: {', '.join(sorted(PROMPT_KEYS))})"
        )
    if not isinstance(prompt.get("id"), str) or not prompt["id"]:
        errors.append("id must be a non-empty string")
    if kind == EMBEDDING:
        for key in ("messages", "system"):
            if key in prompt:
                errors.append(f"{key} applies to chat families; an embedding prompt has input")
        text = prompt.get("input")
        if not isinstance(text, str) or not text:
            errors.append("input must be a non-empty string (the text to embed)")
        elif len(text) > MAX_INPUT_CHARACTERS:
            errors.append(
                f"input must be at most {MAX_INPUT_CHARACTERS} characters, got {len(text)}"
            )
    else:
        if "input" in prompt:
            errors.append("input applies to embedding families; a chat prompt has messages")
        errors += _message_errors(prompt.get("messages"))
        if "system" in prompt and not _text_blocks(prompt["system"]):
            errors.append('system must be a non-empty list of {"text": "..."} blocks')
    errors += check_errors(prompt.get("checks"), kind)
    return errors


def _text_blocks(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(b, dict) and isinstance(b.get("text"), str) and b["text"] for b in value)
    )


def _message_errors(messages: Any) -> list[str]:
    if not isinstance(messages, list) or not messages:
        return ["messages must be a non-empty list of Converse messages"]
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return [f'messages[{i}] must have role "user" or "assistant"']
        if not _text_blocks(message.get("content")):
            return [f'messages[{i}].content must be a non-empty list of {{"text": "..."}} blocks']
    if messages[0]["role"] != "user" or messages[-1]["role"] != "user":
        return ["messages must start and end with a user message"]
    return []


def check_errors(checks: Any, kind: str) -> list[str]:
    """Problems of a prompt's ``checks`` object for a ``kind`` family."""
    allowed = EMBEDDING_CHECKS if kind == EMBEDDING else CHAT_CHECKS
    if not isinstance(checks, dict) or not checks:
        return [f"checks must be a non-empty object (allowed: {', '.join(sorted(allowed))})"]
    errors = []
    for name, value in checks.items():
        if name not in allowed:
            where = "embedding" if kind == EMBEDDING else "chat"
            known = "unknown check" if name not in ALL_CHECKS else f"not a check for {where}"
            errors.append(
                f"checks.{_shown(name, 40)[1:-1]}: {known} (allowed: {', '.join(sorted(allowed))})"
            )
        elif name in STRING_LIST_CHECKS:
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) and v for v in value)
            ):
                errors.append(f"checks.{name} must be a non-empty list of non-empty strings")
        elif name == "regex":
            if not isinstance(value, str) or not value:
                errors.append("checks.regex must be a non-empty string")
            else:
                try:
                    re.compile(value)
                except re.error as exc:
                    errors.append(f"checks.regex {_shown(value)} does not compile ({exc})")
        elif name == "valid_json":
            if value is not True:
                errors.append(
                    f"checks.valid_json must be true (omit it otherwise), got {_shown(value)}"
                )
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append(
                f"checks.{name} must be a whole number of at least 1, got {_shown(value)}"
            )
    return errors


def file_errors(
    path: Path,
    kind: str,
    *,
    max_bytes: int = MAX_GOLDEN_FILE_BYTES,
    max_prompts: int = MAX_GOLDEN_PROMPTS,
    max_problems: int = MAX_PROBLEMS_PER_FILE,
) -> list[str]:
    """Problems of a golden-prompt file of a ``kind`` family, each ``line N: what is wrong``.

    Unique ids, and at least one prompt; what validate and synth refuse. The size cap is
    checked before anything is parsed (at most ``max_bytes + 1`` bytes are read), the
    prompt cap before the line after it is parsed.

    :param max_bytes: default ``MAX_GOLDEN_FILE_BYTES`` (4 MiB).
    :param max_prompts: default ``MAX_GOLDEN_PROMPTS`` (500).
    :param max_problems: problems listed before one ``... and N more problems`` line.
        Default: ``MAX_PROBLEMS_PER_FILE`` (50).
    """
    try:
        text = read_text(path, max_bytes)
    except GoldenFileError as exc:
        return [str(exc)]
    errors: list[str] = []
    seen: dict[str, int] = {}
    count = 0
    for number, line in numbered_lines(text):
        count += 1
        if count > max_prompts:
            errors.append(f"has more than {max_prompts} prompts (line {number} is one too many)")
            break
        prompt, messages = line_errors(line, kind)
        errors += [f"line {number}: {message}" for message in messages]
        prompt_id = prompt.get("id") if isinstance(prompt, dict) else None
        if isinstance(prompt_id, str) and prompt_id:
            if prompt_id in seen:
                errors.append(
                    f"line {number}: id {_shown(prompt_id)} repeats line {seen[prompt_id]}; "
                    "ids must be unique"
                )
            seen.setdefault(prompt_id, number)
    if count == 0:
        errors.append("has no prompts; expected one JSON object per line")
    if len(errors) > max_problems:
        errors = [*errors[:max_problems], f"... and {len(errors) - max_problems} more problems"]
    return errors


def _shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (this module imports no other)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
