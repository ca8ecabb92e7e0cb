"""Physical names of a split environment: no two resources may take one name."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bedrock_lifecycle.names import LAMBDA_NAME_LIMIT, hook_function_name, router_function_name
from bedrock_lifecycle.stacks.shared_refs import ANALYSIS_HOOK, GATE_HOOK

NAME = st.from_regex(r"^[a-z][a-z0-9-]{0,31}$", fullmatch=True)


@given(family=NAME, alias=NAME)
def test_no_router_takes_a_hooks_name(family, alias):
    """Family ``evaluation`` with alias ``gate`` once named its router like the gate."""
    router = router_function_name("acme", "prod", family, alias)
    assert len(router) <= LAMBDA_NAME_LIMIT
    assert router not in {hook_function_name("acme", "prod", h) for h in (GATE_HOOK, ANALYSIS_HOOK)}


@given(a=st.tuples(NAME, NAME), b=st.tuples(NAME, NAME))
def test_two_aliases_never_share_a_router_name(a, b):
    if a != b:
        assert router_function_name("acme", "prod", *a) != router_function_name("acme", "prod", *b)


def test_the_collision_that_once_passed():
    assert router_function_name("acme", "prod", "evaluation", "gate") != hook_function_name(
        "acme", "prod", "evaluation-gate"
    )
    assert router_function_name("acme", "prod", "canary", "analysis") != hook_function_name(
        "acme", "prod", "canary-analysis"
    )
