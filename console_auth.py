"""Who may enter the console: operators, their passwords and sessions.

An *operator* is a person with an e-mail and a password.  One without a
customer (``gateway admins create``) sees everything; one with a customer
(``gateway users create --customer ID``) sees and manages only that
customer, and every other customer's page answers 404.

Passwords are hashed with Argon2id (argon2-cffi, memory-hard).  A session
is a random token in Flask's signed session cookie whose SHA-256 is a row
here, so signing out (or deleting the operator) ends it on every worker
and host at once.  The cookie-signing key lives in the database, so all
workers and hosts share it without a setting.  Failed sign-ins are
counted in the app's ``limits`` storage (SQLite per host, Redis across
hosts): too many from one address or for one account answer 429.
"""
import datetime
import hashlib
import logging
import secrets

import argon2
from flask import current_app
from flask import request
from flask import session
from flask.sessions import SecureCookieSessionInterface
from limits import parse as parse_limit
from peewee import BooleanField
from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegrityError
from peewee import TextField

import ratelimit
import threecx_rules
from store import BaseModel
from store import Customer
from store import utcnow

log = logging.getLogger("gateway.console")

SESSION_HOURS = 12
IDLE_MINUTES = 120
# Failed sign-ins tolerated before the 429: per client address, and per
# account (whatever the address, so a botnet cannot guess one password).
FAILURES_PER_ADDRESS = parse_limit("20/15minutes")
FAILURES_PER_ACCOUNT = parse_limit("5/15minutes")
MIN_PASSWORD = 10
_hasher = argon2.PasswordHasher()
# Verified against when the e-mail is unknown: the same work either way,
# so the answer time does not tell which accounts exist.
_DUMMY_HASH = _hasher.hash("not a real password")


class Operator(BaseModel):
    """A console user; ``customer`` None means an operator of everything."""
    email = CharField(unique=True)
    password_hash = CharField()
    customer = ForeignKeyField(Customer, null=True, backref="operators",
                               on_delete="CASCADE")
    time_zone = CharField(default="")
    # May read message text (never of the authentication purpose).
    can_read_messages = BooleanField(default=True)
    disabled = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)

    @property
    def is_admin(self):
        return self.customer_id is None


