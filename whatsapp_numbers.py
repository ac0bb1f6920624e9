"""Number lifecycle: put a WhatsApp number on the gateway and keep it true.

(Named ``whatsapp_numbers``, not ``numbers``: a top-level ``numbers.py``
would shadow the standard library's ``numbers`` and break ``decimal``.)

One ``NumberService(settings, evolution)`` does every step over
``evolution_client``; the CLI (``cli_instances.py``) and the console call
the same methods and only present the result.  ``gateway.create_app``
builds one and keeps it in ``app.extensions["gateway"]["numbers"]``; the
module-level functions of the same names use that one, so code running
inside the app (a console view) can call them directly::

    import whatsapp_numbers as numbers
    numbers.create_number(customer_id, "support-line")
    numbers.connect_number("support-line")        # QR or pairing code
    numbers.refresh_state("support-line")         # asks Evolution live
    numbers.pause_number("support-line", "complaints")  # no Evolution

Outside an app (the CLI, scripts) build the service yourself:
``NumberService(settings, gateway.build_evolution_client(settings))``.

Every method takes an instance id or name, needs a database connection
(a request's, or ``db.connection_context()``), returns plain dicts or
strings, and raises one error type, ``NumberError``, whose message is one
readable line (Evolution's own words included).

Stored ``connection_state`` values: ``open``, ``connecting``, ``close``
(as Evolution says), ``unknown`` (Evolution could not be asked),
``not_found`` (Evolution does not have the instance) and ``deleted``.
It is refreshed on demand, by the periodic housekeeping
(``GATEWAY_STATE_REFRESH_SECONDS``), by Evolution's ``connection.update``
events, and by sends that fail with ``instance_unavailable``; it never
says ``open`` for an instance Evolution does not have.
"""
import logging
import re
import secrets
import threading
from urllib.parse import quote

from peewee import IntegrityError

import identity
import sending
import store
from evolution_client import INSTANCE_UNAVAILABLE
from evolution_client import EvolutionError
from store import Customer
from store import Instance
from store import db

log = logging.getLogger(__name__)

# Where the embedded sandbox lives (it delivers in-process, by name).
SANDBOX_URL = "http://evolution.sandbox"
# What the intake turns into customer events, plus the lifecycle events
# that keep the stored state true.
WEBHOOK_EVENTS = ("MESSAGES_UPSERT", "MESSAGES_UPDATE", "SEND_MESSAGE",
                  "CONNECTION_UPDATE", "QRCODE_UPDATED", "CALL",
                  "GROUPS_UPSERT", "GROUP_PARTICIPANTS_UPDATE",
                  "LOGOUT_INSTANCE", "REMOVE_INSTANCE")
SECRET_HEADER = "X-Gateway-Secret"
STATES = ("open", "connecting", "close", "unknown", "not_found", "deleted")


class NumberError(Exception):
    """A lifecycle step failed; ``str(error)`` is one readable line.

    ``status`` is the HTTP status the console answers it with: the
    operator's mistake (400) unless a subclass says otherwise.
    """
    status = 400


class NumberConflict(NumberError):
    """The request is well formed but the number's state forbids it."""
    status = 409


class EvolutionFailed(NumberError):
    """Evolution (or the sandbox) failed or refused the step."""
    status = 502


def new_webhook_secret():
    return "whi_" + secrets.token_urlsafe(24)


