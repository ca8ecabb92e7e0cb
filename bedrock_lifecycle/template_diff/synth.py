"""Synthesize a base git ref in a temporary worktree and the working tree, then compare.

Each app runs as the aws-cdk CLI runs it, ``python app.py`` with ``CDK_OUTDIR`` and
``CDK_CONTEXT_JSON`` (the ``cdk.json`` context plus ``lifecycle``), with its own
``bedrock_lifecycle`` first on ``PYTHONPATH`` (checked before it runs). Nothing needs
AWS credentials. The worktree is removed afterwards, also on failure; the user's working
tree and index are never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .compare import ResourceChange, TemplateDiffError, compare_templates

STACK_PREFIX = "BedrockLifecycle-"
SYNTH_TIMEOUT_SECONDS = 900


def template_changes(
    base_ref: str,
    *,
    repo: Path,
    lifecycle: Path,
    environments: Sequence[str] | None = None,
) -> list[ResourceChange]:
    """Synthesize ``base_ref`` (in a temporary worktree) and the working tree; compare.

    :param repo: the git repository; its working tree is the head.
    :param lifecycle: the lifecycle file, relative to ``repo`` (or inside it). At a base
        ref without it, every resource of the head is added.
    :param environments: compare only these environments' stacks (``BedrockLifecycle-<env>``,
        and its alias and entry stacks when it spans several). Stacks are matched by
        CloudFormation name. Default: every stack of the base and the head.
    :raises TemplateDiffError: a git or synth failure, or an unknown environment.
    """
    if base_ref.startswith("-"):
        raise TemplateDiffError(f"the base ref must not start with '-', got {base_ref!r}")
    repo = Path(repo).resolve()
    relative = _relative(lifecycle, repo)
    has_base = _exists_at(repo, base_ref, relative)
    with tempfile.TemporaryDirectory(prefix="bedrock-lifecycle-diff-") as scratch:
        tmp = Path(scratch)
        head_job = _start_synth(repo, tmp / "head.out", relative)
        base_templates: dict[str, dict[str, Any]] = {}
        try:
            if has_base:
                worktree = tmp / "base"
                _git(repo, "worktree", "add", "--detach", str(worktree), base_ref)
                try:
                    base_job = _start_synth(worktree, tmp / "base.out", relative)
                    base_templates = _finish_synth(base_job, f"the base {base_ref}")
                finally:
                    _remove_worktree(repo, worktree)
            head_templates = _finish_synth(head_job, "the head")
        finally:
            if head_job.process.poll() is None:
                head_job.process.kill()
                head_job.process.wait()
    stacks = sorted(set(base_templates) | set(head_templates))
    if environments:
        unknown = [
            f"{STACK_PREFIX}{env}" for env in environments if not environment_stacks(env, stacks)
        ]
        if unknown:
            raise TemplateDiffError(
                f"no stack {', '.join(unknown)} at the base or the head (stacks: "
                f"{', '.join(stacks) or 'none'})"
            )
        wanted = {s for env in environments for s in environment_stacks(env, stacks)}
        stacks = [s for s in stacks if s in wanted]
    changes: list[ResourceChange] = []
    for stack in stacks:
        changes += compare_templates(stack, base_templates.get(stack), head_templates.get(stack))
    return changes


def _relative(lifecycle: Path, repo: Path) -> Path:
    path = Path(lifecycle)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(repo.resolve())
        except ValueError:
            raise TemplateDiffError(f"the lifecycle file {path} is not inside {repo}") from None
    return path


def _run(args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    # Argument lists of our own, never a shell; a ref is one argument and never an option.
    return subprocess.run(list(args), capture_output=True, text=True, check=False, **kwargs)  # noqa: S603


def _git(repo: Path, *args: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise TemplateDiffError("git is not installed: the base ref cannot be checked out")
    done = _run([git, "-C", str(repo), *args])
    if done.returncode != 0:
        raise TemplateDiffError(f"git {args[0]}: {_first_line(done.stderr) or 'failed'}")
    return done.stdout


def _exists_at(repo: Path, ref: str, path: Path) -> bool:
    """Whether ``path`` exists at ``ref`` (an unknown ref is an error)."""
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except TemplateDiffError:
        raise TemplateDiffError(f"{ref!r} is not a commit of {repo}") from None
    try:
        _git(repo, "cat-file", "-e", f"{ref}:{path.as_posix()}")
    except TemplateDiffError:
        return False
    return True


def _remove_worktree(repo: Path, worktree: Path) -> None:
    for args in (("worktree", "remove", "--force", str(worktree)), ("worktree", "prune")):
        # Best effort: prune forgets a worktree whose folder is gone already.
        with contextlib.suppress(TemplateDiffError):
            _git(repo, *args)
    shutil.rmtree(worktree, ignore_errors=True)


@dataclass
class _SynthJob:
    source: Path
    outdir: Path
    process: subprocess.Popen[str]


def _start_synth(source: Path, outdir: Path, lifecycle: Path) -> _SynthJob:
    """Run ``source``'s app as the aws-cdk CLI would, its own package first on the path."""
    context: dict[str, Any] = {}
    cdk_json = source / "cdk.json"
    if cdk_json.is_file():
        context = dict(json.loads(cdk_json.read_text(encoding="utf-8")).get("context") or {})
    context["lifecycle"] = lifecycle.as_posix()
    env = dict(os.environ)
    env.update(
        CDK_OUTDIR=str(outdir),
        CDK_CONTEXT_JSON=json.dumps(context),
        PYTHONPATH=os.pathsep.join([str(source), *filter(None, [env.get("PYTHONPATH")])]),
        PYTHONDONTWRITEBYTECODE="1",
        JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION="1",
    )
    node = Path(sys.executable).parent.parent / "node" / "bin"
    if node.is_dir():
        env["PATH"] = os.pathsep.join([str(node), env.get("PATH", "")])
    probe = "import importlib.util as u; print(u.find_spec('bedrock_lifecycle').origin)"
    found = _run([sys.executable, "-c", probe], cwd=source, env=env)
    origin = Path(found.stdout.strip() or "/")
    if found.returncode != 0 or not origin.resolve().is_relative_to(source.resolve()):
        raise TemplateDiffError(
            f"the app in {source} would import bedrock_lifecycle from {origin}, not its own"
        )
    outdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and the app's entry point)
        [sys.executable, str(source / "app.py")],
        cwd=source,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return _SynthJob(source, outdir, process)


