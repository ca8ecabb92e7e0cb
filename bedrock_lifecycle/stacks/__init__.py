"""The per-environment stack composed from the lifecycle file."""

from .environment_stack import LifecycleStack, stack_name

__all__ = ["LifecycleStack", "stack_name"]
