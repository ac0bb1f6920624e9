"""Client for Evolution API: send a text, run an instance's lifecycle.

One ``EvolutionClient`` per process, over one ``requests.Session`` (pooled
connections) with explicit connect and read timeouts on every call.  Every
failure becomes one ``EvolutionError`` whose ``reason`` is what the send API
answers in ``details.reason`` and whose ``outcome`` says whether the
message certainly did not go (``failed``) or may have gone (``unknown``),
following the reference's section 8.1.

Lifecycle calls (create, connect, state, logout, restart, delete, set and
find the webhook, fetch instances) use the request and response shapes
of Evolution 2.3.6 (``evolution-api.md`` section 4, ``evolution-audit.md``)
and return plain dicts; their failures are ``EvolutionError`` with
``reason`` ``instance_unavailable`` (404: Evolution does not have it) or
``upstream_error``, and ``detail`` = Evolution's own message, readable.
"""
import json
import logging
import threading
import time

from urllib.parse import quote

import requests

log = logging.getLogger(__name__)

NOT_ON_WHATSAPP = "not_on_whatsapp"
INSTANCE_UNAVAILABLE = "instance_unavailable"
UPSTREAM_TIMEOUT = "upstream_timeout"
UPSTREAM_ERROR = "upstream_error"

# Substrings Evolution uses when the WhatsApp socket of an instance is down.
_DOWN_MARKERS = ("Connection Closed", "Timed Out", "Cannot read properties")


class EvolutionError(Exception):
    """A call to Evolution that did not succeed."""

    def __init__(self, reason, outcome, status=None, detail=""):
        super().__init__("%s (%s, HTTP %s)" % (reason, outcome, status))
        self.reason = reason
        self.outcome = outcome
        self.status = status
        self.detail = detail


class SendResult:
    """What Evolution answered to an accepted send."""

    __slots__ = ("message_id", "remote_jid")

    def __init__(self, message_id, remote_jid):
        self.message_id = message_id
        self.remote_jid = remote_jid


