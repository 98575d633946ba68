"""The canonical encoding, and the fast path verify takes from stored text: the same bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.audit_log import canonical

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)
events = st.fixed_dictionaries({
    "seq": st.integers(0, 2**31 - 1), "id": st.integers(1, 2**31 - 1),
    "at": st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.just(UTC)),
    "actor": st.text(max_size=64), "action": st.text(max_size=64),
    "entity_type": st.text(max_size=32), "entity_id": st.text(max_size=64),
    "payload": st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    "request_id": st.none() | st.text(max_size=64)})


@given(events)
def test_bytes_from_stored_text_are_the_canonical_bytes(event):
    stored_payload = canonical.dumps(event["payload"])  # as the database stores it
    fast = canonical.encode_stored(
        event["seq"], event["id"], canonical.timestamp(event["at"]), event["actor"],
        event["action"], event["entity_type"], event["entity_id"], stored_payload,
        event["request_id"])
    assert fast == canonical.encode(**event)
    assert json.loads(fast) == {**event, "at": canonical.timestamp(event["at"])}


def test_the_encoding_is_the_documented_one():
    data = canonical.encode(seq=3, id=7, at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
                            actor="U1", action="approval.approved", entity_type="approval_request",
                            entity_id="42", payload={"b": [1, "é"], "a": None}, request_id=None)
    assert data == ('{"action":"approval.approved","actor":"U1","at":"2026-01-02T03:04:05.000006Z",'
                    '"entity_id":"42","entity_type":"approval_request","id":7,'
                    '"payload":{"a":null,"b":[1,"é"]},"request_id":null,"seq":3}').encode()


def test_a_stored_time_not_in_the_canonical_form_takes_the_parsed_path():
    assert canonical.encode_stored(1, 1, "2026-01-02 03:04:05", "a", "b", "c", "d", "{}",
                                   None) is None


@pytest.mark.parametrize("payload, where", [({"x": 1.5}, "payload.x"),
                                            ({"x": [1, {"y": float("nan")}]}, "payload.x[1].y"),
                                            ({"x": {1, 2}}, "payload.x")])
def test_a_payload_with_a_float_or_a_non_json_value_is_refused_with_its_path(payload, where):
    with pytest.raises(canonical.NotCanonical, match=where.replace("[", r"\[").replace("]", r"\]")):
        canonical.refuse_floats(payload)
