"""Fixtures of the stack tests."""

from tests.support.bedrock_standin import bedrock_standin  # noqa: F401 (fixture)
