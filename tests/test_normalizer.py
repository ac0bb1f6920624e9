"""Tests for normalizer: Evolution webhook bodies -> customer events.

Fixtures follow shared/reference/evolution-api.md sections 5 and 8.
"""
import copy
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import normalizer
from contract import validate_event_payload
from normalizer import INTERNAL_EVENTS, classify_keyword, normalize

RECEIVED_AT = dt.datetime(2025, 10, 21, 15, 0, 0, tzinfo=dt.timezone.utc)
INSTANCE_UUID = "9b0c2f3e-6a51-4c0e-9f1e-2d6a7c1b4e55"


def envelope(event, data, **extra):
    """Wrap data in a v2 envelope (v1 omits apikey when not exposed)."""
    body = {"event": event, "instance": "sales-01", "data": data,
            "destination": "https://gateway.example/hooks/evolution",
            "date_time": "2025-10-21T14:41:40.512Z",
            "sender": "5511987654321@s.whatsapp.net",
            "server_url": "https://evo.example.com", "apikey": None}
    body.update(extra)
    return body


def run(body):
    """Normalize and check every payload against the contract."""
    events = normalize(body, "42", "Demo Support Line",
                       received_at=RECEIVED_AT)
    for event in events:
        assert event.payload["event"] == event.event
        if event.event not in INTERNAL_EVENTS:
            validate_event_payload(event.payload)
    return events


def base(event, timestamp):
    return {"event": event, "instance_id": "42",
            "instance_name": "Demo Support Line", "timestamp": timestamp}


# --- messages.upsert -----------------------------------------------------

V236_UPSERT = {
    "key": {"remoteJid": "5511912345678@s.whatsapp.net", "fromMe": False,
            "id": "3A9F2B7C4D1E0A5B6C7D"},
    "pushName": "Maria", "status": "DELIVERY_ACK",
    "message": {"conversation": "Oi!"}, "messageType": "conversation",
    "messageTimestamp": 1761057700, "instanceId": INSTANCE_UUID,
    "source": "ios"}

LID_UPSERT = {
    "key": {"remoteJid": "214567890123456@lid", "fromMe": False,
            "id": "3EB0C0FFEE1234567890",
            "remoteJidAlt": "966501234567@s.whatsapp.net",
            "addressingMode": "lid"},
    "pushName": "Ahmed", "status": "DELIVERY_ACK",
    "message": {"conversation": "STOP"}, "messageType": "conversation",
    "messageTimestamp": 1761057710, "instanceId": INSTANCE_UUID,
    "source": "android"}

SENDER_PN_UPSERT = {  # 2.3.1-2.3.2: remoteJid rewritten, LID kept aside
    "key": {"remoteJid": "966501234567@s.whatsapp.net", "fromMe": False,
            "id": "3EB0AA11BB22CC33DD44",
            "senderPn": "966501234567@s.whatsapp.net",
            "senderLid": "214567890123456@lid",
            "previousRemoteJid": "214567890123456@lid"},
    "pushName": "Ahmed", "message": {"conversation": "مرحبا"},
    "messageType": "conversation", "messageTimestamp": "1761057720",
    "instanceId": INSTANCE_UUID, "source": "android"}

V1_EXTENDED_UPSERT = {  # v1.8: no status/instanceId, owner + Long time
    "key": {"remoteJid": "447911123456@s.whatsapp.net", "fromMe": False,
            "id": "BAE5F00D12345678"},
    "pushName": "Tom",
    "message": {"extendedTextMessage": {
        "text": "see https://example.com",
        "contextInfo": {"stanzaId": "ABC", "participant": "x"}}},
    "messageType": "extendedTextMessage",
    "messageTimestamp": {"low": 1761057730, "high": 0, "unsigned": True},
    "owner": "sales-01", "source": "web"}

GROUP_UPSERT = {
    "key": {"remoteJid": "120363012345678901@g.us", "fromMe": False,
            "id": "AC1B2C3D4E5F60718293A4B5C6D7E8F9",
            "participant": "214567890123456@lid",
            "participantAlt": "5511912345678@s.whatsapp.net",
            "addressingMode": "lid"},
    "pushName": "Maria", "status": "DELIVERY_ACK",
    "message": {"imageMessage": {
        "mimetype": "image/jpeg", "caption": "menu de hoje",
        "url": "https://mmg.whatsapp.net/x",
        "fileLength": {"low": 51234, "high": 0, "unsigned": True}}},
    "messageType": "imageMessage", "messageTimestamp": 1761057800,
    "instanceId": INSTANCE_UUID, "source": "android"}


