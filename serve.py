"""``gateway serve``: gunicorn around ``create_app()``, plus first-start demo.

Each worker builds its own app (no preload), so SQLite connections and
the embedded sandbox are never shared across a fork.
"""
import datetime
import logging

import os

from gunicorn.app.base import Application

import sending
import store
from cli import DEMO_INSTANCE
from cli import DEMO_PHONE
from store import Customer
from store import Instance
from store import db

log = logging.getLogger("gateway")

# The same settings file as the Procfile's ``gunicorn -c gunicorn.conf.py``.
CONFIG_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "gunicorn.conf.py")


class GatewayApplication(Application):
    """Runs ``gateway:create_app()``: gunicorn.conf.py, then ``options``
    (what the command line gave) over it."""

    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        self.load_config_from_file(CONFIG_FILE)
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from gateway import create_app
        return create_app()


def seed_demo():
    """Create the demo customer, instance and key once; return the key."""
    with db.atomic("IMMEDIATE"):
        store.lock("seed-demo")  # hosts starting together seed once
        if Customer.select().exists():
            return None
        customer = Customer.create(
            name="Demo Customer", daily_limit=1000, monthly_limit=20000,
            modules="api,3cx",
            plan_active_until=datetime.date.today()
            + datetime.timedelta(days=365))
        Instance.create(customer=customer, name=DEMO_INSTANCE,
                        evolution_instance=DEMO_INSTANCE,
                        connection_state="open")
        _, key = store.create_api_key(customer)
    return key


def print_demo(key, host, port):
    url = "http://%s:%d" % ("127.0.0.1" if host in ("0.0.0.0", "::")
                            else host, port)
    body = ('{"instance_id": "%s", "phone": "%s", "message": "Your order '
            '#2041 has been shipped.", "message_purpose": "transactional"}'
            % (DEMO_INSTANCE, DEMO_PHONE))
    print("\nWhatsApp Gateway demo account (built-in Evolution sandbox)\n"
          "  customer id: 1   instance: %s\n"
          "  API key (shown once, stored only as a hash): %s\n\n"
          "Send a message:\n"
          "  curl -sS -X POST %s/api/send-message \\\n"
          "    -H 'Authorization: Bearer %s' \\\n"
          "    -H 'Content-Type: application/json' \\\n"
          "    -d '%s'\n" % (DEMO_INSTANCE, key, url, key, body),
          flush=True)


def resolve_bind(host, port):
    """``host:port`` from the command line, else GATEWAY_BIND's first
    address, else 127.0.0.1:8000; returns (bind or None, host, port)."""
    if host is None and port is None:
        configured = os.environ.get("GATEWAY_BIND", "").split(",")[0]
        if configured and configured.rpartition(":")[2].isdigit():
            left, _, right = configured.rpartition(":")
            return None, left.strip("[]"), int(right)
        if not configured and not os.environ.get("PORT"):
            return None, "127.0.0.1", 8000
        if not configured:
            return None, "0.0.0.0", int(os.environ["PORT"])
        return None, "127.0.0.1", 8000
    host = host or "127.0.0.1"
    port = port or 8000
    return "%s:%d" % (host, port), host, port


def run(settings, host, port, workers, threads):
    """Prepare the database, then serve until stopped."""
    bind, host, port = resolve_bind(host, port)
    logging.basicConfig(level=settings.LOG_LEVEL,
                        format="%(asctime)s %(levelname)s %(name)s "
                               "%(message)s")
    store.init_db(settings.DATABASE_URL, secret_key=settings.SECRET_KEY)
    log.info("database %s", store.describe_database(settings.DATABASE_URL))
    with db.connection_context():
        # Rows left pending by a worker that died mid-send: their outcome
        # is unknown, never "still sending".  On PostgreSQL other hosts
        # may be sending right now, so only rows older than any send can
        # take are theirs to settle.
        sending.recover_pending(
            older_than=0 if store.engine() == "sqlite"
            else settings.EVOLUTION_TIMEOUT + 60)
        if settings.DEMO and not settings.EVOLUTION_URL:
            key = seed_demo()
            if key:
                print_demo(key, host, port)
            else:
                print("Demo data exists; create a new key with: "
                      "gateway keys create 1", flush=True)
    # SQLite connections must not cross the fork into the workers.
    store.close_pool()
    options = {"bind": [bind]} if bind else {}
    if workers:
        options["workers"] = workers
    if threads:
        options["threads"] = threads
    GatewayApplication(options).run()
