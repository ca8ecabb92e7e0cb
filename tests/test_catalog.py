"""The model catalog snapshot: its file format, the shipped snapshot, refresh and show."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.stub import Stubber

from bedrock_lifecycle.catalog import (
    SNAPSHOT_PATH,
    CatalogEntry,
    ModelCatalog,
    ProviderStatus,
    base_model_id,
    profile_model_id,
    shipped_catalog,
)
from bedrock_lifecycle.catalog import cli as catalog_cli
from bedrock_lifecycle.catalog.refresh import fetch_catalog
from bedrock_lifecycle.cli import main
from bedrock_lifecycle.config.models import target_model_ids
from bedrock_lifecycle.config.schema import Target
from tests.conftest import FIXED_TODAY


def test_shipped_snapshot_covers_every_model_the_example_uses(shipped_config):
    catalog = shipped_catalog()
    used = {
        model
        for env in shipped_config.environment_names
        for alias in shipped_config.aliases_for(env)
        for model in target_model_ids(alias.version.target, shipped_config.file)
    }
    assert used == {
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",  # behind the us. profile
        "amazon.titan-embed-text-v2:0",
        "amazon.nova-pro-v1:0",  # behind the 300k throughput
        "amazon.nova-lite-v1:0",  # the base of summarizer-lite (summarizer/v3)
    }
    assert used <= set(catalog.entries)


def test_shipped_snapshot_shows_the_warning_path_not_an_error(shipped_config):
    haiku3 = shipped_catalog().get("anthropic.claude-3-haiku-20240307-v1:0")
    assert haiku3 is not None and haiku3.is_legacy
    assert not haiku3.ended(FIXED_TODAY)
    assert any("LEGACY" in w.message for w in shipped_config.warnings)


def test_snapshot_file_round_trips_unchanged():
    text = SNAPSHOT_PATH.read_text()
    assert ModelCatalog.parse(text).render() == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", 'expected a JSON object with "format": 1'),
        ('{"format": 1}', '"models" must map model ids'),
        ('{"format": 1, "models": {"m.x": {"status": "EOL"}}}', "status must be one of"),
        (
            '{"format": 1, "models": {"m.x": {"status": "LEGACY", "end_of_life": "soon"}}}',
            "m.x: end_of_life must be an ISO 8601 time or null, got 'soon'",
        ),
        ("{", "not valid JSON"),
    ],
)
def test_malformed_catalog_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ModelCatalog.parse(text)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("amazon.nova-pro-v1:0:300k", "amazon.nova-pro-v1:0"),
        ("anthropic.claude-3-haiku-20240307-v1:0:200k", "anthropic.claude-3-haiku-20240307-v1:0"),
        ("amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"),
    ],
)
def test_throughput_context_suffix_is_stripped(given, expected):
    assert base_model_id(given) == expected


@pytest.mark.parametrize("prefix", ["us", "eu", "apac", "global"])
def test_profile_geo_prefix_is_stripped(prefix):
    assert profile_model_id(f"{prefix}.anthropic.claude-x-v1:0") == "anthropic.claude-x-v1:0"


def test_application_profile_uses_its_declared_model(shipped_config):
    arn = "arn:aws:bedrock:us-east-1:111111111111:application-inference-profile/abc"
    with_model = Target(application_inference_profile=arn, model="amazon.nova-pro-v1:0")
    without = Target(application_inference_profile=arn)
    assert target_model_ids(with_model, shipped_config.file) == ("amazon.nova-pro-v1:0",)
    assert target_model_ids(without, shipped_config.file) == ()


# -- refresh ---------------------------------------------------------------------------------


@pytest.fixture
def bedrock():
    client = boto3.client(
        "bedrock", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _details(model_id: str, status: str, **times) -> dict:
    return {
        "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
        "modelId": model_id,
        "modelName": model_id,
        "providerName": "P",
        "modelLifecycle": {"status": status, **times},
    }


def test_fetch_catalog_lists_then_gets_every_model(bedrock):
    client, stub = bedrock
    eol = dt.datetime(2027, 1, 2, tzinfo=dt.UTC)
    start, legacy, extended = (dt.datetime(y, 3, 1, tzinfo=dt.UTC) for y in (2024, 2025, 2026))
    stub.add_response(
        "list_foundation_models",
        {"modelSummaries": [_details("a.one-v1:0", "ACTIVE"), _details("a.two-v1:0", "LEGACY")]},
        {},
    )
    stub.add_response(
        "get_foundation_model",
        {"modelDetails": _details("a.one-v1:0", "ACTIVE")},
        {"modelIdentifier": "a.one-v1:0"},
    )
    stub.add_response(
        "get_foundation_model",
        {
            "modelDetails": _details(
                "a.two-v1:0",
                "LEGACY",
                startOfLifeTime=start,
                legacyTime=legacy,
                publicExtendedAccessTime=extended,
                endOfLifeTime=eol,
            )
            | {"customizationsSupported": ["FINE_TUNING", "DISTILLATION"]}
        },
        {"modelIdentifier": "a.two-v1:0"},
    )
    gone = CatalogEntry("a.gone-v1:0", ProviderStatus.LEGACY, end_of_life=eol)
    stale = CatalogEntry("a.one-v1:0", ProviderStatus.LEGACY)
    catalog = fetch_catalog(client, region="us-east-1", now=lambda: eol, keep=[gone, stale])
    assert catalog.get("a.two-v1:0") == CatalogEntry(
        "a.two-v1:0",
        ProviderStatus.LEGACY,
        "a.two-v1:0",
        "P",
        start_of_life=start,
        legacy=legacy,
        public_extended_access=extended,
        end_of_life=eol,
        customizations=("DISTILLATION", "FINE_TUNING"),
    )
    assert catalog.get("a.one-v1:0").customizations == ()  # none supported, and said so
    assert catalog.get("a.two-v1:0").supports("FINE_TUNING") is True
    assert catalog.get("a.one-v1:0").supports("FINE_TUNING") is False
    assert json.loads(catalog.render())["models"]["a.two-v1:0"]["customizations"] == [
        "DISTILLATION",
        "FINE_TUNING",
    ]
    assert catalog.get("a.one-v1:0").status is ProviderStatus.ACTIVE  # fresh data wins
    assert catalog.get("a.gone-v1:0") == gone  # an ended model no longer listed is kept
    assert json.loads(catalog.render())["captured_at"] == "2027-01-02T00:00:00Z"


def test_fetch_catalog_keeps_a_listed_model_that_no_longer_answers(bedrock):
    client, stub = bedrock
    stub.add_response(
        "list_foundation_models", {"modelSummaries": [_details("a.old-v1:0", "LEGACY")]}, {}
    )
    stub.add_client_error(
        "get_foundation_model",
        service_error_code="ResourceNotFoundException",
        service_message="This model version has reached the end of its life.",
        http_status_code=404,
        expected_params={"modelIdentifier": "a.old-v1:0"},
    )
    catalog = fetch_catalog(client, region="us-east-1")
    assert catalog.get("a.old-v1:0").is_legacy


class _Session:
    def __init__(self, client, credentials):
        self._client, self._credentials, self.region_name = client, credentials, None

    def get_credentials(self):
        return self._credentials

    def client(self, service, region_name):
        assert (service, region_name) == ("bedrock", "eu-west-1")
        return self._client


def test_refresh_without_credentials_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(catalog_cli, "_session", lambda region: _Session(None, None))
    out = tmp_path / "catalog.json"
    assert main(["catalog", "refresh", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("catalog: no AWS credentials found")
    assert "Traceback" not in err and not out.exists()


def test_refresh_without_credentials_as_a_real_process(tmp_path):
    import os
    import subprocess
    import sys

    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_EC2_METADATA"
    }
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bedrock_lifecycle.cli", "catalog", "refresh", "--output", "x"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "no AWS credentials" in result.stderr


def test_refresh_writes_the_snapshot(monkeypatch, tmp_path, capsys, bedrock):
    client, stub = bedrock
    stub.add_response(
        "list_foundation_models", {"modelSummaries": [_details("a.one-v1:0", "LEGACY")]}, {}
    )
    stub.add_response(
        "get_foundation_model",
        {"modelDetails": _details("a.one-v1:0", "LEGACY")},
        {"modelIdentifier": "a.one-v1:0"},
    )
    monkeypatch.setattr(catalog_cli, "_session", lambda region: _Session(client, object()))
    out = tmp_path / "catalog.json"
    assert main(["catalog", "refresh", "--region", "eu-west-1", "--output", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"{out}: 1 models from eu-west-1 (1 LEGACY)"
    assert ModelCatalog.load(out).get("a.one-v1:0").is_legacy


def test_refresh_reports_a_refusal_in_one_line(monkeypatch, tmp_path, capsys, bedrock):
    client, stub = bedrock
    stub.add_client_error(
        "list_foundation_models",
        service_error_code="AccessDeniedException",
        service_message="not allowed",
        http_status_code=403,
    )
    monkeypatch.setattr(catalog_cli, "_session", lambda region: _Session(client, object()))
    assert main(["catalog", "refresh", "--region", "eu-west-1", "--output", "x.json"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "catalog: Bedrock refused the request in eu-west-1: AccessDeniedException: not allowed; "
        "x.json is unchanged"
    )


def test_refresh_refuses_a_status_it_does_not_know_in_one_line(
    monkeypatch, tmp_path, capsys, bedrock
):
    client, stub = bedrock
    stub.add_response(
        "list_foundation_models", {"modelSummaries": [_details("a.one-v1:0", "ACTIVE")]}, {}
    )
    stub.add_response(
        "get_foundation_model",
        {"modelDetails": _details("a.one-v1:0", "RETIRED")},  # botocore does not check enums
        {"modelIdentifier": "a.one-v1:0"},
    )
    monkeypatch.setattr(catalog_cli, "_session", lambda region: _Session(client, object()))
    out = tmp_path / "catalog.json"
    assert main(["catalog", "refresh", "--region", "eu-west-1", "--output", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "catalog: Bedrock answered what this version cannot read (a.one-v1:0: "
        "modelLifecycle.status must be one of ACTIVE, LEGACY, got 'RETIRED'); upgrade "
        f"bedrock-lifecycle; {out} is unchanged"
    ]
    assert not out.exists()


def test_show_lists_legacy_models_first(capsys):
    assert main(["catalog", "show"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{SNAPSHOT_PATH}: 5 models, region us-east-1")
    assert lines[1].startswith("anthropic.claude-3-haiku-20240307-v1:0  LEGACY  legacy 2026-08-15")


def test_a_snapshot_without_customizations_does_not_say_and_a_bad_list_is_refused():
    entry = CatalogEntry.from_json("a.one-v1:0", {"status": "ACTIVE"})
    assert entry.customizations is None and entry.supports("FINE_TUNING") is None
    assert "customizations" not in entry.to_json()
    with pytest.raises(ValueError, match=r"a\.one-v1:0: customizations must be a list"):
        CatalogEntry.from_json("a.one-v1:0", {"status": "ACTIVE", "customizations": "FINE"})
