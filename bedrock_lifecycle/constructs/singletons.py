"""The one-per-stack parts (providers, the logs key, the layer), found or made in one way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import aws_cdk as cdk
from constructs import Construct

T = TypeVar("T")


def stack_singleton(
    scope: Construct, construct_id: str, kind: type[Any], create: Callable[[cdk.Stack], T]
) -> T:
    """The stack's one ``construct_id``: the one already made, or ``create(stack)`` now.

    Its construct id is fixed, because what depends on it (a provider's service
    token, a key's logical id) must not change between synths.

    :param kind: what the existing child must be.
    :raises ValueError: when another kind of construct holds that id.
    """
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child(construct_id)
    if existing is None:
        return create(stack)
    if not isinstance(existing, kind):
        raise ValueError(
            f"{construct_id} in {stack.stack_name} must be a {kind.__name__}, "
            f"got {type(existing).__name__}"
        )
    return existing  # type: ignore[return-value]
