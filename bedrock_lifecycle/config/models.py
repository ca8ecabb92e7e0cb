"""Which foundation models the targets of a lifecycle file run on.

What the lifecycle rules judge against the model catalog, and what the
lifecycle watcher watches: a throughput's model comes from its declaration in
the file, so this needs the whole file.
"""

from __future__ import annotations

from ..catalog import base_model_id
from ..versions import profile_model_id
from .schema import LifecycleFile, Target


def target_model_ids(target: Target, file: LifecycleFile) -> tuple[str, ...]:
    """The foundation model ids a target runs on; empty if the file cannot tell.

    A ``custom_model`` (directly or through a throughput that serves one)
    resolves to its base model, whose Legacy and end-of-life dates it inherits.
    An application inference profile or custom deployment without ``model``, a
    throughput of a custom model ARN, and a custom model made elsewhere without
    ``base_model`` resolve to nothing: the lifecycle rules and the watcher cannot
    judge what they do not know.
    """
    kind = target.kind
    if kind == "foundation_model":
        return (str(target.foundation_model),)
    if kind == "inference_profile":
        return (profile_model_id(str(target.inference_profile)),)
    if kind == "provisioned_throughput":
        spec = file.provisioned_throughputs.get(str(target.provisioned_throughput))
        if spec is not None and spec.custom_model is not None:
            return _base_of(file, spec.custom_model)
        if spec is None or spec.model is None or spec.model.startswith("arn:"):
            return ()
        return (base_model_id(spec.model),)
    if kind == "custom_model":
        return _base_of(file, str(target.custom_model))
    return (target.model,) if target.model is not None else ()


def _base_of(file: LifecycleFile, name: str) -> tuple[str, ...]:
    """A custom model inherits its base model's Legacy and end-of-life dates."""
    spec = file.custom_models.get(name)
    base = spec.foundation_model if spec is not None else None
    # Bedrock customizes some models by their context variant (``...-v1:0:300k``).
    return (base_model_id(base),) if base is not None else ()
