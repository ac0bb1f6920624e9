"""Property-based tests: the 3CX parser and the send body never crash.

Hypothesis throws arbitrary JSON at the 3CX route of a real app (with a
valid secret, so it gets past authentication) and at the pure parsing
helpers; every answer must be one of the contract's, never a 500.
"""
import json

import hypothesis
from hypothesis import strategies as st

import threecx
import threecx_rules
from contract_http import assert_contract
from test_threecx import PATH
from test_threecx import make_bridge

SETTINGS = hypothesis.settings(
    max_examples=150, deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck))

scalars = (st.none() | st.booleans() | st.integers() |
           st.floats(allow_nan=False) | st.text(max_size=30))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=12), inner, max_size=5), max_leaves=20)
EVENT_TYPES = ["test", "outbound_message", "inbound_reply", "missed_call",
               "call_started", "call_ended", "voicemail", "queue_event",
               "queue_callback", "after_hours"]
FIELDS = ["to", "from", "customer_phone", "caller", "phone", "message",
          "message_text", "message_purpose", "call_time", "queue",
          "agent_extension", "event_id", "callid", "call_type"]
shaped = st.fixed_dictionaries(
    {"event_type": st.sampled_from(EVENT_TYPES)},
    optional={field: st.text(max_size=20) | st.sampled_from(
        ["+966501234567", "[Number]", "101", "anonymous", "0501234567",
         "2026-05-08T10:00:00Z", "1795500000", "support",
         "Your order has shipped."]) for field in FIELDS})


@SETTINGS
@hypothesis.given(body=st.one_of(shaped, shaped, shaped, json_values))
def test_3cx_route_answers_the_contract_for_any_json(app, body):
    bridge = shaped_bridge(app)
    client = app.test_client()
    # Past the 60-a-minute limit every answer would be the same 429.
    app.extensions["gateway"]["limiter"].clear(
        threecx.RATE_LIMIT, "3cx", str(bridge.id))
    response = client.post(bridge.url, data=json.dumps(body), headers={
        "X-WhatsApp-Gateway-3CX-Secret": bridge.secret,
        "Content-Type": "application/json"})
    assert response.status_code != 500, response.get_json()
    assert_contract(PATH, "POST", response)


_bridges = {}


def shaped_bridge(app):
    # One integration per app: Hypothesis reruns the body, not fixtures.
    if id(app) not in _bridges:
        _bridges.clear()
        _bridges[id(app)] = make_bridge(modules="api,3cx")
    return _bridges[id(app)]


@SETTINGS
@hypothesis.given(data=st.dictionaries(st.sampled_from(FIELDS), json_values),
                  event_type=st.sampled_from(EVENT_TYPES),
                  region=st.sampled_from([None, "SA", "US", "ZZ"]))
def test_phone_extraction_never_raises(data, event_type, region):
    threecx_rules.extract_phone(threecx_rules.blank_placeholders(data),
                                event_type, region)


@SETTINGS
@hypothesis.given(raw=json_values)
def test_call_time_and_timestamp_parsing_never_raise(raw):
    zone = threecx_rules.load_zone("Asia/Riyadh")
    threecx_rules.parse_call_time(raw, zone)
    if isinstance(raw, str):
        threecx_rules.parse_header_timestamp(raw)

