"""The caps of a golden-prompt file (shared/golden.py): checked before parsing, and the
problems of a file are capped too."""

from __future__ import annotations

import json

import pytest

from bedrock_lifecycle.shared import golden

GOOD = json.dumps(
    {
        "id": "p",
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "checks": {"contains": ["x"]},
    }
)


def _prompt(n: int) -> str:
    return GOOD.replace('"id": "p"', f'"id": "p{n}"')


def test_the_caps_are_exported():
    assert golden.MAX_GOLDEN_FILE_BYTES == 4 * 1024 * 1024
    assert golden.MAX_GOLDEN_PROMPTS == 500
    assert golden.MAX_PROBLEMS_PER_FILE == 50


def test_a_file_over_the_size_cap_is_refused_without_reading_it_all(tmp_path, monkeypatch):
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"x" * 5000)
    read: list[int] = []
    real_open = type(path).open

    def spy_open(self, *args, **kwargs):
        handle = real_open(self, *args, **kwargs)
        real_read = handle.read

        def read_some(size=-1):
            read.append(size)
            return real_read(size)

        handle.read = read_some
        return handle

    monkeypatch.setattr(type(path), "open", spy_open)
    assert golden.file_errors(path, "chat", max_bytes=1000) == [
        "is larger than 1000 bytes; split it or keep fewer prompts"
    ]
    assert read == [1001]


def test_a_file_over_the_prompt_cap_is_refused(tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(_prompt(n) for n in range(4)))
    assert golden.file_errors(path, "chat", max_prompts=3) == [
        "has more than 3 prompts (line 4 is one too many)"
    ]
    with pytest.raises(golden.GoldenFileError, match="has more than 3 prompts"):
        golden.read_prompts(path.read_text(), max_prompts=3)


def test_problems_are_capped_with_one_summary_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join("{" for _ in range(80)))
    errors = golden.file_errors(path, "chat", max_problems=50)
    assert len(errors) == 51
    assert errors[-1] == "... and 30 more problems"


def test_deeply_nested_json_is_one_problem_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 200_000 + "]" * 200_000 + "\n")
    assert golden.file_errors(path, "chat") == ["line 1: not valid JSON (nested too deeply)"]
    with pytest.raises(golden.GoldenFileError, match=r"^line 1: not valid JSON \(nested"):
        golden.read_prompts(path.read_text())


def test_a_hostile_id_is_cut_in_its_message(tmp_path):
    path = tmp_path / "dup.jsonl"
    long_id = GOOD.replace('"id": "p"', '"id": "' + "x" * 3000 + '"')
    path.write_text(long_id + "\n" + long_id)
    (error,) = golden.file_errors(path, "chat")
    assert error.startswith("line 2: id 'xxx") and len(error) < 200