def test_v236_text_upsert_is_message_received():
    [event] = run(envelope("messages.upsert", V236_UPSERT))
    assert event.payload == {
        **base("message.received", "2025-10-21T14:41:40Z"),
        "from": "+5511912345678", "message_text": "Oi!",
        "message_type": "text",
        "external_message_id": "3A9F2B7C4D1E0A5B6C7D"}
    assert event.message_id == "3A9F2B7C4D1E0A5B6C7D"
    assert event.phone == "+5511912345678"
    assert event.text == "Oi!"
    assert event.status_rank is None
    assert event.dedupe_key == "42:messages.upsert:3A9F2B7C4D1E0A5B6C7D"


def test_lid_upsert_takes_phone_from_remote_jid_alt():
    [event] = run(envelope("messages.upsert", LID_UPSERT))
    assert event.payload["from"] == "+966501234567"
    assert event.phone == "+966501234567"
    assert classify_keyword(event.text) == "opt_out"


def test_lid_only_upsert_keeps_the_raw_jid():
    data = copy.deepcopy(LID_UPSERT)
    del data["key"]["remoteJidAlt"]
    [event] = run(envelope("messages.upsert", data))
    assert event.payload["from"] == "214567890123456@lid"
    assert event.phone is None


def test_sender_pn_upsert_and_numeric_string_timestamp():
    [event] = run(envelope("messages.upsert", SENDER_PN_UPSERT))
    assert event.phone == "+966501234567"
    assert event.payload["timestamp"] == "2025-10-21T14:42:00Z"
    assert event.text == "مرحبا"


def test_v1_extended_text_with_long_timestamp():
    body = envelope("messages.upsert", V1_EXTENDED_UPSERT)
    del body["apikey"]
    [event] = run(body)
    assert event.payload == {
        **base("message.received", "2025-10-21T14:42:10Z"),
        "from": "+447911123456", "message_text": "see https://example.com",
        "message_type": "text", "external_message_id": "BAE5F00D12345678"}


def test_group_upsert_uses_participant_alt_and_caption():
    [event] = run(envelope("messages.upsert", GROUP_UPSERT))
    assert event.payload == {
        **base("group.message_received", "2025-10-21T14:43:20Z"),
        "group_id": "120363012345678901@g.us", "from": "+5511912345678",
        "message_text": "menu de hoje",
        "external_message_id": "AC1B2C3D4E5F60718293A4B5C6D7E8F9"}
    assert event.phone == "+5511912345678"


def test_image_without_caption_has_empty_text_and_media_type():
    data = copy.deepcopy(V236_UPSERT)
    data["message"] = {"imageMessage": {"mimetype": "image/jpeg"},
                       "messageContextInfo": {}}
    [event] = run(envelope("messages.upsert", data))
    assert event.payload["message_type"] == "image"
    assert event.payload["message_text"] == ""
    assert event.text is None


@pytest.mark.parametrize("message, kind, text", [
    ({"imageMessage": {"caption": "foto"}}, "image", "foto"),
    ({"documentWithCaptionMessage": {"message": {"documentMessage": {
        "caption": "invoice", "fileName": "a.pdf"}}}}, "document", "invoice"),
    ({"viewOnceMessageV2": {"message": {"videoMessage": {}}}}, "video",
     None),
    ({"audioMessage": {"ptt": True}}, "audio", None),
    ({"stickerMessage": {}}, "sticker", None),
    ({"locationMessage": {"degreesLatitude": 1}}, "location", None),
    ({"contactsArrayMessage": {"contacts": []}}, "contact", None),
    ({"reactionMessage": {"text": "👍"}}, "reaction", None),
    ({"pollCreationMessageV3": {"name": "q"}}, "poll", None),
    ({"buttonsResponseMessage": {}}, "buttons_response", None),
    ({}, "unknown", None),
])
def test_message_types_and_text(message, kind, text):
    data = copy.deepcopy(V236_UPSERT)
    data["message"] = message
    [event] = run(envelope("messages.upsert", data))
    assert event.payload["message_type"] == kind
    assert event.text == text


