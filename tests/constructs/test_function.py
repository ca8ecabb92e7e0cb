"""LifecycleFunction refuses what Lambda would refuse, before it creates anything."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from bedrock_lifecycle.constructs.function import LifecycleFunction

ENV = cdk.Environment(account="111111111111", region="us-east-1")


def new_stack(context: dict | None = None) -> cdk.Stack:
    return cdk.Stack(cdk.App(context=context), "Functions", env=ENV)


def test_unknown_source_is_refused_with_the_known_ones_before_any_resource():
    stack = new_stack()
    with pytest.raises(
        ValueError, match=r"source must be a folder of .*\(evaluation_gate, .*router\), got 'routr'"
    ):
        LifecycleFunction(stack, "Fn", source="routr", description="typo")
    assert stack.node.try_find_child("Fn") is None
    assert stack.node.try_find_child("LogsKey") is None


@pytest.mark.parametrize("memory_size", [127, 10241])
def test_memory_size_outside_lambdas_range_is_refused(memory_size):
    stack = new_stack()
    with pytest.raises(
        ValueError, match=rf"memory_size must be between 128 and 10240 MiB, got {memory_size}$"
    ):
        LifecycleFunction(stack, "Fn", source="router", description="x", memory_size=memory_size)
    assert stack.node.try_find_child("Fn") is None


def layers_of(stack: cdk.Stack) -> list:
    LifecycleFunction(stack, "Fn", source="router", description="x")
    (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    return function["Properties"]["Layers"]


@pytest.mark.parametrize("value", [31, "31"])
def test_powertools_layer_version_from_context(value):
    layer = ":lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:31"
    assert layers_of(new_stack({"powertools_layer_version": value})) == [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, layer]]}
    ]


@pytest.mark.parametrize("value", [0, "latest"])
def test_powertools_layer_version_that_is_no_version_is_refused(value):
    with pytest.raises(
        ValueError,
        match=rf"context powertools_layer_version must be a whole number >= 1, got {value!r}$",
    ):
        layers_of(new_stack({"powertools_layer_version": value}))
