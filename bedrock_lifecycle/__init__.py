"""bedrock-lifecycle: Amazon Bedrock model lifecycle as code on the AWS CDK.

The public API is :mod:`bedrock_lifecycle.constructs` (docs/extending.md); the command
line is ``bedrock-lifecycle`` (docs/README.md). Versions follow CHANGELOG.md.
"""

__version__ = "0.2.0"

__all__ = ["__version__"]
