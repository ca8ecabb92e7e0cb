"""The lifecycle file: schema, loading, validation, version hashes and the lock."""

from .loader import LifecycleConfig, ResolvedAlias, load_lifecycle, lock_path_for, utc_today
from .lockfile import Lock, content_hash, version_id
from .problems import ConfigError, Problem, Severity
from .schema import LifecycleFile

__all__ = [
    "ConfigError",
    "LifecycleConfig",
    "LifecycleFile",
    "Lock",
    "Problem",
    "ResolvedAlias",
    "Severity",
    "content_hash",
    "load_lifecycle",
    "lock_path_for",
    "utc_today",
    "version_id",
]
