"""CloudFormation beside the plan, offline: synthesize a base git ref and the head, compare.

The base ref is checked out in a temporary ``git worktree`` (removed afterwards, also on
failure; the user's working tree and index are never touched) and synthesized with its
own code and its own lifecycle file; the head is synthesized from the working tree as it
is. Both run ``python app.py`` the way the aws-cdk CLI runs an app (``CDK_OUTDIR``,
``CDK_CONTEXT_JSON``), with no AWS credentials and no network.

Each stack's template is then compared resource by resource:

- ``add`` / ``remove``: a logical id only in the head / only in the base. A removed
  resource whose ``DeletionPolicy`` retains it is said to be retained.
- ``modify``: the changed top-level ``Properties``, plus the resource attributes
  ``DeletionPolicy``, ``UpdateReplacePolicy``, ``UpdatePolicy``, ``CreationPolicy`` and
  ``Condition`` (``Metadata`` and ``DependsOn`` are ignored: they change nothing in the
  cloud). A property whose only difference is a CDK asset hash (64 hex digits, as in a
  Lambda function's ``Code.S3Key``) is listed like any other, because CloudFormation
  does update the resource, and also in ``asset_only`` so that renderings can say
  "(asset)": the code or file content behind it changed, not a setting.
- ``replace``: a modify that CloudFormation cannot make in place: a changed ``Type``, or a
  changed property listed in the resource type's ``createOnlyProperties`` in the
  provider schemas that cfn-lint ships (read as plain JSON), or, for the project's
  custom resources, a change that their handler answers with a new physical id
  (:data:`CUSTOM_RESOURCE_REPLACEMENTS`).

Interface: :func:`template_changes`, :class:`ResourceChange`, :class:`TemplateDiffError`,
:func:`render_text`, :func:`render_markdown`, :func:`changes_json`; the comparison alone
(on template dicts) is :func:`compare_templates`. Command line::

    python -m bedrock_lifecycle.template_diff --base origin/main --env prod --format markdown
"""

from .compare import (
    CUSTOM_RESOURCE_REPLACEMENTS,
    ResourceChange,
    TemplateDiffError,
    compare_templates,
    schema_create_only,
)
from .render import changes_json, render_markdown, render_text
from .synth import STACK_PREFIX, template_changes

__all__ = [
    "CUSTOM_RESOURCE_REPLACEMENTS",
    "STACK_PREFIX",
    "ResourceChange",
    "TemplateDiffError",
    "changes_json",
    "compare_templates",
    "render_markdown",
    "render_text",
    "schema_create_only",
    "template_changes",
]
