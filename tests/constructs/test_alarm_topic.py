"""AlarmTopic refuses subscriptions SNS could never confirm, before it creates anything."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from bedrock_lifecycle.constructs.alarm_topic import AlarmTopic


def test_each_address_is_subscribed_and_a_token_is_accepted():
    stack = cdk.Stack(cdk.App(), "S")
    parameter = cdk.CfnParameter(stack, "Oncall")
    AlarmTopic(stack, "Alarms", emails=["oncall@example.com", parameter.value_as_string])
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SNS::Subscription", 2)
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )


def test_a_lone_string_is_refused_instead_of_subscribing_its_characters():
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(
        ValueError, match=r"emails must be a list of addresses, got the string 'a@example.com'$"
    ):
        AlarmTopic(stack, "Alarms", emails="a@example.com")
    assert stack.node.try_find_child("Alarms") is None


def test_something_that_is_no_address_is_refused():
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(
        ValueError, match=r"emails must be addresses like oncall@example.com, got 'oncall'$"
    ):
        AlarmTopic(stack, "Alarms", emails=["oncall"])
    assert stack.node.try_find_child("Alarms") is None