class EvolutionClient:
    """Talks to one Evolution API server."""

    def __init__(self, base_url, api_key="", timeout=(3.05, 30.0),
                 session=None, link_preview=False):
        self.base_url = base_url.rstrip("/")
        # Off unless asked for: with a preview Evolution fetches every URL
        # in a customer's text from its own host.
        self.link_preview = bool(link_preview)
        self.api_key = api_key
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["Accept"] = "application/json"
        # Evolution is reached directly: skipping the environment's proxy
        # and netrc look-ups saves about a millisecond of CPU per send.
        self.session.trust_env = False
        self._major_version = None
        self._probe_after = 0.0
        self._version_lock = threading.Lock()

    def close(self):
        self.session.close()

    def server_version(self):
        """Return Evolution's version string from ``GET /``."""
        try:
            # A short read timeout: this probe must not double a send's
            # worst case when Evolution is slow.
            response = self.session.get(
                self.base_url + "/",
                timeout=(self.timeout[0], min(5.0, self.timeout[1])))
            return str(response.json().get("version", ""))
        except (requests.RequestException, ValueError, AttributeError):
            return ""

    def major_version(self):
        """1 or 2; asked once, then remembered (2 while unknown)."""
        if self._major_version is None and (
                time.monotonic() >= self._probe_after):
            with self._version_lock:
                if self._major_version is None:
                    version = self.server_version()
                    if version:
                        self._major_version = 1 if version.startswith(
                            "1.") else 2
                    else:
                        # v2 is the likelier server; ask again in a minute,
                        # not before every send.
                        self._probe_after = time.monotonic() + 60
        return self._major_version or 2

    def send_text(self, instance, token, number, text, delay=None):
        """Send ``text`` to ``number`` (digits or a JID) via ``instance``.

        Returns a ``SendResult``; raises ``EvolutionError``.
        """
        if self.major_version() == 1:
            body = {"number": number, "textMessage": {"text": text}}
            body["options"] = {"linkPreview": self.link_preview}
            if delay:
                body["options"].update(delay=delay, presence="composing")
        else:
            body = {"number": number, "text": text,
                    "linkPreview": self.link_preview}
            if delay:
                body["delay"] = delay
        response = self._request(
            "POST", "/message/sendText/" + quote(instance, safe=""), token,
            body)
        if response.status_code in (200, 201):
            payload = _json_or_none(response)
            key = payload.get("key") if isinstance(payload, dict) else None
            if isinstance(key, dict) and key.get("id"):
                return SendResult(str(key["id"]), key.get("remoteJid"))
            # Accepted, but not in a shape we know: it may well have gone.
            raise EvolutionError(UPSTREAM_ERROR, "unknown",
                                 response.status_code, "unreadable 2xx body")
        raise classify_send_error(response)

    def connection_state(self, instance, token=""):
        """Return ``open``, ``connecting``, ``close`` or ``unknown``."""
        response = self._request("GET", "/instance/connectionState/"
                                 + quote(instance, safe=""), token)
        payload = _json_or_none(response)
        if response.status_code == 200 and isinstance(payload, dict):
            state = (payload.get("instance") or {}).get("state")
            return state if state in ("open", "connecting", "close") \
                else "unknown"
        if response.status_code == 404:
            raise EvolutionError(INSTANCE_UNAVAILABLE, "failed", 404,
                                 "instance does not exist")
        raise EvolutionError(UPSTREAM_ERROR, "failed", response.status_code)

    # -- instance lifecycle (section 4.3 of the reference)

    def create_instance(self, name, token=None, qrcode=False, number=None,
                        webhook=None):
        """``POST /instance/create`` (global key); returns a dict with
        ``name``, ``id``, ``token``, ``status`` and ``qrcode`` (a connect
        dict, or None when not asked for)."""
        body = {"instanceName": name, "integration": "WHATSAPP-BAILEYS",
                "qrcode": bool(qrcode)}
        if token:
            body["token"] = token
        if number:
            body["number"] = number
        if webhook:
            body["webhook"] = {"url": webhook["url"],
                               "byEvents": webhook.get("byEvents", False),
                               "base64": webhook.get("base64", False),
                               "headers": webhook.get("headers") or {},
                               "events": list(webhook["events"])}
        payload = self._lifecycle("POST", "/instance/create", "", body,
                                  expect=(200, 201))
        inner = payload.get("instance") if isinstance(payload, dict) else {}
        inner = inner if isinstance(inner, dict) else {}
        token = payload.get("hash")
        if isinstance(token, dict):  # v1: {"apikey": ...} or {"jwt": ...}
            token = token.get("apikey") or token.get("jwt")
        qr = payload.get("qrcode")
        return {"name": inner.get("instanceName") or name,
                "id": inner.get("instanceId"),
                "token": token if isinstance(token, str) else None,
                "status": inner.get("status"),
                "qrcode": read_qr(qr) if isinstance(qr, dict) and qr.get(
                    "code") else None}

    def connect(self, name, token="", number=None):
        """``GET /instance/connect/{name}[?number=]``.

        Returns ``{"state", "code", "base64", "pairing_code", "count"}``;
        ``state`` is ``open`` when the instance is already connected
        (Evolution then answers its connectionState body), else
        ``connecting``.
        """
        path = "/instance/connect/" + quote(name, safe="")
        if number:
            path += "?number=" + quote(str(number), safe="")
        payload = self._lifecycle("GET", path, token)
        if not isinstance(payload, dict):
            raise EvolutionError(UPSTREAM_ERROR, "failed", 200,
                                 "unreadable connect answer")
        if payload.get("error") is True:
            # connectToWhatsapp's failures come back as 200.
            raise EvolutionError(UPSTREAM_ERROR, "failed", 200,
                                 str(payload.get("message") or "error"))
        if isinstance(payload.get("instance"), dict):
            inner = payload["instance"]
            state = inner.get("state") or inner.get("status") or "unknown"
            qr = payload.get("qrcode")
            result = read_qr(qr) if isinstance(qr, dict) else read_qr({})
            result["state"] = state
            return result
        result = read_qr(payload)
        result["state"] = "connecting"
        return result

    def logout(self, name, token=""):
        """``DELETE /instance/logout/{name}``."""
        return self._lifecycle("DELETE", "/instance/logout/"
                               + quote(name, safe=""), token)

    def restart(self, name, token=""):
        """``POST /instance/restart/{name}``: Evolution's answer as is
        (connectionState's body when it was open, the current qrCode
        ``{pairingCode, code, base64, count}`` when it was connecting)."""
        payload = self._lifecycle("POST", "/instance/restart/"
                                  + quote(name, safe=""), token)
        if isinstance(payload, dict) and payload.get("error") is True:
            # restartInstance answers its failures as 200.
            raise EvolutionError(UPSTREAM_ERROR, "failed", 200, str(
                payload.get("message") or "restart failed"))
        return payload

    def delete_instance(self, name, token=""):
        """``DELETE /instance/delete/{name}``."""
        return self._lifecycle("DELETE", "/instance/delete/"
                               + quote(name, safe=""), token)

    def set_webhook(self, name, token, url, headers, events,
                    by_events=False):
        """``POST /webhook/set/{name}``; returns the stored row."""
        if self.major_version() == 1:
            body = {"url": url, "enabled": True, "events": list(events),
                    "webhook_by_events": by_events, "webhook_base64": False}
        else:
            body = {"webhook": {"enabled": True, "url": url,
                                "byEvents": by_events, "base64": False,
                                "headers": dict(headers or {}),
                                "events": list(events)}}
        return self._lifecycle("POST", "/webhook/set/"
                               + quote(name, safe=""), token, body,
                               expect=(200, 201))

    def find_webhook(self, name, token=""):
        """``GET /webhook/find/{name}``: the stored row, or None."""
        return self._lifecycle("GET", "/webhook/find/"
                               + quote(name, safe=""), token)

    def fetch_instance(self, name):
        """The ``fetchInstances`` record of ``name`` (global key), or None.

        v2 records carry ``token``, ``connectionStatus``, ``ownerJid``.
        """
        try:
            payload = self._lifecycle(
                "GET", "/instance/fetchInstances?instanceName="
                + quote(name, safe=""), "")
        except EvolutionError as exc:
            if exc.status == 404:
                return None
            raise
        records = payload if isinstance(payload, list) else [payload]
        for record in records:
            if not isinstance(record, dict):
                continue
            inner = record.get("instance")
            if isinstance(inner, dict):  # v1
                record = dict(inner, name=inner.get("instanceName"))
            if record.get("name") == name:
                return record
        return None

    def _lifecycle(self, method, path, token, body=None, expect=(200,)):
        """One lifecycle call: its JSON on success, else EvolutionError."""
        response = self._request(method, path, token, body)
        payload = _json_or_none(response)
        if response.status_code in expect:
            return payload
        reason = INSTANCE_UNAVAILABLE if response.status_code == 404 \
            else UPSTREAM_ERROR
        raise EvolutionError(reason, "failed", response.status_code,
                             describe_error(payload, response))

    def _request(self, method, path, token, body=None):
        url = self.base_url + path
        request = requests.PreparedRequest()
        request.prepare(method=method, url=url, json=body, headers=dict(
            self.session.headers, apikey=token or self.api_key))
        try:
            # Straight to the transport: Session.send would merge cookies,
            # hooks and settings Evolution never uses, and follow redirects
            # it never sends (about 0.1 ms of CPU per send).
            response = self.session.get_adapter(url).send(
                request, timeout=self.timeout)
            response.content  # read it all: the connection goes back now
            return response
        except requests.ConnectTimeout:
            # Never connected, so nothing was sent.
            raise EvolutionError(UPSTREAM_TIMEOUT, "failed")
        except requests.Timeout:
            raise EvolutionError(UPSTREAM_TIMEOUT, "unknown")
        except requests.ConnectionError as exc:
            if _is_refused(exc):
                raise EvolutionError(INSTANCE_UNAVAILABLE, "failed",
                                     detail="connection refused")
            raise EvolutionError(UPSTREAM_ERROR, "unknown",
                                 detail="connection error")
        except requests.RequestException:
            raise EvolutionError(UPSTREAM_ERROR, "unknown")


