"""Every code block of the README and docs/ runs in the suite, or says why it cannot.

- Every block names its language; ``text`` and ``markdown`` are output or diagrams.
- ``python`` runs (cwd: the repository; CDK output into a temporary folder).
- ``sh`` and ``console`` (its ``$`` lines): each command is checked without running:
  ``make`` targets exist, ``bedrock-lifecycle`` arguments parse with the real parser,
  ``aws`` commands name an operation and parameters of botocore's service model, and
  any other program is one of a short list of tools a reader has.
- ``yaml`` is merged into the shipped lifecycle.yaml, which must still validate.
- ``json`` parses (a JSON document or JSON lines).

The line before a block may say more:

- ``<!-- continues the python block above -->``: it runs after that block, in its names.
- ``<!-- runs in tests/FILE.py::test_name -->``: that test runs it (against a stand-in);
  the test must exist.
- ``<!-- fragment: reason -->``: it cannot run as written. A fragment ``excerpt of PATH``
  must appear in PATH, up to layout. Any other python fragment's imports run, and each
  name it uses without defining must be named in the reason (`` `my_role` stands for
  ...``).
"""

from __future__ import annotations

import ast
import copy
import json
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import botocore.session
import pytest
import yaml

from bedrock_lifecycle.cli import build_parser
from bedrock_lifecycle.config import ConfigError, load_lifecycle
from bedrock_lifecycle.config.schema import LifecycleFile
from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUFF = str(Path(sys.executable).parent / "ruff")
LANGUAGES = {"python", "sh", "console", "yaml", "json", "text", "markdown"}
# Indented too (a block inside a list item); the language is the info string's first word.
FENCE = re.compile(r"^(\s*)(```|~~~)\s*(\S*)[^`]*$")
FRAGMENT = re.compile(r"^<!-- fragment: (.+?) -->$")
RUNS_IN = re.compile(r"^<!-- runs in (tests/\S+\.py)::(\w+) -->$")
CONTINUES = "<!-- continues the python block above -->"
# Programs a reader has besides the project's own; their commands are not run here.
OTHER_TOOLS = {
    "cd", "cp", "mkdir", "export", ".", "source", "git", "npx", "npm", "cdk", "$EDITOR",
    "python", "python3", ".venv/bin/python", ".venv/bin/pip", "pip", "cat", "jq",
}  # fmt: skip
CDK_COMMANDS = {"synth", "deploy", "diff", "destroy", "bootstrap", "ls", "watch"}
# Options of the AWS CLI itself, not of an operation.
AWS_CLI_OPTIONS = {
    "query", "output", "region", "profile", "cli-binary-format", "cli-read-timeout",
    "no-paginate",
}  # fmt: skip


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    text: str
    fragment: str | None
    marker: str  # the line before the fence

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            opening = FENCE.match(lines[i])
            if opening is None:
                i += 1
                continue
            indent, fence = opening.group(1), opening.group(2)
            closing = [j for j in range(i + 1, len(lines)) if lines[j].rstrip() == indent + fence]
            assert closing, f"{page.relative_to(ROOT)}:{i + 1}: a block that never ends"
            end = closing[0]
            before = lines[i - 1].strip() if i else ""
            marker = FRAGMENT.match(before)
            body = [line.removeprefix(indent) for line in lines[i + 1 : end]]
            found.append(
                Block(
                    page=page,
                    line=i + 1,
                    language=opening.group(3),
                    text="\n".join(body) + "\n",
                    fragment=marker.group(1) if marker else None,
                    marker=before,
                )
            )
            i = end + 1
    return found


BLOCKS = blocks()


def of(*languages: str) -> list[Block]:
    return [b for b in BLOCKS if b.language in languages]


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_every_block_names_its_language(block: Block):
    assert block.language in LANGUAGES, f"{block.id}: ```{block.language}"


FRAGMENTS = [b for b in BLOCKS if b.fragment is not None]