class NumberService:
    """Create, connect, watch and remove the WhatsApp numbers."""

    def __init__(self, settings, evolution):
        self.settings = settings
        self.evolution = evolution
        self.embedded = not settings.EVOLUTION_URL

    # -- create / attach

    def webhook_url(self, name, base=None):
        """Where Evolution must post this instance's events."""
        base = base or self.settings.PUBLIC_URL or (
            SANDBOX_URL if self.embedded else "")
        if not base:
            raise NumberError(
                "GATEWAY_PUBLIC_URL is not set: Evolution needs the URL "
                "where it reaches this gateway (e.g. "
                "GATEWAY_PUBLIC_URL=https://gateway.example.com)")
        return "%s/webhooks/evolution/%s" % (base, quote(name, safe=""))

    def webhook_settings(self, row, base=None):
        """The per-instance webhook the gateway wants (section 5.1)."""
        return {"url": self.webhook_url(row.name, base),
                "headers": {SECRET_HEADER: row.webhook_secret},
                "events": list(WEBHOOK_EVENTS), "byEvents": False,
                "base64": False}

    def create_number(self, customer_id, name, evolution_name=None,
                      attach=False, evolution_token=None):
        """Create the instance in Evolution (or adopt an existing one with
        ``attach``), store it and point its webhook at the gateway."""
        customer = Customer.get_or_none(Customer.id == customer_id)
        if customer is None:
            raise NumberError("no customer with id %s" % customer_id)
        name = (name or "").strip()
        if not name or name.isdigit() or len(name) > 100:
            raise NumberError("an instance name must be 1 to 100 "
                              "characters and not all digits")
        if Instance.get_or_none(Instance.name == name) is not None:
            raise NumberConflict("an instance named %r already exists" % name)
        evolution_name = (evolution_name or name).strip()
        secret = new_webhook_secret()
        row = Instance(customer=customer, name=name,
                       evolution_instance=evolution_name,
                       webhook_secret=secret)
        hook = self.webhook_settings(row)
        if attach:
            token = evolution_token or self._token_of(evolution_name)
            self._call(self.evolution.set_webhook, evolution_name, token,
                       hook["url"], hook["headers"], hook["events"],
                       what="set the webhook of %r" % evolution_name)
            state = self._ask_state(evolution_name, token)
        else:
            created = self._call(self.evolution.create_instance,
                                 evolution_name, token=evolution_token,
                                 webhook=hook,
                                 what="create %r" % evolution_name)
            token = created["token"] or evolution_token or ""
            state = created["status"] if created["status"] in STATES \
                else "close"
            if self.embedded:
                # The built-in sandbox has no phone to scan with: its
                # numbers are connected from the start.
                self._scan(evolution_name)
                state = "open"
        try:
            row = Instance.create(
                customer=customer, name=name,
                evolution_instance=evolution_name,
                evolution_token=token or "", webhook_secret=secret,
                connection_state=state)
        except IntegrityError:
            if not attach:
                self._forget(evolution_name, token)
            raise NumberConflict("an instance named %r already exists" % name)
        log.info("instance=%s created (evolution %s, %s)", row.id,
                 "attached" if attach else "created", state)
        return describe(row, webhook_url=hook["url"])

    def _token_of(self, evolution_name):
        record = self._call(self.evolution.fetch_instance, evolution_name,
                            what="look up %r" % evolution_name)
        if record is None:
            raise EvolutionFailed("Evolution has no instance named %r"
                              % evolution_name)
        token = record.get("token")
        if not token:
            raise EvolutionFailed("Evolution did not reveal the token of %r: "
                              "pass --evolution-token" % evolution_name)
        return token

    def _forget(self, evolution_name, token):
        try:
            self.evolution.delete_instance(evolution_name, token)
        except EvolutionError:
            log.warning("could not remove %r from Evolution after a failed "
                        "create", evolution_name)

    # -- connect and state

    def connect_number(self, instance_ref, pairing_phone=None):
        """Start (or continue) a WhatsApp session: the QR code to scan, or
        an 8-character pairing code when ``pairing_phone`` is given."""
        row = self.get(instance_ref)
        digits = None
        if pairing_phone:
            if identity.canonical_phone(str(pairing_phone)) is None:
                raise NumberError("%r is not an international phone number"
                                  % pairing_phone)
            # As the phone's own account has it (an old Brazilian account
            # may lack its ninth digit): not the canonical form.
            digits = re.sub(r"\D", "", str(pairing_phone))
            if digits.startswith("00"):
                digits = digits[2:]
        answer = self._call(self.evolution.connect, row.evolution_instance,
                            row.evolution_token, digits, row=row,
                            what="connect %r" % row.name)
        state = answer["state"] if answer["state"] in STATES else "unknown"
        self._store_state(row, state)
        return {"state": state, "qr_code": answer["code"],
                "qr_image": answer["base64"],
                "pairing_code": answer["pairing_code"]}

    def refresh_state(self, instance_ref):
        """Ask Evolution for the live state, store it and return it."""
        row = self.get(instance_ref)
        state = self._ask_state(row.evolution_instance, row.evolution_token)
        self._store_state(row, state)
        return state

    def refresh_all(self, stop=None):
        """Refresh every instance; returns {name: state}."""
        states = {}
        for row in list(Instance.select().where(
                Instance.connection_state != "deleted")):
            if stop is not None and stop.is_set():
                break
            state = self._ask_state(row.evolution_instance,
                                    row.evolution_token)
            self._store_state(row, state)
            states[row.name] = state
        return states

    def _ask_state(self, evolution_name, token):
        try:
            return self.evolution.connection_state(evolution_name, token)
        except EvolutionError as exc:
            if exc.status == 404:
                return "not_found"
            log.warning("connection state of %r unknown: %s",
                        evolution_name, exc.reason)
            return "unknown"

    def _store_state(self, row, state):
        if row.connection_state != state:
            Instance.update(connection_state=state).where(
                Instance.id == row.id).execute()
            row.connection_state = state

    # -- logout, restart, delete, webhook

    def logout_number(self, instance_ref):
        """Log the number out of WhatsApp (the instance stays)."""
        row = self.get(instance_ref)
        if self._ask_state(row.evolution_instance,
                           row.evolution_token) == "close":
            self._store_state(row, "close")
            return {"name": row.name, "state": "close"}
        self._call(self.evolution.logout, row.evolution_instance,
                   row.evolution_token, row=row, what="log out %r" % row.name)
        self._store_state(row, "close")
        return {"name": row.name, "state": "close"}

    def restart_number(self, instance_ref):
        """Reopen the WhatsApp socket of a connected instance."""
        row = self.get(instance_ref)
        if self._ask_state(row.evolution_instance,
                           row.evolution_token) == "close":
            self._store_state(row, "close")
            raise NumberConflict("%r is not connected: connect it instead "
                              "(instances connect)" % row.name)
        self._call(self.evolution.restart, row.evolution_instance,
                   row.evolution_token, row=row, what="restart %r" % row.name)
        return {"name": row.name, "state": self.refresh_state(row.id)}

    def delete_number(self, instance_ref):
        """Delete the instance in Evolution (logging it out) and here.

        The gateway's row goes too, unless sends, events or a 3CX
        integration refer to it: then it stays, marked ``deleted``, to
        keep that history readable.
        """
        row = self.get(instance_ref)
        try:
            self.evolution.delete_instance(row.evolution_instance,
                                           row.evolution_token)
        except EvolutionError as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise EvolutionFailed("could not delete %r: %s"
                                  % (row.name, exc.detail or exc.reason))
        try:
            with db.atomic():
                # Raw intake logs and status ranks are no history of
                # the customer's: they let go; sends and events keep it.
                store.InboundEvent.update(instance=None).where(
                    store.InboundEvent.instance == row.id).execute()
                store.MessageStatus.delete().where(
                    store.MessageStatus.instance == row.id).execute()
                row.delete_instance()
            removed = True
        except IntegrityError:
            self._store_state(row, "deleted")
            removed = False
        log.info("instance=%s deleted (row %s)", row.id,
                 "removed" if removed else "kept for its history")
        return {"name": row.name, "deleted": True, "removed": removed}

    def sync_webhook(self, instance_ref):
        """(Re)point the instance's Evolution webhook at the gateway."""
        row = self.get(instance_ref)
        hook = self.webhook_settings(row)
        self._call(self.evolution.set_webhook, row.evolution_instance,
                   row.evolution_token, hook["url"], hook["headers"],
                   hook["events"], row=row,
                   what="set the webhook of %r" % row.name)
        return {"name": row.name, "webhook_url": hook["url"],
                "events": list(WEBHOOK_EVENTS)}

    def update_number(self, instance_ref, evolution_name=None,
                      evolution_token=None):
        """Change the Evolution name or token; returns the instance."""
        row = self.get(instance_ref)
        fields = {}
        if evolution_name is not None:
            if not evolution_name.strip():
                raise NumberError("the Evolution name must not be blank")
            fields["evolution_instance"] = evolution_name.strip()
        if evolution_token is not None:
            fields["evolution_token"] = evolution_token
        if fields:
            Instance.update(**fields).where(Instance.id == row.id).execute()
        row = self.get(row.id)
        self.refresh_state(row.id)
        return describe(self.get(row.id))

    def simulate_scan(self, instance_ref, phone=None):
        """Sandbox only: play the phone scanning the QR code (connect
        first); returns the new state."""
        row = self.get(instance_ref)
        self._scan(row.evolution_instance, phone)
        return self.refresh_state(row.id)

    def _scan(self, evolution_name, phone=None):
        base = self.evolution.base_url + "/"
        quoted = quote(evolution_name, safe="")
        try:
            session = self.evolution.session
            headers = {"apikey": self.evolution.api_key}
            if self._ask_state(evolution_name, "") == "close":
                session.get(base + "instance/connect/" + quoted,
                            headers=headers, timeout=self.evolution.timeout)
            response = session.post(
                base + "_sandbox/scan/" + quoted,
                json={"phone": phone} if phone else {}, headers=headers,
                timeout=self.evolution.timeout)
        except Exception as exc:
            raise EvolutionFailed("the sandbox could not scan %r: %s"
                              % (evolution_name, exc))
        if response.status_code != 201:
            raise EvolutionFailed("the sandbox could not scan %r (HTTP %d: is "
                              "this Evolution the sandbox?)"
                              % (evolution_name, response.status_code))

    # -- helpers

    def get(self, instance_ref):
        row = store.find_instance(instance_ref)
        if row is None:
            raise NumberError("no instance %r" % str(instance_ref))
        return row

    def _call(self, method, *args, row=None, what="call Evolution",
              **kwargs):
        try:
            return method(*args, **kwargs)
        except EvolutionError as exc:
            if row is not None and exc.reason == INSTANCE_UNAVAILABLE \
                    and exc.status == 404:
                self._store_state(row, "not_found")
                raise EvolutionFailed(
                    "Evolution has no instance %r: create it again, or "
                    "point %r at another with `instances set`"
                    % (row.evolution_instance, row.name))
            raise EvolutionFailed("could not %s: %s" % (
                what, exc.detail or _reason_text(exc)))