def classify_send_error(response):
    """Map a non-2xx sendText answer to an ``EvolutionError`` (ref. 8.1)."""
    status = response.status_code
    payload = _json_or_none(response)
    message = None
    if isinstance(payload, dict):
        message = (payload.get("response") or {}).get("message") \
            if isinstance(payload.get("response"), dict) else None
    first = message[0] if isinstance(message, list) and message else None
    text = message if isinstance(message, str) else (
        first if isinstance(first, str) else "")
    if isinstance(first, dict) and first.get("exists") is False:
        return EvolutionError(NOT_ON_WHATSAPP, "failed", status)
    if status == 404:
        return EvolutionError(INSTANCE_UNAVAILABLE, "failed", status,
                              "instance does not exist")
    if status == 401:
        return EvolutionError(UPSTREAM_ERROR, "failed", status,
                              "Evolution refused the API key")
    if status == 400 and isinstance(first, list):
        return EvolutionError(UPSTREAM_ERROR, "failed", status,
                              "Evolution refused the request body")
    if status == 400 and text == "Text is required":
        return EvolutionError(UPSTREAM_ERROR, "failed", status, text)
    if any(marker in text for marker in _DOWN_MARKERS):
        return EvolutionError(INSTANCE_UNAVAILABLE, "unknown", status,
                              "instance not connected")
    # A catch-all 400/500 does not prove the message was not sent.
    return EvolutionError(UPSTREAM_ERROR, "unknown", status)


def read_qr(payload):
    """Evolution's qrCode object as ``{code, base64, pairing_code, count}``."""
    def text(key):
        value = payload.get(key)
        return value if isinstance(value, str) and value else None
    count = payload.get("count")
    return {"code": text("code"), "base64": text("base64"),
            "pairing_code": text("pairingCode"),
            "count": count if isinstance(count, int) else None}


def describe_error(payload, response):
    """Evolution's error message as one readable line."""
    message = None
    if isinstance(payload, dict):
        inner = payload.get("response")
        message = inner.get("message") if isinstance(inner, dict) else \
            payload.get("message")
    parts = []
    pending = [message]
    while pending:  # message may be "x", ["x"], [["x", "y"]] or [{...}]
        item = pending.pop(0)
        if isinstance(item, list):
            pending[:0] = item
        elif isinstance(item, dict):
            parts.append(json.dumps(item, sort_keys=True))
        elif item is not None:
            parts.append(str(item))
    text = "; ".join(parts) or (response.reason or "no message")
    return "Evolution answered HTTP %d: %s" % (
        response.status_code, text[:300])


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None


def _is_refused(exc):
    # urllib3 buries the socket error a few causes deep; its text is stable.
    return "refused" in str(exc).lower()
