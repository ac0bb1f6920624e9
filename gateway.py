"""WhatsApp Gateway: the application factory and the HTTP routes.

``create_app(config=None)`` builds a new Flask app from the ``GATEWAY_*``
environment (plus ``config`` overrides, which tests use); gunicorn runs
``gateway:create_app()``.  The admin CLI lives in ``cli.py`` and is
reached through ``main``.
"""
import datetime
import json
import logging
import os
import time

import requests
from flask import Flask
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from limits import RateLimitItemPerSecond
from peewee import DataError
from peewee import IntegrityError
from peewee import OperationalError
from werkzeug.exceptions import HTTPException

import console
import content_policy
import delivery_process
import intake
import observability
import policy
import ratelimit
import sandbox
import sending
import store
import threecx
import threecx_chat
import webhooks
import whatsapp_numbers
from config import load_settings
from errors import ApiError
from errors import read_body_within
from evolution_client import EvolutionClient
from schema import load_or_raise
from schema import parse_json
from schema.send_message import send_message_schema
from sending import GuardedSender
from sending import Throttles
from store import ApiKey
from store import IdempotencyRecord
from store import db
from store import hash_api_key
from store import utcnow

log = logging.getLogger("gateway")

HERE = os.path.dirname(os.path.abspath(__file__))
OPENAPI_PATH = os.path.join(HERE, "openapi.json")
SANDBOX_URL = "http://evolution.sandbox"
MAX_BODY_BYTES = 1024 * 1024
# Touching last_used_at on every request would make every send pay for
# one more write; a minute's precision is plenty for an admin listing.
LAST_USED_PRECISION = 60
REPLAY_HEADER = "Idempotent-Replayed"
# A repeat of a request still in flight waits this long for its answer
# (most sends take well under a second), then gets a 409 and Retry-After.
IN_FLIGHT_WAIT = 2.0
IN_FLIGHT_RETRY_AFTER = 2

_HTTP_CODES = {
    404: ("not_found", "No such route."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "This endpoint requires "
          "application/json."),
}


def create_app(config=None):
    """Build the gateway app; ``config`` overrides ``GATEWAY_*`` values."""
    settings = load_settings(overrides=config)
    logging.getLogger().setLevel(settings.LOG_LEVEL)
    app = Flask(__name__)
    # No automatic OPTIONS (an empty text/html 200): a server-to-server
    # API has no CORS preflight to answer, and every answer is JSON, so
    # OPTIONS is a 405 like any other method a route does not take.
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
                      PROVIDE_AUTOMATIC_OPTIONS=False)
    app.json.sort_keys = False
    db_path = store.init_db(settings.DATABASE_URL,
                            pool_size=settings.DATABASE_POOL_SIZE,
                            secret_key=settings.SECRET_KEY,
                            serving=True)
    sandbox_state = None if settings.EVOLUTION_URL else \
        build_embedded_sandbox()
    evolution = build_evolution_client(settings, sandbox_state)
    storage_uri = settings.RATELIMIT_STORAGE_URI or (
        "sqlite:///" + os.path.join(os.path.dirname(db_path or "./"),
                                    "ratelimit.db"))
    if storage_uri.startswith("sqlite:///"):
        store.secure_file(os.path.abspath(storage_uri[len("sqlite:///"):]))
    if db_path is None and not storage_uri.startswith(("redis", "rediss")):
        log.warning("PostgreSQL database but throttles are counted per "
                    "host: set GATEWAY_RATELIMIT_STORAGE_URI=redis://... "
                    "to share them between hosts")
    limiter = ratelimit.create_limiter(storage_uri)
    rules = content_policy.load_policy(settings.CONTENT_RULES_PATH or None,
                                       settings.CONTENT_MODEL_PATH or None)
    sender = GuardedSender(settings, evolution,
                           Throttles(limiter, settings,
                                     ratelimit.seconds_until_available),
                           rules, emit=webhooks.emit_for_send)
    if sandbox_state is not None:
        sandbox_state.config["deliver"] = make_embedded_delivery(sender)
    dispatcher = None
    # Under gunicorn the delivery process posts (delivery_process.py);
    # this worker only wakes it.
    delivery_dir = delivery_process.directory() \
        if settings.WEBHOOK_DISPATCH else None
    if settings.WEBHOOK_DISPATCH and not delivery_dir:
        dispatcher = webhooks.Dispatcher(
            timeout=settings.WEBHOOK_TIMEOUT,
            pool_size=settings.WEBHOOK_POOL_SIZE,
            per_endpoint=settings.WEBHOOK_ENDPOINT_CONCURRENCY,
            schedule=settings.WEBHOOK_RETRY_SCHEDULE,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
            housekeeping=make_housekeeping(settings)).start()
    numbers = whatsapp_numbers.NumberService(settings, evolution)
    refresher = None
    if settings.WEBHOOK_DISPATCH and settings.STATE_REFRESH_SECONDS:
        refresher = whatsapp_numbers.StateRefresher(
            numbers, settings.STATE_REFRESH_SECONDS,
            claim_round=make_round_claim(
                limiter, "state-refresh",
                settings.STATE_REFRESH_SECONDS)).start()
    app.extensions["gateway"] = {
        "settings": settings, "evolution": evolution, "sender": sender,
        "limiter": limiter, "db_path": db_path, "dispatcher": dispatcher,
        "delivery_dir": delivery_dir,
        "sandbox": sandbox_state, "numbers": numbers,
        "refresher": refresher,
    }
    register_hooks(app)
    register_routes(app)
    app.register_blueprint(threecx.bp)
    app.register_blueprint(threecx_chat.bp)
    app.register_blueprint(intake.bp)
    app.register_blueprint(observability.bp)
    observability.setup()
    console.init_app(app)
    return app