def undefined_names(code: str) -> list[str]:
    """The names ``code`` uses and never defines or imports (ruff's F821)."""
    result = subprocess.run(
        [RUFF, "check", "--isolated", "--select", "F821", "--output-format", "json",
         "--stdin-filename", "snippet.py", "-"],
        input=code, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return sorted({re.sub(r"^Undefined name `(.*)`.*$", r"\1", d["message"])
                   for d in json.loads(result.stdout)})  # fmt: skip


def code_only(text: str) -> str:
    """``text`` without whitespace and magic trailing commas: what a formatter changes."""
    return re.sub(r",([)\]}])", r"\1", re.sub(r"\s+", "", text))


@pytest.mark.parametrize("block", FRAGMENTS, ids=[b.id for b in FRAGMENTS])
def test_a_fragment_says_why_and_an_excerpt_is_verbatim(block: Block):
    assert block.fragment and len(block.fragment) >= 12, f"{block.id}: give the reason"
    excerpt = re.fullmatch(r"excerpt of (\S+)", block.fragment)
    if excerpt is not None:
        source = (ROOT / excerpt.group(1)).read_text(encoding="utf-8")
        # As written, up to layout: ruff formats both the file and the block, at
        # different indentations (an excerpt of a function body is dedented).
        assert code_only(block.text) in code_only(source), (
            f"{block.id} is not in {excerpt.group(1)} as written"
        )
    if block.language == "python":
        code = textwrap.dedent(block.text)
        tree = ast.parse(code, block.id)
        # Its imports run: a misspelt module or name fails here.
        imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        exec(compile(ast.Module(body=imports, type_ignores=[]), block.id, "exec"), {})
        if excerpt is None:  # an excerpt's names are its file's, which ruff checks
            unnamed = [n for n in undefined_names(code) if f"`{n}`" not in block.fragment]
            assert unnamed == [], f"{block.id}: say in the reason what `name` stands for"


# -- python --

ELSEWHERE = [b for b in of("python") if RUNS_IN.match(b.marker)]
RUNNABLE_PYTHON = [b for b in of("python") if b.fragment is None and not RUNS_IN.match(b.marker)]


def chain(block: Block) -> list[Block]:
    """The block, after the runnable python blocks of its page that it continues."""
    if block.marker != CONTINUES:
        return [block]
    before = [b for b in RUNNABLE_PYTHON if b.page == block.page and b.line < block.line]
    assert before, f"{block.id} continues no block"
    return [*chain(before[-1]), block]


@pytest.mark.parametrize("block", RUNNABLE_PYTHON, ids=[b.id for b in RUNNABLE_PYTHON])
def test_python_blocks_run(block: Block, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path / "cdk.out"))
    namespace: dict = {"__name__": "docs_snippet"}
    for part in chain(block):  # an app's synth runs its gates
        exec(compile(part.text, part.id, "exec"), namespace)


@pytest.mark.parametrize("block", ELSEWHERE, ids=[b.id for b in ELSEWHERE])
def test_a_block_run_by_another_test_names_one_that_exists(block: Block):
    match = RUNS_IN.match(block.marker)
    assert match is not None
    source = (ROOT / match.group(1)).read_text(encoding="utf-8")
    assert f"def {match.group(2)}(" in source, block.id


# -- sh and console --


SEPARATORS = {"|", "||", "&&", ";", "&"}
REDIRECTION = re.compile(r"\d*(>>?|<)(&\d*)?")  # >, >>, <, 2>, 2>&1, &>


def command_lines(block: Block) -> list[str]:
    """Its commands, one a line: a console block's ``$`` lines with the lines that
    continue them, a shell block's lines; backslash continuations joined."""
    lines = block.text.splitlines()
    if block.language == "console":
        kept, continuing = [], False
        for line in lines:
            if line.startswith("$ ") or continuing:
                kept.append(line.removeprefix("$ "))
            continuing = (line.startswith("$ ") or continuing) and line.endswith("\\")
        lines = kept
    return re.sub(r"\\\n\s*", " ", "\n".join(lines)).splitlines()


def commands(block: Block) -> list[list[str]]:
    """The words of each command of ``block``, without redirections, their targets and
    leading ``NAME=value`` assignments; a ``#`` starts a comment only after a space."""
    found = []
    for line in command_lines(block):
        lexer = shlex.shlex(re.sub(r"(^|\s)#.*$", "", line), posix=True, punctuation_chars=True)
        lexer.commenters = ""
        lexer.wordchars += "$:@,%+[]{}!^#"  # parts of words in these commands
        words: list[str] = []
        skip_next = False
        for token in [*lexer, ";"]:
            if token in SEPARATORS:  # the next command starts
                found.append(words)
                words = []
            elif skip_next:
                skip_next = False
            elif words and REDIRECTION.fullmatch(words[-1] + token):  # 2 + >, 2> + &1
                words[-1] += token
                skip_next = not token.endswith(("&1", "&2"))
            elif REDIRECTION.fullmatch(token):
                words.append(token)
                skip_next = not token.endswith(("&1", "&2"))
            else:
                words.append(token)
    cleaned = []
    for words in found:
        words = [w for w in words if not REDIRECTION.fullmatch(w)]
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]
        if words:
            cleaned.append(words)
    return cleaned


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*):", text, re.M))


# Commands of the AWS CLI that are its own, not an API operation.
AWS_CLI_COMMANDS = {("s3", "*"), ("logs", "tail"), ("deploy", "*"), ("configure", "*")}


def aws_problems(words: list[str]) -> list[str]:
    """An ``aws`` command names an operation of botocore's model and its parameters
    (names as the CLI spells them: botocore's ``xform_name``)."""
    rest = words[1:]
    while rest and rest[0].startswith("--"):  # global options: aws --region r lambda ...
        rest = rest[2:] if rest[0][2:] in AWS_CLI_OPTIONS else rest[1:]
    if len(rest) < 2:
        return [f"aws: no service and command in {words}"]
    service, operation, *rest = rest
    if (service, "*") in AWS_CLI_COMMANDS or (service, operation) in AWS_CLI_COMMANDS:
        return []
    model = botocore.session.get_session().get_service_model(service)
    names = {botocore.xform_name(op, "-"): op for op in model.operation_names}
    if operation not in names:
        return [f"aws {service} has no operation {operation!r}"]
    shape = model.operation_model(names[operation]).input_shape
    members = {botocore.xform_name(m, "-") for m in (shape.members if shape else {})}
    given = [w[2:] for w in rest if w.startswith("--")]
    return [
        f"aws {service} {operation} takes no --{name}"
        for name in given
        if name not in members and name not in AWS_CLI_OPTIONS
    ]