class ConsoleSession(BaseModel):
    token_hash = CharField(unique=True)
    operator = ForeignKeyField(Operator, backref="sessions",
                               on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()


class ConsoleSecret(BaseModel):
    """The key that signs session cookies and CSRF tokens: one row."""
    name = CharField(unique=True)
    value = TextField()


MODELS = [Operator, ConsoleSession, ConsoleSecret]


class AuthError(ValueError):
    """A bad operator setting, said in one line."""


class TooManyAttempts(Exception):
    def __init__(self, retry_after):
        super().__init__("too many failed sign-ins")
        self.retry_after = retry_after


def normalize_email(email):
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 200 or " " in email:
        raise AuthError("%r is not an e-mail address" % email)
    return email


def hash_password(password):
    if len(password or "") < MIN_PASSWORD:
        raise AuthError("a password needs at least %d characters"
                        % MIN_PASSWORD)
    return _hasher.hash(password)


def create_operator(email, password, customer_id=None, time_zone="",
                    can_read_messages=True):
    """Create an operator (or a customer's user); return the row."""
    email = normalize_email(email)
    if customer_id is not None and Customer.get_or_none(
            Customer.id == customer_id) is None:
        raise AuthError("no customer with id %s" % customer_id)
    try:
        return Operator.create(email=email,
                               password_hash=hash_password(password),
                               customer=customer_id, time_zone=time_zone,
                               can_read_messages=can_read_messages)
    except IntegrityError:
        raise AuthError("an operator %s already exists" % email) from None


def set_password(operator, password):
    Operator.update(password_hash=hash_password(password)).where(
        Operator.id == operator.id).execute()
    # A new password ends every session of the old one.
    ConsoleSession.delete().where(
        ConsoleSession.operator == operator.id).execute()


def secret_key():
    """The cookie-signing key shared by every worker and host."""
    row = ConsoleSecret.get_or_none(ConsoleSecret.name == "session")
    if row is None:
        ConsoleSecret.insert(name="session", value=secrets.token_urlsafe(
            48)).on_conflict_ignore().execute()
        row = ConsoleSecret.get(ConsoleSecret.name == "session")
    return row.value


# -- sign-in ---------------------------------------------------------------

def client_address():
    settings = current_app.extensions["gateway"]["settings"]
    trusted = threecx_rules.parse_networks(",".join(settings.TRUSTED_PROXIES))
    address = threecx_rules.find_client_address(
        request.remote_addr, request.headers.get("X-Forwarded-For"), trusted)
    return str(address) if address is not None else "unknown"


def request_is_tls():
    """The browser reached us over TLS (directly, or via a trusted proxy
    that says so in X-Forwarded-Proto)."""
    if request.is_secure:
        return True
    settings = current_app.extensions["gateway"]["settings"]
    trusted = threecx_rules.parse_networks(",".join(settings.TRUSTED_PROXIES))
    peer = threecx_rules.find_client_address(request.remote_addr, None,
                                             trusted)
    proto = request.headers.get("X-Forwarded-Proto", "")
    return (peer is not None and threecx_rules.is_address_allowed(
        peer, trusted) and bool(trusted)
        and proto.split(",")[0].strip().lower() == "https")


def _limit_keys(email):
    return (("console-login-ip", client_address()),
            ("console-login-account", hashlib.sha256(
                email.encode("utf-8")).hexdigest()[:32]))


def check_login_allowed(email):
    """Raise TooManyAttempts while the address or the account is locked."""
    limiter = current_app.extensions["gateway"]["limiter"]
    for item, key in zip((FAILURES_PER_ADDRESS, FAILURES_PER_ACCOUNT),
                         _limit_keys(email)):
        if not limiter.test(item, *key):
            raise TooManyAttempts(ratelimit.seconds_until_available(
                limiter, item, *key))


def record_failure(email):
    limiter = current_app.extensions["gateway"]["limiter"]
    for item, key in zip((FAILURES_PER_ADDRESS, FAILURES_PER_ACCOUNT),
                         _limit_keys(email)):
        limiter.hit(item, *key)


def authenticate(email, password):
    """The operator whose password this is, or None.

    Raises TooManyAttempts when too many sign-ins failed lately.
    """
    try:
        email = normalize_email(email)
    except AuthError:
        email = (email or "")[:200].strip().lower()
    check_login_allowed(email)
    operator = Operator.get_or_none(Operator.email == email)
    try:
        _hasher.verify(operator.password_hash if operator else _DUMMY_HASH,
                       password or "")
        ok = operator is not None and not operator.disabled
    except argon2.exceptions.VerificationError:
        ok = False
    except argon2.exceptions.InvalidHashError:
        ok = False
    if not ok:
        record_failure(email)
        log.info("console sign-in refused from %s", client_address())
        return None
    if _hasher.check_needs_rehash(operator.password_hash):
        Operator.update(password_hash=_hasher.hash(password)).where(
            Operator.id == operator.id).execute()
    return operator


def start_session(operator):
    """Sign ``operator`` in: a new session row and a fresh cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    ConsoleSession.create(
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        operator=operator.id, created_at=now, last_seen_at=now,
        expires_at=now + datetime.timedelta(hours=SESSION_HOURS))
    Operator.update(last_login_at=now).where(
        Operator.id == operator.id).execute()
    session.clear()  # no value from before sign-in survives (fixation)
    session["sid"] = token
    session.permanent = True


def end_session():
    token = session.get("sid")
    if token:
        ConsoleSession.delete().where(
            ConsoleSession.token_hash == hashlib.sha256(
                token.encode()).hexdigest()).execute()
    session.clear()


def current_operator():
    """The signed-in operator of this request, or None."""
    token = session.get("sid")
    if not isinstance(token, str):
        return None
    now = utcnow()
    row = (ConsoleSession.select(ConsoleSession, Operator)
           .join(Operator)
           .where(ConsoleSession.token_hash == hashlib.sha256(
               token.encode()).hexdigest()).first())
    if row is None or row.operator.disabled or row.expires_at < now or (
            now - row.last_seen_at > datetime.timedelta(
                minutes=IDLE_MINUTES)):
        return None
    if (now - row.last_seen_at).total_seconds() > 60:
        ConsoleSession.update(last_seen_at=now).where(
            ConsoleSession.id == row.id).execute()
    return row.operator


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure when the request came over
    TLS (directly or through a trusted proxy).

    Only the console has a session: every other route (sends, receipts,
    3CX) gets Flask's null session, so it neither verifies a cookie nor
    works out cookie flags on the way out (about 0.1 ms a request).
    """

    def open_session(self, app, request):
        if not request.path.startswith("/console"):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app):
        return request_is_tls()

    def get_cookie_samesite(self, app):
        return "Lax"

    def get_cookie_httponly(self, app):
        return True


def operators_to_dicts(customer_id=None):
    query = Operator.select().order_by(Operator.id)
    if customer_id is not None:
        query = query.where(Operator.customer == customer_id)
    return [{"id": o.id, "email": o.email, "customer_id": o.customer_id,
             "last_login_at": o.last_login_at, "disabled": o.disabled}
            for o in query]
