"""Names the stacks give and the file, the plan and the constructs all need: written once.

Standard library only; every layer but the Lambda assets may import it.
"""

from __future__ import annotations

# Where every alias's SSM discovery parameter lives: <prefix>/<project>/<environment>/...
PARAMETER_PREFIX = "/bedrock-lifecycle"


def throughput_name(project: str, environment: str, name: str) -> str:
    """The Bedrock provisioned model name of throughput ``name`` bought in ``environment``:
    ``<project>-<environment>-<name>`` (validate checks it fits Bedrock's 63 characters)."""
    return f"{project}-{environment}-{name}"


# The tags the stacks set themselves start with this; the file's tags may not.
PROJECT_TAG_PREFIX = "bedrock-lifecycle:"


# -- a split environment (stacks/environment.py) --------------------------------------
# Resources that the stacks of one environment name for each other carry one prefix per
# environment: ``bl`` and 8 hex of sha256("<project>/<environment>"). Only this
# environment's names match it (``acme-prod-*`` would also match ``acme-prod-eu-...``),
# so the hooks' grants on "every router of the environment" stay inside it.
NAME_PREFIX_HEX = 8
LAMBDA_NAME_LIMIT = 64
CODEDEPLOY_NAME_LIMIT = 100


def environment_prefix(project: str, environment: str) -> str:
    """``bl`` + 8 hex digits naming one environment of one project."""
    import hashlib

    digest = hashlib.sha256(f"{project}/{environment}".encode()).hexdigest()
    return f"bl{digest[:NAME_PREFIX_HEX]}"


def _bounded(prefix: str, rest: str, limit: int) -> str:
    """``<prefix>-<rest>``, cut to ``limit`` with a digest of the whole when longer."""
    import hashlib

    name = f"{prefix}-{rest}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9]}-{digest}"


def router_function_name(project: str, environment: str, family: str, alias: str) -> str:
    """The Lambda function name of a router in an alias stack (at most 64 characters):
    ``<prefix>-<family>_<alias>``. Family and alias names have no ``_``, hook names
    neither (:func:`hook_function_name`), so no router takes a hook's name (family
    ``evaluation`` with alias ``gate``) and no two routers share one."""
    return _bounded(
        environment_prefix(project, environment), f"{family}_{alias}", LAMBDA_NAME_LIMIT
    )


def hook_function_name(project: str, environment: str, hook: str) -> str:
    """The Lambda function name of a rollout hook of a split environment: ``<prefix>-<hook>``
    (``hook`` without ``_``: that is the routers' mark)."""
    if "_" in hook:
        raise ValueError(f"a hook's name has no '_' (the routers' mark), got {hook!r}")
    return _bounded(environment_prefix(project, environment), hook, LAMBDA_NAME_LIMIT)


def shared_application_name(project: str, environment: str) -> str:
    """The CodeDeploy application of a split environment's alias stacks."""
    return _bounded(environment_prefix(project, environment), "aliases", CODEDEPLOY_NAME_LIMIT)


def shared_parameter_name(project: str, environment: str, key: str) -> str:
    """``/bedrock-lifecycle/<project>/<environment>/shared/<key>``: what the main stack of
    a split environment tells its alias stacks (an ARN, a name)."""
    return f"{PARAMETER_PREFIX}/{project}/{environment}/shared/{key}"


# -- custom models (docs/fine-tuning.md) ------------------------------------------------
def customization_parameter_name(project: str, environment: str, name: str) -> str:
    """The SSM parameter in which an environment's stack tells ``customize start`` the
    job role and invocation-log location of custom model ``name``."""
    return f"{PARAMETER_PREFIX}/{project}/{environment}/custom-models/{name}"


def deployment_name(project: str, environment: str, name: str, group: int = 0) -> str:
    """The Bedrock name of the on-demand deployment of custom model ``name`` made by stack
    ``group`` of ``environment`` (0: the main stack): ``bl<8 hex>-<name>`` (``-a<group>``
    in an alias stack), inside Bedrock's 63 characters and ``([0-9a-zA-Z][_-]?)+``
    (custom model names take no ``--``)."""
    suffix = f"-a{group}" if group else ""
    return f"{environment_prefix(project, environment)}-{name}{suffix}"


# -- operations (docs/operations.md) ------------------------------------------------------


def manifest_parameter_name(project: str, environment: str, group: int = 0) -> str:
    """The version manifest of one stack of an environment: ``.../manifest`` for the main
    stack (group 0), ``.../manifest-aliases<N>`` for alias stack N."""
    suffix = "manifest" if group == 0 else f"manifest-aliases{group}"
    return f"{PARAMETER_PREFIX}/{project}/{environment}/{suffix}"


def audit_parameter_name(project: str, environment: str) -> str:
    """``/bedrock-lifecycle/<project>/<environment>/audit``: where the audit trail is."""
    return f"{PARAMETER_PREFIX}/{project}/{environment}/audit"


# CloudWatch dashboard names: at most 255 of A-Z a-z 0-9 - _.
DASHBOARD_NAME_LIMIT = 255


def dashboard_name(project: str, environment: str, group: int = 0, page: int = 1) -> str:
    """The dashboard of one stack of an environment: ``bedrock-lifecycle-<project>-<env>``
    for the main stack's first page (the environment's overview), ``-aliases<N>`` for alias
    stack N, ``-<page>`` for a stack's further pages."""
    name = f"bedrock-lifecycle-{project}-{environment}"
    if group:
        name += f"-aliases{group}"
    if page > 1:
        name += f"-{page}"
    return name
