"""The router's hand-built EMF document says what Powertools' would, and a second
directive without the Version dimension for the alias-wide metrics."""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricResolution, MetricUnit
from hypothesis import given
from hypothesis import strategies as st

from bedrock_lifecycle.shared import contract
from tests.support.lambda_assets import load_asset_module

EmfMetrics = load_asset_module("router", "emf").EmfMetrics

DIMENSIONS = {"Environment": "prod", "Family": "summarizer", "Alias": "live", "Version": "v2@ab"}
NAMES = ["Invocations", "ServerErrors", "Throttles", "Latency", "InputTokens", "OutputTokens"]
UNITS = {"Latency": MetricUnit.Milliseconds}


def powertools(metrics: list[tuple[str, float]]) -> dict:
    reference = EphemeralMetrics(namespace=contract.ROUTER_NAMESPACE, service="")
    reference.set_default_dimensions(**DIMENSIONS)
    for name, value in metrics:
        reference.add_metric(
            name=name,
            unit=UNITS.get(name, MetricUnit.Count),
            value=value,
            resolution=MetricResolution.High,
        )
    return reference.serialize_metric_set()


@given(
    st.lists(
        st.tuples(st.sampled_from(NAMES), st.floats(min_value=0, max_value=1e6)),
        min_size=1,
        max_size=8,
    )
)
def test_the_document_is_powertools_format_plus_the_alias_wide_directive(metrics):
    ours = EmfMetrics(
        contract.ROUTER_NAMESPACE,
        DIMENSIONS,
        wide=contract.ALIAS_WIDE_METRICS,
        wide_dimensions=contract.ALIAS_WIDE_DIMENSIONS,
        clock=lambda: 1_700_000_000.5,
    )
    ours.add_metric("Leftover", "Count", 1)
    ours.clear_metrics()  # nothing of an earlier request stays
    for name, value in metrics:
        ours.add_metric(name, UNITS.get(name, MetricUnit.Count), value, MetricResolution.High)
    document = ours.serialize_metric_set()
    expected = powertools(metrics)
    directives = document["_aws"]["CloudWatchMetrics"]
    assert directives[0] == expected["_aws"]["CloudWatchMetrics"][0]
    assert document["_aws"]["Timestamp"] == 1_700_000_000_500
    assert {k: v for k, v in document.items() if k != "_aws"} == {
        k: v for k, v in expected.items() if k != "_aws"
    }
    wide = [m for m in directives[0]["Metrics"] if m["Name"] in contract.ALIAS_WIDE_METRICS]
    if wide:
        assert directives[1] == {
            "Namespace": contract.ROUTER_NAMESPACE,
            "Dimensions": [list(contract.ALIAS_WIDE_DIMENSIONS)],
            "Metrics": wide,
        }
    else:
        assert len(directives) == 1
