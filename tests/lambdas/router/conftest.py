"""Fixtures of the router tests: the Bedrock Runtime stand-in."""

from tests.support.bedrock_standin import bedrock_standin  # noqa: F401 (fixture)
