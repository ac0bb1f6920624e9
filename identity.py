"""One person, one identity: the phone forms WhatsApp uses, and LIDs.

Pure module: no Flask, no database.  The same recipient reaches the
gateway in several spellings, and every guard (suppressions, conversation
windows, throttles) and every event keys on one of them, the *canonical*
E.164 form: the number customers send to.

* Brazil: WhatsApp accounts made before mobile numbers grew a ninth digit
  keep JIDs without it, and Evolution's ``createJid`` drops it for
  DDD >= 31 (``55 31 9 8765-4321`` travels as ``553187654321``).  The
  canonical form has it: ``+5531987654321``.  An eight-digit subscriber
  number starting 6-9 is a mobile without its 9; 2-5 is a landline.
* Mexico: mobile JIDs keep the ``1`` after 52 that Mexico dropped in 2019
  (``5215512345678``); the canonical form has no ``1``:
  ``+525512345678``.
* LIDs (``123456789012345@lid``) are WhatsApp's privacy ids, not phone
  numbers.  Payloads that carry a LID and a phone together
  (``remoteJidAlt``, ``senderPn``, ``participantAlt``, a sendText answer
  whose ``remoteJid`` is a LID) teach the gateway the pair
  (``store.LidPair``), so a later LID-only message resolves to the number.
"""
import re

_JUNK = re.compile(r"[\s().\-\u200e\u200f\u202a-\u202e]")
_LID = re.compile(r"([0-9]{6,20})(?::[0-9]+)?@lid")
_DIGITS = re.compile(r"\+?([0-9]{7,15})")


def canonical_digits(digits):
    """The canonical international digits of ``digits`` (no ``+``)."""
    if (len(digits) == 12 and digits.startswith("55")
            and "11" <= digits[2:4] <= "99" and digits[4] in "6789"):
        return digits[:4] + "9" + digits[4:]  # Brazil: the ninth digit
    if len(digits) == 13 and digits.startswith("521"):
        return "52" + digits[3:]  # Mexico: no 1 after 52
    return digits


def canonical_phone(value):
    """``+`` and the canonical digits of an international number.

    Accepts ``+55 31 8765-4321``, ``00553187654321``, bare digits or a
    phone JID; returns None for anything else (LIDs and groups included).
    Does not say the number is valid: ``policy.to_e164`` does that.
    """
    if not isinstance(value, str):
        return None
    user, at, server = value.strip().partition("@")
    if at and server not in ("s.whatsapp.net", "c.us"):
        return None
    text = _JUNK.sub("", user.split(":")[0])  # no device suffix
    if text.startswith("00"):
        text = text[2:]
    match = _DIGITS.fullmatch(text)
    if match is None:
        return None
    return "+" + canonical_digits(match.group(1))


def same_person(a, b):
    """True when two phone spellings are one recipient."""
    first, second = canonical_phone(a), canonical_phone(b)
    return first is not None and first == second


def phone_variants(phone):
    """Every spelling of ``phone`` WhatsApp or Evolution may use."""
    canonical = canonical_phone(phone)
    if canonical is None:
        return []
    digits = canonical[1:]
    variants = [canonical]
    if len(digits) == 13 and digits.startswith("55") and digits[4] == "9":
        variants.append("+" + digits[:4] + digits[5:])
    elif len(digits) == 12 and digits.startswith("52"):
        variants.append("+521" + digits[2:])
    return variants


def lid_of(jid):
    """``<digits>@lid`` for a LID JID (device suffix dropped), else None."""
    if not isinstance(jid, str):
        return None
    match = _LID.fullmatch(jid.strip())
    return match.group(1) + "@lid" if match else None


def is_lid(jid):
    return lid_of(jid) is not None


def pair_from(first, second):
    """``(lid, phone)`` when one of two JIDs is a LID and the other a
    phone, else None; ``phone`` is canonical E.164."""
    for lid_jid, phone_jid in ((first, second), (second, first)):
        lid = lid_of(lid_jid)
        if lid is None or not isinstance(phone_jid, str):
            continue
        if "@" in phone_jid and not phone_jid.endswith(
                ("@s.whatsapp.net", "@c.us")):
            continue
        phone = canonical_phone(phone_jid)
        if phone is not None:
            return lid, phone
    return None


def pairs_in_key(key):
    """Every LID <-> phone pair a message key (or receipt) reveals.

    2.3.3+ keys pair ``remoteJid`` with ``remoteJidAlt`` (either may be
    the LID, by addressing mode) and ``participant`` with
    ``participantAlt``; 2.3.1-2.3.2 carried ``senderPn``/``senderLid``,
    ``participantPn``/``participantLid`` and ``previousRemoteJid``.
    """
    if not isinstance(key, dict):
        return []
    candidates = (("remoteJid", "remoteJidAlt"), ("remoteJid", "senderPn"),
                  ("senderLid", "senderPn"), ("senderLid", "remoteJid"),
                  ("previousRemoteJid", "remoteJid"),
                  ("participant", "participantAlt"),
                  ("participant", "participantPn"),
                  ("participantLid", "participantPn"),
                  ("participantLid", "participant"))
    found = []
    for a, b in candidates:
        pair = pair_from(key.get(a), key.get(b))
        if pair is not None and pair not in found:
            found.append(pair)
    return found