class StateRefresher:
    """A daemon thread asking Evolution for every instance's state.

    Its own thread, so a slow Evolution never holds up webhook delivery.
    The first round runs soon after start (an instance connected before
    the gateway started shows its real state within seconds).
    """

    FIRST_DELAY = 5.0

    def __init__(self, service, interval, claim_round=None):
        self.service = service
        self.interval = float(interval)
        # ``claim_round()`` is True for one process per round: every
        # gunicorn worker (and every host sharing Redis) runs a refresher,
        # and each asking Evolution about every instance would multiply
        # its load (and the gateway's CPU) by the number of processes.
        self.claim_round = claim_round or (lambda: True)
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="state-refresh")
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self):
        delay = min(self.FIRST_DELAY, self.interval)
        while not self._stop.wait(delay):
            delay = self.interval
            try:
                if not self.claim_round():
                    continue  # another process has this round
                with db.connection_context():
                    self.service.refresh_all(stop=self._stop)
            except Exception:
                log.exception("state refresh failed")


def _reason_text(exc):
    if exc.reason == INSTANCE_UNAVAILABLE:
        return "Evolution is not reachable"
    if exc.reason == "upstream_timeout":
        return "Evolution did not answer in time"
    return "Evolution failed (%s)" % exc.reason


def describe(row, **extra):
    """The instance as the CLI and console show it."""
    body = store.instance_to_dict(row)
    body.update(extra)
    return body