def test_from_me_upsert_is_conversation_updated():
    data = copy.deepcopy(V236_UPSERT)
    data["key"]["fromMe"] = True
    data["status"] = "SERVER_ACK"
    [event] = run(envelope("messages.upsert", data))
    assert event.payload == {
        **base("conversation.updated", "2025-10-21T14:41:40Z"),
        "conversation_id": "+5511912345678"}
    assert event.text is None


@pytest.mark.parametrize("jid", ["status@broadcast",
                                 "120363000000000000@newsletter"])
def test_status_broadcast_and_newsletters_are_skipped(jid):
    data = copy.deepcopy(V236_UPSERT)
    data["key"]["remoteJid"] = jid
    assert run(envelope("messages.upsert", data)) == []


def test_upsert_array_data_and_v1_event_spelling():
    events = run(envelope("MESSAGES_UPSERT", [V236_UPSERT, GROUP_UPSERT]))
    assert [e.event for e in events] == ["message.received",
                                         "group.message_received"]
    assert len({e.dedupe_key for e in events}) == 2


# --- messages.update -----------------------------------------------------

V2_UPDATE = {"keyId": "3EB0F1C2A9B8D7E6F5A4B3",
             "remoteJid": "5511987654321@s.whatsapp.net", "fromMe": True,
             "status": "DELIVERY_ACK", "instanceId": INSTANCE_UUID,
             "messageId": "cmh0x1y2z0001abcd1234efgh"}
V1_UPDATE = {"remoteJid": "5511987654321@s.whatsapp.net", "fromMe": True,
             "id": "BAE5AAAA00000001", "status": "READ",
             "datetime": 1761057800123, "owner": "sales-01"}


@pytest.mark.parametrize("status, event, label, rank", [
    ("PENDING", "message.status_updated", "pending", 0),
    ("SERVER_ACK", "message.status_updated", "sent", 1),
    ("DELIVERY_ACK", "message.delivered", "delivered", 2),
    ("READ", "message.read", "read", 3),
    ("PLAYED", "message.read", "played", 4),
    ("ERROR", "message.status_updated", "failed", None),
    (4, "message.read", "read", 3),  # Baileys enum number
])
def test_v2_update_statuses(status, event, label, rank):
    data = dict(V2_UPDATE, status=status)
    [result] = run(envelope("messages.update", data))
    assert result.payload == {
        **base(event, "2025-10-21T15:00:00Z"),
        "external_message_id": "3EB0F1C2A9B8D7E6F5A4B3", "status": label,
        "from": "+5511987654321"}
    assert result.message_id == "3EB0F1C2A9B8D7E6F5A4B3"
    assert result.status_rank == rank
    assert result.phone == "+5511987654321"


def test_v1_update_uses_id_and_datetime_ms():
    [event] = run(envelope("messages.update", V1_UPDATE))
    assert event.event == "message.read"
    assert event.message_id == "BAE5AAAA00000001"
    assert event.payload["timestamp"] == "2025-10-21T14:43:20.123000Z"
    assert event.dedupe_key == "42:messages.update:BAE5AAAA00000001:READ"


@pytest.mark.parametrize("change", [
    {"status": "DELETED"}, {"status": "BOGUS"}, {"status": None},
    {"keyId": None}, {"fromMe": False}])
def test_updates_without_a_usable_status_are_ignored(change):
    data = {k: v for k, v in dict(V2_UPDATE, **change).items()
            if v is not None}
    assert run(envelope("messages.update", data)) == []


def test_status_ranks_are_monotonic():
    ranks = normalizer.STATUS_RANKS
    order = ["PENDING", "SERVER_ACK", "DELIVERY_ACK", "READ", "PLAYED"]
    assert [ranks[s] for s in order] == sorted(ranks.values())


# --- instance events -----------------------------------------------------

@pytest.mark.parametrize("data, event, state", [
    ({"instance": "sales-01", "wuid": "5511987654321@s.whatsapp.net",
      "profileName": "Sales", "profilePictureUrl": None, "state": "open",
      "statusReason": 200}, "instance.connected", "connected"),
    ({"instance": "sales-01", "state": "connecting", "statusReason": 200},
     "instance.connection_updated", "connecting"),
    ({"instance": "sales-01", "state": "close", "statusReason": 401},
     "instance.disconnected", "disconnected"),
    ({"instance": "sales-01", "state": "refused", "statusReason": 428,
      "wuid": None}, "instance.disconnected", "refused"),
])
def test_connection_update(data, event, state):
    [result] = run(envelope("connection.update", data))
    assert result.payload == {**base(event, "2025-10-21T15:00:00Z"),
                              "connection_state": state}
    assert result.message_id is None and result.phone is None


