"""Secrets at rest: sealed with Fernet under ``GATEWAY_SECRET_KEY``.

The gateway must *use* some secrets, not only check them, so it cannot
keep just a hash: webhook signing secrets, Evolution webhook (intake)
secrets, 3CX HMAC secrets and Evolution instance tokens.  Those columns
are ``SecretField``s: written sealed (``gwenc1:`` + a Fernet token,
AES-128-CBC + HMAC-SHA256 from ``cryptography``), read back in clear.  A
copy of the database alone is then not enough to send past the guards.

The key comes from ``GATEWAY_SECRET_KEY``: one or more Fernet keys,
comma-separated, newest first (``MultiFernet``: a new key seals, every
listed key opens, ``gateway secrets rotate`` reseals with the newest).
When unset and the database is a SQLite file, a key is generated on
first start and kept beside the database in ``secret.key`` (mode 0600),
so back it up with the database but store the copies apart.  PostgreSQL
shared by several hosts needs the same key set on every host: it is
required there.
"""
import functools
import os

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet
from peewee import CharField

PREFIX = "gwenc1:"
KEY_FILE = "secret.key"

_box = None


class SecretKeyError(RuntimeError):
    """The key is missing, malformed, or not the one secrets were sealed
    with; said in one line."""


def generate_key():
    """A new random key, as ``GATEWAY_SECRET_KEY`` takes it."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(raw):
    """A ``MultiFernet`` over the comma-separated keys of ``raw``."""
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        raise SecretKeyError("GATEWAY_SECRET_KEY is empty")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError):
        raise SecretKeyError(
            "GATEWAY_SECRET_KEY must be Fernet keys (32 url-safe base64 "
            "bytes each, comma-separated); make one with `gateway secrets "
            "generate-key`") from None


def key_file_path(db_path):
    return os.path.join(os.path.dirname(os.path.abspath(db_path)), KEY_FILE)


def load_key(setting, db_path=None):
    """The keys to use: the setting, else the file beside ``db_path``.

    Without a setting and a SQLite path (``db_path`` None: a server
    database) this is an error.  The file is created once, atomically
    and 0600, so workers starting together all end up with one key.
    """
    if setting:
        return setting
    if db_path is None:
        raise SecretKeyError(
            "GATEWAY_SECRET_KEY is required with a database server: set "
            "the same key on every host (`gateway secrets generate-key`)")
    path = key_file_path(db_path)
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(generate_key() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temp, path)  # fails if another process was first
    except FileExistsError:
        pass
    finally:
        os.unlink(temp)
    with open(path, encoding="ascii") as handle:
        return handle.read().strip()


def configure(raw_keys):
    """Use ``raw_keys`` (see ``parse_keys``) from now on."""
    global _box
    _box = parse_keys(raw_keys)
    reveal.cache_clear()


def _require_box():
    if _box is None:
        raise SecretKeyError("no secret key loaded (store.init_db loads it)")
    return _box


def is_sealed(value):
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(value):
    """The stored form of ``value``: sealed, or as is when empty."""
    if not value or is_sealed(value):
        return value
    token = _require_box().encrypt(value.encode("utf-8"))
    return PREFIX + token.decode("ascii")


@functools.lru_cache(maxsize=4096)
def reveal(value):
    """The clear text of a stored value (unsealed values pass through,
    as rows written before sealing existed do until migrated)."""
    if not is_sealed(value):
        return value
    try:
        return _require_box().decrypt(
            value[len(PREFIX):].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretKeyError(
            "a stored secret cannot be opened with the configured "
            "GATEWAY_SECRET_KEY (or the secret.key beside the database): "
            "it was sealed with another key") from None


def reseal(value):
    """``value`` sealed again under the newest key (for rotation)."""
    if not is_sealed(value):
        return seal(value)
    token = _require_box().rotate(value[len(PREFIX):].encode("ascii"))
    return PREFIX + token.decode("ascii")


class SecretField(CharField):
    """A text column stored sealed; reads give the clear text."""

    def db_value(self, value):
        return super().db_value(seal(value) if isinstance(value, str)
                                else value)

    def python_value(self, value):
        return reveal(value) if isinstance(value, str) else value
