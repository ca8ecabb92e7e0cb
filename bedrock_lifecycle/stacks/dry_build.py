"""``validate``'s dry build: every environment's stack constructed, nothing synthesized.

The constructs check what they are given (sizes of a router's configuration or a
watcher's, construct ids, tag sets, throughput properties) and raise
``ValueError`` before any resource exists. ``validate`` and ``lock`` construct the
same stacks synth would, in a scratch app writing into a temporary folder that
is removed afterwards, so a check added to a construct is a check of ``validate``
the day it is written: no copy of it can drift. It takes about 5 s for the shipped
file (jsii starts Node.js once per process); nothing is written beside the file.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from ..config import LifecycleConfig, Problem
from .limits import MAX_STACK_RESOURCES, template_problems

CDK_JSON = "cdk.json"
# What a construct (ValueError, TypeError) or jsii (RuntimeError) raises when it refuses
# a value: validate's dry build and synth answer each in one line.
CONSTRUCT_ERRORS = (ValueError, TypeError, RuntimeError)
__all__ = ["CONSTRUCT_ERRORS", "MAX_STACK_RESOURCES", "construction_problems", "first_line"]


def project_context(*folders: Path) -> dict[str, Any]:
    """The ``context`` of the first ``cdk.json`` found in ``folders`` (the feature flags
    ``cdk synth`` would use), else none."""
    for folder in folders:
        path = folder / CDK_JSON
        try:
            context = json.loads(path.read_text(encoding="utf-8")).get("context", {})
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(context, dict):
            return context
    return {}


def construction_problems(config: LifecycleConfig) -> list[Problem]:
    """What the constructs refuse when every environment of ``config`` is built, as
    problems of the whole file (one line each); ``[]`` when synth would construct it.

    The feature flags are those of the ``cdk.json`` in the working folder, else beside
    the file, as ``cdk synth`` reads them.
    """
    context = project_context(Path.cwd(), config.base_dir)
    key = _build_key(config, context)
    if key not in _RESULTS:
        if len(_RESULTS) >= _RESULTS_KEPT:
            _RESULTS.pop(next(iter(_RESULTS)))
        _RESULTS[key] = tuple(_construct(config, context))
    return list(_RESULTS[key])


# One process (a test session, a script validating many files) builds the same file
# once: the result depends only on what _build_key holds.
_RESULTS: dict[str, tuple[Problem, ...]] = {}
_RESULTS_KEPT = 32


def _build_key(config: LifecycleConfig, context: dict[str, Any]) -> str:
    """Everything a construction reads: the file, the lock (stack groups, custom models'
    ARNs), the golden prompts' content, the flags. Not the folder: the same file, lock
    and prompts build the same stacks wherever they are."""
    digest = hashlib.sha256()
    digest.update(config.file.model_dump_json().encode())
    digest.update(b"\0" + (config.lock.render() if config.lock is not None else "").encode())
    digest.update(json.dumps(context, sort_keys=True, default=str).encode())
    for family in config.file.families.values():
        if family.evaluation is not None:
            try:
                digest.update((config.base_dir / family.evaluation.golden_prompts).read_bytes())
            except OSError:
                digest.update(b"\0missing")
    return digest.hexdigest()


def _construct(config: LifecycleConfig, context: dict[str, Any]) -> list[Problem]:
    import aws_cdk as cdk

    from .environment import build_environment

    with tempfile.TemporaryDirectory(prefix="bedrock-lifecycle-dry-build-") as outdir:
        app = cdk.App(outdir=outdir, context=context)
        built = {}
        for environment in config.environment_names:
            try:
                built[environment] = build_environment(app, config, environment)
            except CONSTRUCT_ERRORS as exc:
                return [
                    Problem(("environments", environment), f"synth would refuse: {first_line(exc)}")
                ]
        # The limits are the templates': synthesized without the gates (synth runs those).
        try:
            assembly = app.synth()
        except CONSTRUCT_ERRORS as exc:
            return [Problem((), f"synth would refuse: {first_line(exc)}")]
        problems = []
        for environment, stacks in built.items():
            templates = {
                s.stack_name: assembly.get_stack_by_name(s.stack_name).template
                for s in stacks.stacks
            }
            problems += [
                Problem(("environments", environment), line)
                for line in template_problems(templates)
            ]
        return problems


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message (jsii appends a JavaScript stack), else its
    type's name."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