def test_unknown_connection_state_is_ignored():
    assert run(envelope("connection.update", {"state": "weird"})) == []


def test_connection_update_recurring_later_gets_a_new_key():
    data = {"instance": "sales-01", "state": "open", "statusReason": 200}
    [first] = run(envelope("connection.update", data))
    [later] = run(envelope("connection.update", data,
                           date_time="2025-10-22T09:00:00.000Z"))
    assert first.dedupe_key != later.dedupe_key


def test_qrcode_updated_never_leaks_the_qr():
    data = {"qrcode": {"instance": "sales-01", "pairingCode": None,
                       "code": "2@AbCdEf", "base64":
                       "data:image/png;base64,iVBORw0KGgo="}}
    [event] = run(envelope("qrcode.updated", data))
    assert event.payload == {**base("instance.qr_updated",
                                    "2025-10-21T15:00:00Z"),
                             "qr_available": True}
    assert "2@AbCdEf" not in event.dedupe_key


def test_qrcode_limit_reached_is_not_a_qr_update():
    # The QR-limit body carries no QR; connection.update "refused" follows.
    data = {"message": "QR code limit reached, please login again",
            "statusCode": 500}
    assert run(envelope("qrcode.updated", data)) == []


# --- calls -----------------------------------------------------------------

CALL_OFFER = {"chatId": "5511912345678@s.whatsapp.net",
              "from": "5511912345678@s.whatsapp.net", "id": "CALL0123ABCD",
              "date": "2025-10-21T14:50:00.000Z", "offline": False,
              "status": "offer", "isVideo": False, "isGroup": False}


def test_call_offer_is_call_received():
    [event] = run(envelope("call", CALL_OFFER))
    assert event.payload == {**base("call.received", "2025-10-21T14:50:00Z"),
                             "from": "+5511912345678", "call_status": "offer"}
    assert event.phone == "+5511912345678"


def test_ringing_and_offer_share_one_key():
    [offer] = run(envelope("call", CALL_OFFER))
    [ringing] = run(envelope("call", dict(CALL_OFFER, status="ringing")))
    assert offer.dedupe_key == ringing.dedupe_key


@pytest.mark.parametrize("status", ["timeout", "reject"])
def test_unanswered_call_is_call_missed(status):
    data = dict(CALL_OFFER, status=status, **{"from": "2145678901@lid"})
    [event] = run(envelope("call", [data]))
    assert event.event == "call.missed"
    assert event.payload["from"] == "2145678901@lid"
    assert event.payload["call_status"] == status
    assert event.phone is None


def test_caller_hanging_up_unanswered_is_call_missed():
    # Baileys: the caller hung up before an answer -> terminate, no accept.
    [event] = run(envelope("call", dict(CALL_OFFER, status="terminate")))
    assert event.event == "call.missed"
    assert event.payload["call_status"] == "terminate"


def test_accepted_call_takes_the_missed_key():
    [accept] = run(envelope("call", dict(CALL_OFFER, status="accept")))
    [terminate] = run(envelope("call", dict(CALL_OFFER,
                                            status="terminate")))
    assert accept.event == "call.answered"
    assert accept.event in INTERNAL_EVENTS
    # The intake dedupes on this key: after an accept, no call.missed.
    assert accept.dedupe_key == terminate.dedupe_key


@pytest.mark.parametrize("status", ["preaccept", "transport"])
def test_other_call_statuses_are_ignored(status):
    assert run(envelope("call", dict(CALL_OFFER, status=status))) == []


# --- groups ---------------------------------------------------------------

@pytest.mark.parametrize("participants", [
    ["5511912345678@s.whatsapp.net", "214567890123456@lid"],
    [{"id": "214567890123456@lid",
      "phoneNumber": "5511912345678@s.whatsapp.net", "admin": None}],
])
def test_group_participants_update(participants):
    data = {"id": "120363012345678901@g.us",
            "author": "5511987654321@s.whatsapp.net",
            "participants": participants, "action": "add"}
    [event] = run(envelope("group-participants.update", data))
    assert event.payload == {**base("group.updated", "2025-10-21T15:00:00Z"),
                             "group_id": "120363012345678901@g.us"}


