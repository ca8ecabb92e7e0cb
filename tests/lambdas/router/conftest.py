"""Fixtures of the router tests: the Bedrock Runtime stand-in, and no backoff sleeps."""

from collections.abc import Iterator
from unittest import mock

import pytest
from botocore.retries.standard import ExponentialBackoff

from tests.support.bedrock_standin import bedrock_standin  # noqa: F401 (fixture)


@pytest.fixture(autouse=True, scope="module")
def no_backoff_sleep() -> Iterator[None]:
    """botocore's standard retry mode sleeps up to 1 s, then 2 s, before retrying a
    throttle: the retries still happen (tests count them), without the wait."""
    with mock.patch.object(ExponentialBackoff, "delay_amount", lambda self, context: 0):
        yield