def build_embedded_sandbox():
    """The in-process Evolution sandbox of the zero-config default."""
    return sandbox.SandboxState(auto_create=True, config={
        "default_webhook": {"url": SANDBOX_URL + "/gateway-intake",
                            "events": []},
        # Its receipts go through this process's intake: sends wait for
        # room rather than queueing events faster than they are taken.
        "webhook_backlog": 256})


def build_evolution_client(settings, sandbox_state=None):
    """A client for the configured Evolution, or the in-process sandbox."""
    timeout = (settings.EVOLUTION_CONNECT_TIMEOUT, settings.EVOLUTION_TIMEOUT)
    if sandbox_state is None:
        return EvolutionClient(settings.EVOLUTION_URL,
                               settings.EVOLUTION_API_KEY, timeout,
                               link_preview=settings.EVOLUTION_LINK_PREVIEW)
    # The sandbox answers inside this process through a transport adapter:
    # no socket, no second server, and a sync worker never waits on
    # itself (calling its own port over HTTP would deadlock under load).
    session = requests.Session()
    session.mount(SANDBOX_URL, sandbox.WSGIAdapter(
        sandbox.create_sandbox_app(sandbox_state)))
    return EvolutionClient(SANDBOX_URL, sandbox_state.api_key, timeout,
                           session,
                           link_preview=settings.EVOLUTION_LINK_PREVIEW)


def make_embedded_delivery(sender):
    """Hand the embedded sandbox's webhooks straight to the intake.

    The sandbox lives in this process, so its events skip HTTP and the
    intake's authentication; everything after that is the real path.
    """
    def deliver(url, headers, body):
        try:
            name = json.loads(body).get("instance")
        except (ValueError, AttributeError):
            return 400
        with db.connection_context():
            instance = store.Instance.select().where(
                store.Instance.evolution_instance == name).first()
            if instance is None:
                return 404
            intake.accept_evolution_event(instance, body, sender)
        return 200
    return deliver


def make_round_claim(limiter, name, interval):
    """A claim that one process wins per ``interval``: a hit on a
    one-per-window limit in the throttle store, which every worker of a
    host (and, with Redis, every host) shares.  The window is a little
    shorter than the interval, so the last round's winner, waking a
    moment early, is not refused by its own hit."""
    item = RateLimitItemPerSecond(1, max(1, int(interval * 0.9)))

    def claim():
        try:
            return limiter.hit(item, "round", name)
        except Exception:
            # An unavailable store must not stop the refresh: each
            # process then does its own round, as before.
            return True
    return claim


def make_housekeeping(settings):
    """Once a minute: unstick sends, prune what no promise needs, blank
    message texts past their retention."""
    def housekeeping():
        # A send pending longer than any Evolution call can take belongs
        # to a worker that died: its outcome is unknown, not "sending".
        sending.recover_pending(settings.EVOLUTION_TIMEOUT + 60)
        store.prune(idempotency_hours=settings.IDEMPOTENCY_TTL_HOURS)
        store.purge_message_texts(settings.MESSAGE_TEXT_RETENTION_DAYS)
    return housekeeping


