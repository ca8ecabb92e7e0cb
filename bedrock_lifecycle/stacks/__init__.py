"""The per-environment stack composed from the lifecycle file."""

from ..constructs.staging import STAGING_DIR
from .environment_stack import LifecycleStack, stack_name

__all__ = ["STAGING_DIR", "LifecycleStack", "stack_name"]
