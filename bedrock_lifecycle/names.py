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
