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
# Checks whose value is a list of strings; regex is a string, valid_json true, the rest
# whole numbers (check_errors words each shape).
STRING_LIST_CHECKS = frozenset({"contains", "not_contains"})


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """The prompt lines of a file, numbered from 1: every line that is not blank."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def read_prompts(text: str) -> list[Any]:
    """The golden prompts of a file's text, one JSON value per non-blank line."""
    return [json.loads(line) for _, line in numbered_lines(text)]


def line_errors(line: str, kind: str) -> tuple[Any, list[str]]:
    """Parse and validate one prompt line: ``(prompt, problems)``; prompt is None if not JSON."""
    try:
        prompt = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON ({exc.msg})"]
    return prompt, prompt_errors(prompt, kind)


def prompt_errors(prompt: Any, kind: str) -> list[str]:
    """Problems of one golden prompt (one line of the file) of a ``kind`` family."""
    if not isinstance(prompt, dict):
        return [f"expected a JSON object, got {type(prompt).__name__}"]
    errors = []
    unknown = sorted(set(prompt) - PROMPT_KEYS)
    if unknown:
        errors.append(
            f"unknown key {', '.join(map(repr, unknown))} "
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
            errors.append(f"checks.{name}: {known} (allowed: {', '.join(sorted(allowed))})")
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
                    errors.append(f"checks.regex {value!r} does not compile ({exc})")
        elif name == "valid_json":
            if value is not True:
                errors.append(f"checks.valid_json must be true (omit it otherwise), got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append(f"checks.{name} must be a whole number of at least 1, got {value!r}")
    return errors


def file_errors(path: Path, kind: str) -> list[str]:
    """Problems of a golden-prompt file of a ``kind`` family, each ``line N: what is wrong``.

    Unique ids, and at least one prompt; what validate and synth refuse.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ["is not UTF-8 text"]
    errors: list[str] = []
    seen: dict[str, int] = {}
    count = 0
    for number, line in numbered_lines(text):
        count += 1
        prompt, messages = line_errors(line, kind)
        errors += [f"line {number}: {message}" for message in messages]
        prompt_id = prompt.get("id") if isinstance(prompt, dict) else None
        if isinstance(prompt_id, str) and prompt_id:
            if prompt_id in seen:
                errors.append(
                    f"line {number}: id {prompt_id!r} repeats line {seen[prompt_id]}; "
                    "ids must be unique"
                )
            seen.setdefault(prompt_id, number)
    if count == 0:
        errors.append("has no prompts; expected one JSON object per line")
    return errors