def register_hooks(app):
    @app.before_request
    def _connect_db():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close_db(exc):
        if not db.is_closed():
            db.close()

    @app.errorhandler(ApiError)
    def _api_error(error):
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        code, message = _HTTP_CODES.get(exc.code, ("http_error",
                                                   exc.description))
        # A 405 says which methods the route takes (RFC 9110).
        allow = {k: v for k, v in exc.get_headers() if k == "Allow"}
        return error_response(ApiError(exc.code, code, message,
                                       headers=allow))

    @app.errorhandler(DataError)
    def _unstorable(exc):
        # A value no column can take (PostgreSQL: a NUL in text, an
        # integer out of range): the client's data, not a server fault.
        log.warning("unstorable value on %s %s", request.method,
                    request.path)
        return error_response(ApiError(422, "validation_error",
                                       "A value in the request cannot be "
                                       "stored."))

    @app.errorhandler(OperationalError)
    def _database_busy(exc):
        # The database is locked past its busy timeout (or unreachable):
        # retryable, and nothing was sent (a send's outcome is written
        # with its own retries once Evolution has it).  503 says "retry";
        # the code stays one of the contract's (a client may hold the
        # error codes as a closed set).
        log.warning("database unavailable on %s %s (%s)", request.method,
                    request.path, type(exc).__name__)
        return error_response(ApiError(
            503, "internal_error", "The database is busy; retry shortly.",
            headers={"Retry-After": "5"}))

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error on %s %s", request.method,
                      request.path)
        return error_response(ApiError(500, "internal_error",
                                       "Unexpected server error."))


def error_response(error):
    response = jsonify(error.to_dict())
    response.status_code = error.status
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def register_routes(app):
    with open(OPENAPI_PATH, "rb") as handle:
        openapi_body = handle.read()

    @app.get("/openapi.json")
    def openapi():
        """The public contract."""
        return Response(openapi_body, mimetype="application/json")

    @app.post("/api/send-message")
    def send_message():
        """Send one guarded WhatsApp message."""
        customer = authenticate()
        body = read_json_body()
        data = load_or_raise(send_message_schema, body)
        policy.check_body_limits(data["message"],
                                 settings().MAX_MESSAGE_CHARS)
        if request.args.get("dry_run", "").lower() in ("1", "true", "yes"):
            return run_send(customer, data, dry_run=True)
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return run_send(customer, data)
        return run_idempotent(customer, key, body, data)


def settings():
    return app_state()["settings"]


def app_state():
    return current_app.extensions["gateway"]


def authenticate():
    """The customer of the request's bearer API key, or a 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key.startswith(
            store.API_KEY_PREFIX) or len(key) > 200:
        raise ApiError(401, "invalid_api_key",
                       "A valid API key is required: send "
                       "Authorization: Bearer <key>.")
    # Looked up by its SHA-256: the key itself is never compared, so its
    # bytes leak nothing through timing.
    now = utcnow()
    customer = store.customer_for_key(hash_api_key(key), now - datetime
                                      .timedelta(seconds=LAST_USED_PRECISION))
    if customer is None:
        raise ApiError(401, "invalid_api_key", "The API key is not valid.")
    if customer.key_revoked:
        raise ApiError(401, "revoked_api_key",
                       "This API key has been revoked.")
    if customer.key_stale:
        ApiKey.update(last_used_at=now).where(
            ApiKey.id == customer.key_id).execute()
    return customer


def read_json_body():
    """The request's JSON body: 415 if not JSON, 400 if unparsable."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type",
                       "This endpoint requires application/json.")
    return parse_json(read_body_within(
        MAX_BODY_BYTES, "The request body is larger than 1 MiB."))


def run_send(customer, data, dry_run=False):
    outcome = app_state()["sender"].send(
        customer, data["instance_id"], data["phone"], data["message"],
        data["message_purpose"], dry_run=dry_run)
    response = jsonify(outcome.to_dict())
    response.headers.update(outcome.headers)
    return response