def test_groups_upsert_emits_one_event_per_group():
    data = [{"id": "120363012345678901@g.us", "subject": "Team",
             "participants": [{"id": "1@lid", "admin": "admin"}]},
            {"id": "120363099999999999@g.us", "subject": "Ops"}]
    events = run(envelope("groups.upsert", data))
    assert [e.payload["group_id"] for e in events] == [
        "120363012345678901@g.us", "120363099999999999@g.us"]
    events = run(envelope("groups.update", [{"id": data[0]["id"],
                                             "subject": "New"}]))
    assert [e.event for e in events] == ["group.updated"]


# --- everything else and dedupe -------------------------------------------

@pytest.mark.parametrize("event, data", [
    ("chats.upsert", [{"remoteJid": "5511912345678@s.whatsapp.net",
                       "instanceId": INSTANCE_UUID, "unreadMessages": 1}]),
    ("chats.update", [{"remoteJid": "5511912345678@s.whatsapp.net"}]),
    ("send.message", V236_UPSERT),
    ("messages.set", [V236_UPSERT]),
    ("contacts.upsert", {"remoteJid": "5511912345678@s.whatsapp.net"}),
    ("presence.update", {"id": "x", "presences": {}}),
])
def test_other_events_yield_nothing(event, data):
    assert run(envelope(event, data)) == []


@pytest.mark.parametrize("body", [
    envelope("messages.upsert", V236_UPSERT),
    envelope("messages.update", V2_UPDATE),
    envelope("connection.update", {"state": "open"}),
    envelope("qrcode.updated", {"qrcode": {"code": "2@x"}}),
    envelope("call", CALL_OFFER),
    envelope("group-participants.update", {"id": "1@g.us",
                                           "participants": []}),
])
def test_redelivery_gives_the_same_dedupe_key(body):
    first = run(body)
    again = normalize(copy.deepcopy(body), "42", "Demo Support Line",
                      received_at=RECEIVED_AT + dt.timedelta(minutes=5))
    assert first and [e.dedupe_key for e in first] == [
        e.dedupe_key for e in again]


def test_default_received_at_is_now():
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    [event] = normalize(envelope("connection.update", {"state": "open"}),
                        "42", "Demo")
    stamp = dt.datetime.fromisoformat(
        event.payload["timestamp"].replace("Z", "+00:00"))
    assert stamp >= before
    validate_event_payload(event.payload)


@pytest.mark.parametrize("body", [
    None, [], "messages.upsert", 3, {}, {"event": 5},
    {"event": "messages.upsert", "data": "x"},
    {"event": "messages.upsert", "data": {"key": "x"}},
    {"event": "messages.upsert", "data": {"key": {"remoteJid": 5}}},
    {"event": "messages.upsert", "data": {
        "key": {"remoteJid": "1@s.whatsapp.net"},
        "messageTimestamp": {"low": "x"}, "message": ["x"]}},
])
def test_malformed_bodies_never_raise(body):
    assert run(body) == [] or all(e.event for e in run(body))


@pytest.mark.parametrize("value, expected", [
    (1761057700, "2025-10-21T14:41:40Z"),
    ("1761057700", "2025-10-21T14:41:40Z"),
    ({"low": 1761057700, "high": 0, "unsigned": True},
     "2025-10-21T14:41:40Z"),
    (1761057700000, "2025-10-21T14:41:40Z"),
    (0, None), (-5, None), ("soon", None), (True, None),
    (float("nan"), None), ("1e400", None), ({"low": 1, "high": 10**40},
                                            None),
])
def test_parse_epoch(value, expected):
    parsed = normalizer.parse_epoch(value)
    text = parsed and parsed.isoformat().replace("+00:00", "Z")
    assert text == expected


# --- keywords -------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "STOP", "stop", " Stop! ", "STOPALL", "unsubscribe.", "Cancel",
    "END", "quit", "OPTOUT", "opt-out", "Revoke", "\u200fSTOP\u200f",
    "إلغاء", "الغاء", "  إلغاء!! ", "ألغاء", "توقف", "تـــوقف", "تَوَقَّفْ",
    "إيقاف", "ايقاف", "الغاء الاشتراك", "إلغاء  الإشتراك", "ستوب", "ستوب.",
    "أوقف", "؟توقف؟", "ＳＴＯＰ",
])
def test_opt_out_keywords(text):
    assert classify_keyword(text) == "opt_out"


@pytest.mark.parametrize("text", [
    "START", "unstop", "Yes", "yes!", "ابدأ", "ابدا", "نعم", "اشتراك",
])
def test_opt_in_keywords(text):
    assert classify_keyword(text) == "opt_in"