def _finish_synth(job: _SynthJob, what: str) -> dict[str, dict[str, Any]]:
    """Wait for the synth; its stacks' templates by stack name."""
    try:
        _, stderr = job.process.communicate(timeout=SYNTH_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        job.process.kill()
        job.process.wait()
        raise TemplateDiffError(f"synth of {what} took over {SYNTH_TIMEOUT_SECONDS} s") from None
    if job.process.returncode != 0:
        raise TemplateDiffError(f"synth of {what} failed: {_first_line(stderr) or 'no output'}")
    manifest = json.loads((job.outdir / "manifest.json").read_text(encoding="utf-8"))
    templates: dict[str, dict[str, Any]] = {}
    for name, artifact in sorted((manifest.get("artifacts") or {}).items()):
        if artifact.get("type") == "aws:cloudformation:stack" and name.startswith(STACK_PREFIX):
            properties = artifact["properties"]
            template = job.outdir / properties["templateFile"]
            # By CloudFormation name: an environment that becomes several stacks keeps its
            # deployed stack's name (its construct id gains -Main), and that is the stack
            # whose resources must be compared.
            stack = properties.get("stackName") or name
            templates[stack] = json.loads(template.read_text(encoding="utf-8"))
    return templates


def environment_stacks(environment: str, stacks: Sequence[str]) -> list[str]:
    """The stacks of ``environment`` among ``stacks``: ``BedrockLifecycle-<env>`` and, when
    it spans several, its alias stacks and its entry stack (environment names are lower
    case, so ``-Aliases<N>`` and ``-Environment`` never belong to another environment)."""
    name = f"{STACK_PREFIX}{environment}"
    return [
        s
        for s in stacks
        if s == name
        or s == f"{name}-Environment"
        or (s.startswith(f"{name}-Aliases") and s[len(name) + 8 :].isdigit())
    ]


def _first_line(stderr: str) -> str:
    """The line of a failure's stderr worth showing: a traceback's last, else the first
    that is not a warning (CDK prints the lifecycle warnings as indented blocks) or noise."""
    if any(line.startswith("Traceback (most recent call last)") for line in stderr.splitlines()):
        return next(line.strip() for line in reversed(stderr.splitlines()) if line.strip())
    noise = ("[WARNING]", "(node:", "(Use `node --trace", "A copy of this report")
    in_warning = False
    for line in (stderr or "").splitlines():
        if not line.strip():
            continue
        if line.startswith(("WARNING ", "[Warning at", "[WARNING")):
            in_warning = True
            continue
        if in_warning and line[:1].isspace():
            continue  # the warning's construct path and acknowledgement lines
        in_warning = False
        if not line.strip().startswith(noise):
            return line.strip()
    return ""
