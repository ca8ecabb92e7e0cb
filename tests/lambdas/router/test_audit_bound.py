"""The audit record is one line of valid JSON under ``MAX_AUDIT_BYTES``, whatever the request
and the answer (output.audit_line): with ``prompt_logging`` a long prompt is cut, marked,
and still identified by the hash of the full request."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lambdas.router.test_limits import MAX, canonical, event_of_size
from tests.support.lambda_assets import load_asset_module
from tests.support.router import chat_config, harness_for

OUTPUT = load_asset_module("router", "output")
CEILING = OUTPUT.MAX_AUDIT_BYTES
TEXT_ROOM = OUTPUT.TEXT_FIELD_BYTES


def strict_json(line: str) -> Any:
    """JSON as RFC 8259 has it: no NaN, no Infinity."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(line, parse_constant=refuse)


def embedded(text: str) -> int:
    """Bytes ``text`` takes in a line as a JSON string, quotes included."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def canonical_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_the_ceiling_leaves_headroom_under_a_cloudwatch_event():
    assert CEILING == 200 * 1024
    assert CEILING + 26 < 256 * 1024


def test_a_request_just_under_the_request_ceiling_gets_one_bounded_audit_line(bedrock_standin):
    harness = harness_for(bedrock_standin, chat_config(prompt_logging=True))
    event = event_of_size(MAX - 1)
    answer = harness.invoke(event)
    assert "error" not in answer
    audit_lines = [line for line in harness.lines if OUTPUT.AUDIT_RECORD in line[:60]]
    (line,) = audit_lines
    assert "\n" not in line and len(line.encode()) <= CEILING
    audit = strict_json(line)
    assert audit["truncated"] is True
    assert audit["request_bytes"] == MAX - 1
    assert audit["request_sha256"] == hashlib.sha256(canonical(event)).hexdigest()
    # The start of the exact text request_sha256 hashes; the short answer is kept whole.
    assert canonical(event).decode().startswith(audit["request"])
    assert audit["truncation"] == {
        "request": {"bytes": MAX - 1, "kept_bytes": len(audit["request"].encode())}
    }
    # The answer kept whole and the kept text fill the room (to within a character).
    room = embedded(audit["request"]) - 2 + len(canonical_text(answer).encode()) - 2
    assert TEXT_ROOM - 6 < room <= TEXT_ROOM
    assert audit["response"] == answer
    assert audit["outcome"] == "success"


def test_the_cut_depends_on_the_request_and_answer_alone(bedrock_standin):
    event = {"messages": [{"role": "user", "content": [{"text": 'é"\n' * 200_000}]}]}
    lines = []
    for _ in range(2):
        harness = harness_for(bedrock_standin, chat_config(prompt_logging=True))
        harness.invoke(event, request_id="same")
        (audit,) = harness.audit
        audit.pop("latency_ms")
        lines.append(audit)
    assert lines[0] == lines[1]
    assert lines[0]["truncated"] is True


def test_the_rest_of_the_record_does_not_move_the_cut():
    text = {"messages": [{"content": [{"text": 'é"\n' * 100_000}]}]}
    cuts = []
    for latency, request_id in ((1.0, "a"), (12345.678, "a-much-longer-request-id" * 8)):
        record = {"record": "r", "request_id": request_id, "latency_ms": latency, "request": text}
        audit = strict_json(OUTPUT.audit_line(record))
        cuts.append((audit["request"], audit["truncation"]))
    assert cuts[0] == cuts[1]


def test_a_record_under_the_ceiling_is_written_as_it_is():
    record = {"record": OUTPUT.AUDIT_RECORD, "request": {"messages": ["x" * 1000]}, "n": 1}
    line = OUTPUT.audit_line(record)
    assert strict_json(line) == record
    assert "truncated" not in line


def test_both_texts_share_the_room_when_both_are_long():
    record = {"record": "r", "request": {"t": "a" * 500_000}, "response": {"t": "b" * 500_000}}
    audit = strict_json(OUTPUT.audit_line(record))
    kept = {k: v["kept_bytes"] for k, v in audit["truncation"].items()}
    assert set(kept) == {"request", "response"}
    assert abs(kept["request"] - kept["response"]) <= 1
    room = embedded(audit["request"]) - 2 + embedded(audit["response"]) - 2
    assert TEXT_ROOM - 12 < room <= TEXT_ROOM


def test_any_other_field_too_long_is_cut_too():
    record = {"record": "r", "error_code": "E" * 300_000, "stop_reason": "s" * 10}
    audit = strict_json(OUTPUT.audit_line(record))
    assert audit["error_code"] == "E" * len(audit["error_code"])
    assert audit["truncation"]["error_code"]["bytes"] == 300_000
    assert audit["stop_reason"] == "s" * 10


# Text of every kind: quotes, backslashes and control characters (escaped, so longer in
# the line), lone surrogates (written as their escape), characters of 2 to 4 UTF-8 bytes.
CHARS = st.characters(exclude_categories=()) | st.sampled_from(['"', "\\", "\n", "\x00", "é", "😀"])
TEXT = st.text(CHARS, max_size=12)
# Long enough, often, to need cutting: up to 8 x 120,000 characters, up to 4 bytes each.
LONG = st.builds(
    lambda s, n: s * n,
    st.text(CHARS, min_size=1, max_size=8),
    st.sampled_from([1, 3_000, 20_000, 60_000, 120_000]),
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | TEXT
    | LONG,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
FIXED = {
    "record": OUTPUT.AUDIT_RECORD,
    "schema": OUTPUT.AUDIT_SCHEMA,
    "request_sha256": "a" * 64,
    "request_bytes": 123,
}


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    request=JSON | st.lists(LONG, min_size=1, max_size=3),
    response=JSON | st.lists(LONG, min_size=1, max_size=3),
    others=st.dictionaries(
        st.sampled_from(["request_id", "error_code", "stop_reason"]), TEXT | LONG
    ),
)
def test_any_record_is_one_line_of_valid_json_under_the_ceiling(request, response, others):
    record = {**FIXED, **others, "request": request, "response": response}
    line = OUTPUT.audit_line(record)
    assert "\n" not in line and "\r" not in line
    assert len(line.encode("utf-8")) <= CEILING
    audit = strict_json(line)
    assert {k: audit[k] for k in FIXED} == FIXED
    assert OUTPUT.audit_line(record) == line
    if not audit.get("truncated"):
        return
    for key, cut in audit["truncation"].items():
        full = canonical_text(record[key]) if key in ("request", "response") else record[key]
        assert full.startswith(audit[key])
        assert cut["bytes"] == len(full.encode("utf-8", "surrogatepass"))
        assert cut["kept_bytes"] == len(audit[key].encode("utf-8", "surrogatepass"))
