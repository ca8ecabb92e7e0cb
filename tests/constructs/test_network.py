"""Private networking: every function in the VPC, the endpoints, and the table of
docs/networking.md kept equal to the IAM actions of the synthesized template."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle.constructs.network import (
    EXTRA_INTERFACE_ENDPOINTS,
    INTERFACE_ENDPOINTS,
    NO_ENDPOINT,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "networking.md"
pytestmark = pytest.mark.synth

# Construct path of a function -> its row in the table.
KINDS = (
    ("/Aliases/", "router"),
    ("EvaluationGate", "evaluation gate"),
    ("CanaryAnalysis", "canary analysis"),
    ("LifecycleWatcher", "lifecycle watcher"),
    ("ContinuousEvaluation", "continuous evaluation"),
    ("/framework-", "provider framework"),
    ("ProvisionedThroughputProvider/", "throughput handler"),
    ("InvocationLoggingProviderHandler", "invocation logging handler"),
)


def _prod(synthesized) -> dict[str, Any]:
    return synthesized.templates["prod"].to_json()["Resources"]


def _kind(path: str) -> str:
    return next(kind for marker, kind in KINDS if marker in path)


def _paths(stack) -> dict[str, str]:
    """Logical id -> construct path of every Lambda function of ``stack``."""
    from aws_cdk import aws_lambda as lambda_

    return {
        stack.resolve(c.logical_id): c.node.path
        for c in stack.node.find_all()
        if isinstance(c, lambda_.CfnFunction)
    }


# The services of the AWS managed policies roles of the stacks carry (their documents
# are AWS's; IAM user guide, "AWS managed policies for AWS Lambda").
AWS_MANAGED_SERVICES = {
    "service-role/AWSLambdaBasicExecutionRole": {"logs"},
    "service-role/AWSLambdaVPCAccessExecutionRole": {"logs", "ec2"},
}


def _statement_services(document: dict[str, Any]) -> set[str]:
    services = set()
    for statement in document["Statement"]:
        actions = statement["Action"]
        actions = actions if isinstance(actions, list) else [actions]
        services.update(a.split(":")[0] for a in actions)
    return services


def _managed_name(arn: Any) -> str:
    """``service-role/X`` of an AWS managed policy ARN as the template writes it."""
    text = (
        arn
        if isinstance(arn, str)
        else "".join(p for p in arn["Fn::Join"][1] if isinstance(p, str))
    )
    return text.split(":policy/", 1)[1]


def _granted_services(resources: dict[str, Any], paths: dict[str, str]) -> dict[str, set[str]]:
    """Function kind -> IAM service prefixes its role allows: its policies, its inline
    policies and the AWS managed policies it carries (an unknown one on a function's role
    fails the comparison)."""
    by_role: dict[str, set[str]] = {}
    for logical, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            services = _statement_services(props["PolicyDocument"])
            for role in props.get("Roles", []):
                by_role.setdefault(role["Ref"], set()).update(services)
        if resource["Type"] == "AWS::IAM::Role":
            granted = by_role.setdefault(logical, set())
            for inline in props.get("Policies", []):
                granted.update(_statement_services(inline["PolicyDocument"]))
            for arn in props.get("ManagedPolicyArns", []):
                if isinstance(arn, dict) and "Ref" in arn:
                    continue  # one of the stack's own, counted above
                name = _managed_name(arn)
                # An unknown one on a function's role shows as itself in the comparison.
                granted.update(AWS_MANAGED_SERVICES.get(name, {f"<unknown {name}>"}))
    kinds: dict[str, set[str]] = {}
    for logical, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Function":
            role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            kind = _kind(paths[logical])
            kinds.setdefault(kind, set()).update(by_role.get(role, set()))
    return kinds


def _doc_table(header: str) -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    rows = text.split(header, 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return {
        cells[0]: cells[1] for cells in ([c.strip() for c in r.strip("|").split("|")] for r in rows)
    }


def test_every_function_runs_in_the_environments_subnets(synthesized):
    spec = synthesized.config.file.environments["prod"].network
    functions = [r for r in _prod(synthesized).values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) >= 10
    for function in functions:
        assert function["Properties"]["VpcConfig"] == {
            "SubnetIds": list(spec.subnet_ids),
            "SecurityGroupIds": list(spec.security_group_ids),
        }
    # Environments without network: no function in a VPC.
    dev = synthesized.templates["dev"].to_json()["Resources"].values()
    assert not [r for r in dev if "VpcConfig" in r.get("Properties", {})]


THIS_ACCOUNT = {
    "Sid": "ThisAccountOnly",
    "Action": "*",
    "Condition": {"StringEquals": {"aws:PrincipalAccount": "222222222222"}},
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Resource": "*",
}
# A custom resource answers CloudFormation with a PUT to a URL CloudFormation presigned
# (in its own bucket, as its own principal): without this, the account-only statement
# would leave every stack operation waiting for its custom resources' answers.
RESPONSES = {
    "Sid": "CustomResourceResponses",
    "Action": "s3:PutObject",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Resource": "arn:aws:s3:::cloudformation-custom-resource-response-useast1/*",
}


def test_the_endpoints_and_their_policies(synthesized):
    resources = _prod(synthesized)
    endpoints = [r for r in resources.values() if r["Type"] == "AWS::EC2::VPCEndpoint"]
    names = {}
    for endpoint in endpoints:
        props = endpoint["Properties"]
        name = props["ServiceName"]
        name = (
            name
            if isinstance(name, str)
            else "".join(p if isinstance(p, str) else "<region>." for p in name["Fn::Join"][1])
        )
        service = re.sub(r"^com\.amazonaws\.[^.]+\.", "", name.replace("<region>.", "x."))
        names[service] = props
        responses = [RESPONSES] if service == "s3" else []
        assert props["PolicyDocument"]["Statement"] == [THIS_ACCOUNT, *responses]
    interface = {s for services in INTERFACE_ENDPOINTS.values() for s in services}
    assert set(names) == interface | set(EXTRA_INTERFACE_ENDPOINTS) | {"s3"}
    assert names["s3"]["VpcEndpointType"] == "Gateway"
    assert names["s3"]["RouteTableIds"] == ["rtb-0a1b2c3d4e5f60744", "rtb-0a1b2c3d4e5f60755"]
    for service in interface:
        assert names[service]["PrivateDnsEnabled"] is True
        assert names[service]["VpcEndpointType"] == "Interface"
    # Their security group admits HTTPS from the functions' group only.
    ingress = [
        r["Properties"] for r in resources.values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"
    ]
    assert ingress == [
        {
            "GroupId": ingress[0]["GroupId"],
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "SourceSecurityGroupId": "sg-0a1b2c3d4e5f60733",
            "Description": "HTTPS from the bedrock-lifecycle functions",
        }
    ]


def test_the_docs_table_is_the_iam_of_the_template(synthesized):
    granted = _granted_services(_prod(synthesized), _paths(synthesized.stacks["prod"]))
    documented = {
        kind: set(services.split(", "))
        for kind, services in _doc_table("| function | IAM services of its grants |").items()
    }
    assert documented == granted
    used = set().union(*granted.values())
    # Every service a function is granted has an endpoint or a reason it needs none;
    # and no endpoint is for a service nobody is granted.
    assert used == set(INTERFACE_ENDPOINTS) | set(NO_ENDPOINT)
    endpoints = _doc_table("| IAM service | endpoints |")
    for prefix, services in INTERFACE_ENDPOINTS.items():
        assert endpoints[prefix] == ", ".join(services)
    for prefix in NO_ENDPOINT:
        assert endpoints[prefix].startswith("none:")


def test_every_function_waits_for_the_endpoints(synthesized):
    """Adding ``network:`` to a deployed stack moves each function into the VPC: it must
    be updated only once the endpoints it will call through (and their ingress) exist."""
    resources = _prod(synthesized)
    endpoint_parts = {
        lid
        for lid, r in resources.items()
        if r["Type"] in ("AWS::EC2::VPCEndpoint", "AWS::EC2::SecurityGroupIngress")
        or (r["Type"] == "AWS::EC2::SecurityGroup" and "Endpoints" in lid)
    }
    interface = {s for services in INTERFACE_ENDPOINTS.values() for s in services}
    # The interface endpoints and S3's, their security group, one ingress per group.
    assert len(endpoint_parts) == len(interface) + len(EXTRA_INTERFACE_ENDPOINTS) + 1 + 1 + 1
    for lid, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Function":
            assert endpoint_parts <= set(resource.get("DependsOn", [])), lid


def test_endpoints_in_subnets_of_their_own_synthesize_without_warnings(tmp_path):
    """``endpoint_subnet_ids`` imports more subnets by id: aws-cdk-lib's warnings on such
    an import (no route table, no zone) are acknowledged there too, and the endpoints sit
    in those subnets while the functions stay in theirs."""
    import shutil

    import yaml
    from aws_cdk import cx_api

    from bedrock_lifecycle.config import load_lifecycle
    from bedrock_lifecycle.stacks import LifecycleStack
    from tests.conftest import FIXED_TODAY, ROOT, new_app

    data = yaml.safe_load((ROOT / "lifecycle.yaml").read_text())
    endpoint_subnets = ["subnet-0a1b2c3d4e5f607a1", "subnet-0a1b2c3d4e5f607a2"]
    data["environments"]["prod"]["network"]["endpoint_subnet_ids"] = endpoint_subnets
    shutil.copytree(ROOT / "evals", tmp_path / "evals")
    path = tmp_path / "lifecycle.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    config = load_lifecycle(path, check_lock_file=False, clock=lambda: FIXED_TODAY)
    app = new_app(tmp_path / "cdk.out")
    stack = LifecycleStack(app, "BedrockLifecycle-prod", config=config, environment="prod")
    assembly = app.synth()
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    warnings = [
        str(m.entry.data)
        for m in artifact.messages
        if m.level == cx_api.SynthesisMessageLevel.WARNING
    ]
    assert warnings == []
    resources = artifact.template["Resources"]
    interface = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::VPCEndpoint"
        and r["Properties"]["VpcEndpointType"] == "Interface"
    ]
    assert interface and all(p["SubnetIds"] == endpoint_subnets for p in interface)
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    function_subnets = data["environments"]["prod"]["network"]["subnet_ids"]
    assert all(f["Properties"]["VpcConfig"]["SubnetIds"] == function_subnets for f in functions)