@pytest.mark.parametrize("text", [
    "STOP please", "don't stop", "please stop", "stopp", "", "   ", None,
    "توقف من فضلك", "لا تتوقف", "Oi!", 5, "yes please",
])
def test_not_keywords(text):
    assert classify_keyword(text) is None


# --- properties -------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25)
EVENT_NAMES = st.sampled_from([
    "messages.upsert", "messages.update", "connection.update",
    "qrcode.updated", "call", "groups.upsert", "groups.update",
    "group-participants.update", "chats.upsert", "MESSAGES_UPSERT"])
KEY = st.fixed_dictionaries({}, optional={
    "remoteJid": st.sampled_from(["5511912345678@s.whatsapp.net",
                                  "1@lid", "1@g.us", "x"]) | JSON,
    "remoteJidAlt": JSON, "senderPn": JSON, "participant": JSON,
    "participantAlt": JSON, "fromMe": JSON, "id": JSON})
ITEM = st.fixed_dictionaries({}, optional={
    "key": KEY | JSON, "message": JSON, "messageTimestamp": JSON,
    "status": st.sampled_from(["READ", "ERROR", "open", "offer"]) | JSON,
    "keyId": JSON, "id": JSON, "remoteJid": JSON, "fromMe": JSON,
    "state": st.sampled_from(["open", "close", "connecting"]) | JSON,
    "qrcode": JSON, "from": JSON, "date": JSON, "datetime": JSON})
ENVELOPE = st.fixed_dictionaries(
    {"event": EVENT_NAMES, "data": ITEM | st.lists(ITEM, max_size=3) | JSON},
    optional={"instance": JSON, "date_time": JSON, "sender": JSON})


def check_never_raises(body):
    events = normalizer.build_events(body, "42", "Demo",
                                     received_at=RECEIVED_AT)
    for event in events:
        validate_event_payload(event.payload)
        assert isinstance(event.dedupe_key, str)
    keys = [e.dedupe_key for e in normalize(body, "42", "Demo")]
    assert keys == [e.dedupe_key for e in events]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_json_never_raises(body):
    check_never_raises(body)


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(ENVELOPE)
def test_envelopes_with_real_event_names_validate(body):
    check_never_raises(body)


def test_a_call_rewritten_to_the_phone_pairs_it_with_its_lid():
    """With msgCall set, Evolution rewrites ``from`` to the phone and
    keeps the LID in ``chatId``."""
    [event] = run(envelope("call", [{
        "id": "CALL9", "from": "5511912345678@s.whatsapp.net",
        "chatId": "214567890123456@lid", "status": "offer",
        "date": "2025-10-21T14:41:40.000Z", "offline": False}]))
    assert event.pairs == (("214567890123456@lid", "+5511912345678"),)


@pytest.mark.parametrize("event_name, data", [
    # 2.3.6: Baileys rc.6 participants as objects.
    ("group-participants.update", {
        "id": "120363012345678901@g.us", "action": "add",
        "author": "214567890123456@lid",
        "participants": [{"id": "314567890123456@lid",
                          "phoneNumber": "5511912345678@s.whatsapp.net",
                          "admin": None}]}),
    # 2.3.5: strings, with participantsData beside them.
    ("group-participants.update", {
        "id": "120363012345678901@g.us", "action": "add",
        "participants": ["314567890123456@lid"],
        "participantsData": [{"jid": "314567890123456@lid",
                              "phoneNumber": "5511912345678"}]}),
    # groups.upsert: GroupMetadata with {id, phoneNumber?, lid?}.
    ("groups.upsert", [{
        "id": "120363012345678901@g.us", "subject": "Team",
        "participants": [{"id": "5511912345678@s.whatsapp.net",
                          "lid": "314567890123456@lid", "admin": None},
                         {"id": "414567890123456@lid", "admin": None}]}]),
])
def test_group_participants_reveal_lid_pairs(event_name, data):
    [event] = run(envelope(event_name, data))
    assert event.pairs == (("314567890123456@lid", "+5511912345678"),)


def test_group_participants_as_strings_reveal_nothing():
    [event] = run(envelope("group-participants.update", {
        "id": "120363012345678901@g.us", "action": "remove",
        "participants": ["5511912345678@s.whatsapp.net",
                         "314567890123456@lid"]}))
    assert event.pairs == ()