def run_idempotent(customer, key, body, data):
    """Send at most once per ``Idempotency-Key`` (Stripe / IETF draft).

    The first request claims the key with a unique insert; a repeat with
    the same body gets the stored answer, a repeat with another body a
    422, and a repeat while the first is still running waits for it a
    short while (``IN_FLIGHT_WAIT``), then gets a 409 with Retry-After.
    """
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ApiError(422, "validation_error",
                       "Idempotency-Key must be 1 to 255 printable "
                       "characters.", {"header": "Idempotency-Key"})
    fingerprint = policy.fingerprint_request(body)
    claimed = claim_idempotency_key(customer, key, fingerprint)
    if claimed is not True:
        return replay(claimed)
    try:
        response = run_send(customer, data)
    except ApiError as error:
        response = error_response(error)
    except Exception:
        # Unknown state: keep the claim so a retry cannot send twice.
        store_idempotent_answer(customer, key, error_response(
            ApiError(500, "internal_error", "Unexpected server error.")))
        raise
    if response.status_code in (429, 503):
        # Throttles and quotas pass, and so does an unavailable throttle
        # store (nothing was sent); a retry with the same key should be
        # able to go through then, so nothing is stored.
        IdempotencyRecord.delete().where(
            (IdempotencyRecord.customer == customer.id)
            & (IdempotencyRecord.key == key)).execute()
    else:
        store_idempotent_answer(customer, key, response)
    return response


def claim_idempotency_key(customer, key, fingerprint):
    """Return True when this request owns ``key``, else the stored row."""
    ttl = settings().IDEMPOTENCY_TTL_HOURS * 3600
    # The longest a first request can take: a version probe and the send,
    # each at most connect + read timeout, plus a busy database.
    abandoned_after = 2 * (settings().EVOLUTION_CONNECT_TIMEOUT
                           + settings().EVOLUTION_TIMEOUT) + \
        store.BUSY_TIMEOUT + 5
    wait_until = time.monotonic() + IN_FLIGHT_WAIT
    while True:
        try:
            with db.atomic():
                IdempotencyRecord.create(customer=customer.id, key=key,
                                         fingerprint=fingerprint)
            return True
        except IntegrityError:
            pass
        row = IdempotencyRecord.get_or_none(
            (IdempotencyRecord.customer == customer.id)
            & (IdempotencyRecord.key == key))
        if row is None:
            continue  # deleted in between (a 429 or an expiry); claim again
        age = (utcnow() - row.created_at).total_seconds()
        if age > ttl:
            row.delete_instance()
            continue
        if row.fingerprint != fingerprint:
            raise ApiError(422, "validation_error",
                           "This Idempotency-Key was used with a different "
                           "request body.", {"header": "Idempotency-Key"})
        if row.status_code is not None:
            return row
        if age <= abandoned_after and time.monotonic() > wait_until:
            # Still running: holding this thread until it ends would let
            # a client retrying a slow send starve everyone else.
            raise ApiError(409, "idempotency_key_in_use",
                           "A request with this Idempotency-Key is still "
                           "being processed; retry shortly.",
                           {"header": "Idempotency-Key",
                            "retry_after": IN_FLIGHT_RETRY_AFTER},
                           {"Retry-After": str(IN_FLIGHT_RETRY_AFTER)})
        if age > abandoned_after:
            # The first request died mid-send: whether it went out is
            # unknown, so the only safe answer is not to send again.
            raise ApiError(502, "gateway_send_failed",
                           "An earlier request with this Idempotency-Key "
                           "did not finish; its outcome is unknown.",
                           {"reason": "upstream_error",
                            "outcome": "unknown"})
        time.sleep(0.05)


REPLAYED_HEADERS = ("RateLimit-Policy", "RateLimit", "Retry-After")


def store_idempotent_answer(customer, key, response):
    headers = {name: response.headers[name] for name in REPLAYED_HEADERS
               if name in response.headers}
    (IdempotencyRecord.update(status_code=response.status_code,
                              body=response.get_data(as_text=True),
                              headers=json.dumps(headers))
     .where((IdempotencyRecord.customer == customer.id)
            & (IdempotencyRecord.key == key)).execute())


def replay(row):
    response = Response(row.body, status=row.status_code,
                        mimetype="application/json")
    response.headers.update(json.loads(row.headers or "{}"))
    response.headers[REPLAY_HEADER] = "true"
    return response


def main(argv=None):
    """Entry point of the ``gateway`` command."""
    import cli
    return cli.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
