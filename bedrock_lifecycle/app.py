"""Build the CDK app from a lifecycle file (used by ``app.py``, the tests and benchmarks)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
from aws_cdk import cx_api
from constructs import IConstruct

from .config import ConfigError, LifecycleConfig, Problem, load_lifecycle
from .config.problems import MAX_PRINTED_PROBLEMS, one_line
from .nag import register_packs
from .nag.control_tower import register_control_tower
from .stacks import STAGING_DIR, LifecycleStack
from .stacks.dry_build import CONSTRUCT_ERRORS, first_line
from .stacks.environment import build_environment
from .stacks.limits import template_problems

DEFAULT_LIFECYCLE_FILE = "lifecycle.yaml"
# The policy-validation report CDK writes when a gate (cdk-nag, cfn-guard) fails.
VALIDATION_REPORT = "validation-report.json"


def build_app(
    config: LifecycleConfig, *, app: cdk.App | None = None
) -> tuple[cdk.App, dict[str, LifecycleStack], list[cdk_nag.NagPack]]:
    """Add one stack per environment of ``config`` to ``app`` and register the gates:
    cdk-nag's packs and the AWS Control Tower proactive controls
    (:mod:`.nag.control_tower`).

    :param app: Default: a new ``cdk.App()`` (reads the CLI's context and outdir).
    :returns: the app, the main stack of each environment by environment name (its
        ``environment_stacks`` are all of the environment's, :mod:`.stacks.environment`),
        and the registered nag packs.
    """
    app = app if app is not None else cdk.App()
    packs = register_packs(app)
    register_control_tower(app)
    stacks = {env: build_environment(app, config, env).main for env in config.environment_names}
    for warning in config.warnings:
        # A warning lands on the stacks of the environments it concerns (all if it names
        # none), on the alias constructs it is about when it is about aliases.
        for env in warning.envs or tuple(stacks):
            if env in stacks:
                for scope in _warning_scopes(config, stacks[env], warning):
                    # The annotation is a warning already: no "warning:" inside it.
                    cdk.Annotations.of(scope).add_warning_v2(
                        "bedrock-lifecycle:lifecycle",
                        warning.render(config.label, with_severity=False),
                    )
    return app, stacks, packs


def _warning_scopes(
    config: LifecycleConfig, stack: LifecycleStack, warning: Problem
) -> list[IConstruct]:
    """The alias constructs a lifecycle warning is about in ``stack``, else the stack."""
    path = warning.path
    names: list[str] = []
    if len(path) >= 4 and path[0] == "families" and path[2] == "aliases":
        names = [f"{path[1]}/{path[3]}"]
    elif len(path) >= 4 and path[0] == "families" and path[2] == "versions":
        names = [
            a.qualified_name
            for a in config.aliases_for(stack.environment_name)
            if a.family == path[1] and a.version_label == path[3]
        ]
    scopes = [stack.environment_stacks.alias_scope(n) for n in names]
    found = [scope for scope in scopes if scope is not None]
    return found if found else [stack]


def check_limits(assembly: cx_api.CloudAssembly, stacks: dict[str, LifecycleStack]) -> None:
    """Raise ValueError with the first limit (:mod:`.stacks.limits`) an environment's
    templates exceed."""
    for stack in stacks.values():
        templates = {
            s.stack_name: assembly.get_stack_by_name(s.stack_name).template
            for s in stack.environment_stacks.stacks
        }
        problems = template_problems(templates)
        if problems:
            raise ValueError(f"environments.{stack.environment_name}: {problems[0]}")


def main(app: cdk.App | None = None) -> None:
    """Synthesize every environment; print file problems one per line and exit 2.

    :param app: Default: a new ``cdk.App()`` (the CLI's context and output folder).
    """
    app = app if app is not None else cdk.App()
    path = app.node.try_get_context("lifecycle") or DEFAULT_LIFECYCLE_FILE
    try:
        config = load_lifecycle(Path(path))
    except ConfigError as exc:
        # Before any construct exists: nothing half written, no jsii traceback.
        for line in exc.lines(MAX_PRINTED_PROBLEMS):
            print(line, file=sys.stderr)
        sys.exit(2)
    outdir = Path(app.outdir)
    watched = (outdir, outdir / STAGING_DIR)
    before = {entry for folder in watched if folder.is_dir() for entry in folder.iterdir()}
    try:
        _, stacks, _ = build_app(config, app=app)
        assembly = app.synth()
        check_limits(assembly, stacks)
    except CONSTRUCT_ERRORS as exc:
        # A construct or a synth-time check refused a value of the file (validate's dry
        # build refuses what constructs refuse, stacks.dry_build) or a gate failed (its
        # report is printed above). One line, and nothing of this synth left behind.
        after = {entry for folder in watched if folder.is_dir() for entry in folder.iterdir()}
        for entry in after - before:
            if entry.name == VALIDATION_REPORT:
                continue  # what the gates found, which the report above points to
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        print(one_line(f"{config.label}: synth refuses: {first_line(exc)}"), file=sys.stderr)
        sys.exit(2)
