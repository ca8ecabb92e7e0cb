"""The router's metrics document in CloudWatch's embedded metric format (EMF).

What Powertools' ``EphemeralMetrics`` printed, for the router's fixed set of
metrics, built by hand: the dimensions and the namespace are the same for every
request of a router, so the document's fixed part is made once, and a request
only adds its values. Powertools validated every metric name, unit and value of
every request and built the document anew; for the router that was about a third
of its own CPU time per request (``benchmarks/router_overhead.py``).

Format (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
one ``_aws`` block with the timestamp and one directive per dimension set, the
dimension values and one list of values per metric at the top level.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

# High resolution: the rollout alarms read 10-second periods.
HIGH_RESOLUTION = 1
# What CloudWatch accepts in one EMF document (its limit is 100 metrics per directive).
MAX_METRICS = 100


class EmfMetrics:
    """One request's metrics, rendered as one EMF document.

    :param namespace: the CloudWatch namespace.
    :param dimensions: name -> value, the same for every request.
    :param wide: metric names published a second time with ``wide_dimensions`` only.
    :param wide_dimensions: the dimension names of that second directive.
    :param clock: seconds since the epoch. Default: ``time.time``.
    """

    def __init__(
        self,
        namespace: str,
        dimensions: Mapping[str, str],
        *,
        wide: Collection[str] = (),
        wide_dimensions: Collection[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._namespace = namespace
        self._dimensions = dict(dimensions)
        self._names = list(self._dimensions)
        self._wide = frozenset(wide)
        self._wide_dimensions = list(wide_dimensions)
        self._clock = clock
        self._metrics: dict[str, tuple[str, list[float]]] = {}

    def add_metric(self, name: str, unit: Any, value: float, resolution: Any = None) -> None:
        """Add ``value`` to metric ``name`` (``unit`` a string or a Powertools MetricUnit)."""
        unit_name = getattr(unit, "value", unit)
        if name in self._metrics:
            self._metrics[name][1].append(float(value))
        elif len(self._metrics) < MAX_METRICS:
            self._metrics[name] = (str(unit_name), [float(value)])

    def clear_metrics(self) -> None:
        """Forget every value: the next request starts from none."""
        self._metrics = {}

    def serialize_metric_set(self) -> dict[str, Any]:
        """The EMF document of the values added since the last clear."""
        definitions = [
            {"Name": name, "Unit": unit, "StorageResolution": HIGH_RESOLUTION}
            for name, (unit, _) in self._metrics.items()
        ]
        directives: list[dict[str, Any]] = [
            {"Namespace": self._namespace, "Dimensions": [self._names], "Metrics": definitions}
        ]
        wide = [d for d in definitions if d["Name"] in self._wide]
        if wide and self._wide_dimensions:
            directives.append(
                {
                    "Namespace": self._namespace,
                    "Dimensions": [self._wide_dimensions],
                    "Metrics": wide,
                }
            )
        document: dict[str, Any] = {
            "_aws": {"Timestamp": int(self._clock() * 1000), "CloudWatchMetrics": directives},
            **self._dimensions,
        }
        for name, (_, values) in self._metrics.items():
            document[name] = values
        return document
