"""The base of a plan: a lifecycle file, or the same file at a git ref, read offline.

``--base`` names an existing lifecycle file, or a git ref (``origin/main``,
``HEAD~1``) of the repository that holds the head file. For a ref, the file at
the same path relative to the repository root, its ``.lock`` and its
golden-prompt files are read with ``git cat-file`` (no worktree, no network)
into a private temporary folder, which lives as long as the ``with`` block of
:func:`open_base`. A ref where the file does not exist gives a :class:`MissingBase`
naming ``<ref>:<path>``: everything is new, and the plan says why. A golden-prompt
file missing at the ref is no error: the base's gate has unknown prompts.

The base is loaded without its lock check and without the lifecycle rules (a
base that was valid when it merged may be past a sunset today); schema and
reference errors are reported as problems of ``<ref>:<path>``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..config import ConfigError, LifecycleConfig, Problem, Severity, lock_path_for, semantic
from ..config.loader import parse_file

GIT_TIMEOUT_SECONDS = 60


class BaseError(ConfigError):
    """``--base`` names neither a lifecycle file nor a usable git ref."""

    def __init__(self, message: str) -> None:
        super().__init__("--base", [Problem((), message)])


@dataclass(frozen=True)
class MissingBase:
    """``--base`` is a git ref where the lifecycle file does not exist: everything is new.

    :param label: ``<ref>:<path>``, the file that was looked for.
    """

    label: str


def load_base(
    path: Path, label: str, missing_prompts: frozenset[str] = frozenset()
) -> LifecycleConfig:
    """The base file, schema- and reference-checked (no lock, no lifecycle rules).

    :param missing_prompts: families whose golden-prompt file is missing at the base's
        ref; that is no error (their gate's prompts are unknown). Default: none.
    :raises ConfigError: the base's errors, named ``label``.
    """
    file = parse_file(path, label)
    tolerated = {("families", fam, "evaluation", "golden_prompts") for fam in missing_prompts}
    errors = [
        p
        for p in semantic.check(file, path.parent)
        if p.severity is Severity.ERROR and tuple(p.path) not in tolerated
    ]
    if errors:
        raise ConfigError(label, errors)
    return LifecycleConfig(file=file, path=path, label=label)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    git = shutil.which("git")
    if git is None:
        raise BaseError("git is not installed, so a git ref cannot be read")
    try:
        return subprocess.run(  # noqa: S603 (git itself, arguments as a list, no shell)
            [git, "-C", str(repo), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise BaseError("git is not installed, so a git ref cannot be read") from None
    except subprocess.TimeoutExpired:
        raise BaseError(f"git {args[0]} took longer than {GIT_TIMEOUT_SECONDS} s") from None


def repository_of(path: Path) -> Path | None:
    """The root of the git work tree that holds ``path``; None when there is none."""
    folder = path.resolve().parent
    if not folder.is_dir():
        return None
    try:
        done = _git(folder, "rev-parse", "--show-toplevel")
    except BaseError:
        return None
    if done.returncode != 0:
        return None
    return Path(done.stdout.decode("utf-8", "replace").strip()).resolve()


def is_ref(repo: Path, ref: str) -> bool:
    """Whether ``ref`` names a commit of ``repo`` (an option-looking name never does)."""
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n"):
        return False
    done = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return done.returncode == 0


def read_at(repo: Path, ref: str, path: PurePosixPath) -> bytes | None:
    """The blob at ``ref:path``; None when there is no file at that path."""
    spec = f"{ref}:{path.as_posix()}"
    kind = _git(repo, "cat-file", "-t", spec)
    if kind.returncode != 0 or kind.stdout.strip() != b"blob":
        return None
    done = _git(repo, "cat-file", "blob", spec)
    if done.returncode != 0:
        raise BaseError(f"git could not read {spec}: {done.stderr.decode('utf-8', 'replace')}")
    return done.stdout


def describe_base(base: str, head: Path) -> str:
    """``file`` or ``ref``: what ``--base`` names (for the check ``--templates`` makes).

    :raises BaseError: neither an existing file nor a ref of the head's repository.
    """
    if Path(base).is_file():
        return "file"
    repo = repository_of(head)
    if repo is None:
        raise BaseError(
            f"{base}: no such file, and {head} is not in a git repository (a git ref needs one)"
        )
    if not is_ref(repo, base):
        raise BaseError(
            f"{base}: neither an existing lifecycle file nor a git ref of {repo}; give a file "
            "or a ref such as origin/main or HEAD~1"
        )
    return "ref"


@contextmanager
def open_base(base: str, head: Path) -> Iterator[LifecycleConfig | MissingBase]:
    """The base lifecycle config named by ``--base``, loaded; a :class:`MissingBase` when
    the ref has no file at the head's path.

    :param base: a lifecycle file or a git ref.
    :param head: the head lifecycle file (its repository and its path in it).
    :raises BaseError: ``base`` is neither; :class:`ConfigError`: the base has errors.
    """
    if describe_base(base, head) == "file":
        yield load_base(Path(base), base)
        return
    repo = repository_of(head)
    assert repo is not None
    try:
        relative = PurePosixPath(head.resolve().relative_to(repo).as_posix())
    except ValueError:
        raise BaseError(f"{head} is not inside the git repository {repo}") from None
    text = read_at(repo, base, relative)
    label = f"{base}:{relative.as_posix()}"
    if text is None:
        yield MissingBase(label)
        return
    with tempfile.TemporaryDirectory(prefix="bedrock-lifecycle-base-") as tmp:
        folder = Path(tmp)
        copy = folder / relative.name
        copy.write_bytes(text)
        lock = read_at(repo, base, relative.parent / lock_path_for(Path(relative.name)).name)
        if lock is not None:
            lock_path_for(copy).write_bytes(lock)
        try:
            file = parse_file(copy, label)
        except ConfigError:
            file = None  # load_base reports the same problems below
        missing: set[str] = set()
        if file is not None:
            for fam_name, family in file.families.items():
                if family.evaluation is None:
                    continue
                inner = PurePosixPath(family.evaluation.golden_prompts.replace("\\", "/"))
                prompts = read_at(repo, base, relative.parent / inner)
                if prompts is None:
                    missing.add(fam_name)
                    continue
                target = folder / inner
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(prompts)
        yield load_base(copy, label, frozenset(missing))
