"""identity.py: one person, one identity (pure, no Flask, no database)."""
import pytest

import identity
from normalizer import jid_to_e164
from policy import to_e164


@pytest.mark.parametrize("raw, canonical", [
    # Brazil, DDD >= 31: Evolution's JID has no ninth digit.
    ("553187654321", "+5531987654321"),
    ("+55 31 8765-4321", "+5531987654321"),
    ("553187654321@s.whatsapp.net", "+5531987654321"),
    ("553187654321:12@s.whatsapp.net", "+5531987654321"),
    ("+5531987654321", "+5531987654321"),
    # Brazil, old São Paulo account without its 9.
    ("551187654321", "+5511987654321"),
    # Brazilian landlines start 2-5: never a ninth digit.
    ("553133334444", "+553133334444"),
    # Mexico: the 1 after 52 goes.
    ("5215512345678", "+525512345678"),
    ("+52 1 55 1234 5678", "+525512345678"),
    ("00525512345678", "+525512345678"),
    # Others untouched.
    ("966501234567", "+966501234567"),
    ("+5491123456789", "+5491123456789"),
])
def test_canonical_phone(raw, canonical):
    assert identity.canonical_phone(raw) == canonical
    # ... and the canonical form is what the send API accepts.
    assert to_e164(canonical) == canonical


@pytest.mark.parametrize("raw", [
    "214567890123456@lid", "120363012345678901@g.us", "status@broadcast",
    "", "abc", None, 5511987654321])
def test_not_a_phone(raw):
    assert identity.canonical_phone(raw) is None


def test_inbound_jid_gives_the_number_customers_send_to():
    assert jid_to_e164("553187654321@s.whatsapp.net") == "+5531987654321"
    assert jid_to_e164("5215512345678@s.whatsapp.net") == "+525512345678"
    assert jid_to_e164("214567890123456@lid") is None


def test_same_person_and_variants():
    assert identity.same_person("+5531987654321", "553187654321")
    assert identity.same_person("+525512345678", "5215512345678@c.us")
    assert not identity.same_person("+5531987654321", "+5531987654322")
    assert identity.phone_variants("+5531987654321") == [
        "+5531987654321", "+553187654321"]
    assert identity.phone_variants("5215512345678") == [
        "+525512345678", "+5215512345678"]


def test_lid_of():
    assert identity.lid_of("214567890123456@lid") == "214567890123456@lid"
    assert identity.lid_of("214567890123456:3@lid") == "214567890123456@lid"
    assert identity.lid_of("5511987654321@s.whatsapp.net") is None
    assert identity.lid_of(None) is None


@pytest.mark.parametrize("key, pairs", [
    # 2.3.5+ lid addressing: the phone in remoteJidAlt.
    ({"remoteJid": "214567890123456@lid",
      "remoteJidAlt": "553187654321@s.whatsapp.net",
      "addressingMode": "lid"},
     [("214567890123456@lid", "+5531987654321")]),
    # pn addressing: remoteJidAlt is the LID.
    ({"remoteJid": "5511987654321@s.whatsapp.net",
      "remoteJidAlt": "214567890123456@lid", "addressingMode": "pn"},
     [("214567890123456@lid", "+5511987654321")]),
    # 2.3.1-2.3.2: senderPn.
    ({"remoteJid": "214567890123456@lid",
      "senderPn": "5511987654321@s.whatsapp.net"},
     [("214567890123456@lid", "+5511987654321")]),
    # groups: participant and participantAlt.
    ({"remoteJid": "120363012345678901@g.us",
      "participant": "214567890123456@lid",
      "participantAlt": "5215512345678@s.whatsapp.net"},
     [("214567890123456@lid", "+525512345678")]),
    # LID only: nothing to learn.
    ({"remoteJid": "214567890123456@lid"}, []),
    ({"remoteJid": "5511987654321@s.whatsapp.net"}, []),
])
def test_pairs_in_key(key, pairs):
    assert identity.pairs_in_key(key) == pairs