def pause_number(instance_ref, reason, by="operator"):
    """Pause sending for review (logged as a WARNING, ``instance.paused``
    emitted); an instance already paused keeps its first reason."""
    row = store.find_instance(instance_ref)
    if row is None:
        raise NumberError("no instance %r" % str(instance_ref))
    if not str(reason or "").strip():
        raise NumberError("a pause needs a reason")
    sending.pause_instance(row.id, str(reason).strip(), by=by)
    row = store.find_instance(row.id)
    return {"id": row.id, "name": row.name, "paused": True,
            "reason": row.paused_reason}


def resume_number(instance_ref, by="operator"):
    """Lift a pause (``instance.resumed`` emitted if it was paused)."""
    row = store.find_instance(instance_ref)
    if row is None:
        raise NumberError("no instance %r" % str(instance_ref))
    sending.resume_instance(row.id, by=by)
    return {"id": row.id, "name": row.name, "paused": False}


# -- the app's service, for code running inside the gateway app

def current_service():
    from flask import current_app
    return current_app.extensions["gateway"]["numbers"]


def create_number(customer_id, name, evolution_name=None, attach=False,
                  evolution_token=None):
    return current_service().create_number(
        customer_id, name, evolution_name=evolution_name, attach=attach,
        evolution_token=evolution_token)


def connect_number(instance_ref, pairing_phone=None):
    return current_service().connect_number(instance_ref, pairing_phone)


def refresh_state(instance_ref):
    return current_service().refresh_state(instance_ref)


def logout_number(instance_ref):
    return current_service().logout_number(instance_ref)


def restart_number(instance_ref):
    return current_service().restart_number(instance_ref)


def delete_number(instance_ref):
    return current_service().delete_number(instance_ref)


def sync_webhook(instance_ref):
    return current_service().sync_webhook(instance_ref)


def update_number(instance_ref, evolution_name=None, evolution_token=None):
    return current_service().update_number(instance_ref, evolution_name,
                                           evolution_token)


def simulate_scan(instance_ref, phone=None):
    return current_service().simulate_scan(instance_ref, phone)