def command_problems(words: list[str]) -> list[str]:
    program = words[0]
    if program == "make":
        unknown = [w for w in words[1:] if "=" not in w and w not in make_targets()]
        return [f"make has no target {w!r}" for w in unknown]
    if program.endswith("bedrock-lifecycle"):
        try:
            build_parser().parse_args(words[1:])
        except SystemExit as done:
            return [] if done.code == 0 else [f"bedrock-lifecycle refuses {words[1:]}"]
        return []
    if program == "aws":
        return aws_problems(words)
    if program == "cdk" and (len(words) < 2 or words[1] not in CDK_COMMANDS):
        return [f"cdk has no command {words[1:2]}"]
    if program in OTHER_TOOLS:
        return []
    return [f"unknown program {program!r}: add it to OTHER_TOOLS if a reader has it"]


SHELL = [b for b in of("sh", "console") if b.fragment is None]


@pytest.mark.parametrize("block", SHELL, ids=[b.id for b in SHELL])
def test_shell_commands_name_what_exists(block: Block, capsys):
    problems = [p for words in commands(block) for p in command_problems(words)]
    capsys.readouterr()  # argparse's help and usage
    assert commands(block), f"{block.id}: no command"
    assert problems == [], block.id


def test_the_command_parser_reads_what_a_shell_reads():
    console = Block(
        ROOT,
        1,
        "console",
        "$ bedrock-lifecycle plan \\\n  --base origin/main\nout\n$ make test\n",
        None,
        "",
    )
    assert commands(console) == [
        ["bedrock-lifecycle", "plan", "--base", "origin/main"],
        ["make", "test"],
    ]
    shell = Block(
        ROOT,
        1,
        "sh",
        "make plan 2>/dev/null | cat > out.txt 2>&1  # done\npip install 'a @ git+https://x/y.git#egg=a'\n",
        None,
        "",
    )
    assert commands(shell) == [
        ["make", "plan"],
        ["cat"],
        ["pip", "install", "a @ git+https://x/y.git#egg=a"],
    ]
    assert (
        command_problems(
            [
                "aws",
                "--region",
                "us-east-1",
                "rds",
                "create-db-instance",
                "--db-instance-identifier",
                "x",
            ]
        )
        == []
    )
    assert command_problems(["aws", "s3", "cp", "a", "s3://b/"]) == []
    assert command_problems(["cdk"]) == ["cdk has no command []"]


def test_the_command_check_can_fail():
    assert command_problems(["make", "sinth"]) == ["make has no target 'sinth'"]
    assert command_problems(["bedrock-lifecycle", "histroy", "prod"])
    assert command_problems(["aws", "lambda", "invoke", "--function", "x"]) == [
        "aws lambda invoke takes no --function"
    ]
    assert command_problems(["rm", "-rf", "/"])


# -- yaml --


def merged(base: dict, patch: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


YAML = [b for b in of("yaml") if b.fragment is None]


@pytest.mark.parametrize("block", YAML, ids=[b.id for b in YAML])
def test_yaml_blocks_are_valid_lifecycle_file_parts(block: Block, tmp_path):
    patch = yaml.safe_load(block.text)
    assert isinstance(patch, dict), f"{block.id}: not a mapping"
    unknown = set(patch) - set(LifecycleFile.model_fields)
    assert not unknown, f"{block.id}: not lifecycle.yaml keys: {sorted(unknown)}"
    shipped = yaml.safe_load((ROOT / "lifecycle.yaml").read_text(encoding="utf-8"))
    folder = tmp_path / "project"
    shutil.copytree(ROOT / "evals", folder / "evals")
    if (ROOT / "docs/examples").is_dir():
        shutil.copytree(ROOT / "docs/examples", folder / "docs/examples")
    (folder / "lifecycle.yaml").write_text(yaml.safe_dump(merged(shipped, patch)))
    try:
        load_lifecycle(folder / "lifecycle.yaml", check_lock_file=False)
    except ConfigError as error:
        pytest.fail(f"{block.id}: {error}")


# -- json --

JSON = [b for b in of("json") if b.fragment is None]


@pytest.mark.parametrize("block", JSON, ids=[b.id for b in JSON])
def test_json_blocks_parse(block: Block):
    try:
        json.loads(block.text)
    except json.JSONDecodeError:
        for line in block.text.splitlines():
            if line.strip():
                json.loads(line)  # JSON lines


def test_every_page_is_scanned():
    assert {b.page for b in BLOCKS} >= {ROOT / "README.md", ROOT / "docs/extending.md"}
    assert len(BLOCKS) > 30  # the parser found the blocks
