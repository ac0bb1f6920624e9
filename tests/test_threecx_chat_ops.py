"""Operating 3CX two-way chat: 3CX refusing webhooks, the console,
``gateway 3cx messaging`` set-up mistakes and what inbound noise costs.

Same real parts as ``test_threecx_chat.py`` (whose 3CX stand-in and
helpers this reuses): a served gateway, the Evolution sandbox, the PBX
stand-in on 127.0.0.1.
"""
import json
import logging
import re

import peewee
import pytest
import requests

import cli
import console_auth
import store
import threecx
import threecx_chat_setup
import webhooks
from conftest import PHONE
from conftest import create_account
from conftest import wait_until
from test_console import PASSWORD
from test_console import Browser
from test_threecx_chat import TRUNK
from test_threecx_chat import chat_events
from test_threecx_chat import customer_writes
from test_threecx_chat import deliveries
from test_threecx_chat import inbound_events
from test_threecx_chat import pbx  # noqa: F401 (fixture)
from test_threecx_chat import run_cli  # noqa: F401 (fixture)
from test_threecx_chat import serve_app  # noqa: F401 (fixture)
from test_threecx_chat import set_up
from test_webhooks import hooked  # noqa: F401 (fixture)
from test_webhooks import send_body

FAST_RETRIES = "0.1,0.1,0.1,0.1"


def logged(caplog):
    """The gateway's own log lines (werkzeug's are the test servers')."""
    return "\n".join(r.getMessage() for r in caplog.records
                     if r.name != "werkzeug")


def create_integration(account=None):
    account = account or create_account()
    with store.db.connection_context():
        row, _ = threecx.create_integration(account.customer_id,
                                            account.instance_name)
    return row


def load_integration(integration_id):
    with store.db.connection_context():
        return threecx.ThreeCxIntegration.get_by_id(integration_id)


# -- 3CX refusing a webhook (3cx-sms-provider.md 3.1) ------------------------

@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_a_4xx_from_3cx_is_dead_at_once_and_replayable(
        serve_app, sandbox, run_cli, pbx, caplog, code):
    caplog.set_level(logging.INFO)
    gateway = serve_app(WEBHOOK_RETRY_SCHEDULE=FAST_RETRIES)
    chat = set_up(gateway, sandbox, run_cli, pbx)
    pbx.down = code
    customer_writes(sandbox, "hello")
    [dead] = wait_until(lambda: [d for d in deliveries(chat.endpoint_id)
                                 if d.status == "dead"], timeout=20)
    assert dead.attempts == 1
    assert (dead.last_status_code, dead.last_error) == (
        code, "3CX refused with HTTP %d: check the Webhook URL / key" % code)
    [line] = [r for r in caplog.records if "not retried" in r.getMessage()]
    assert line.levelno == logging.WARNING
    assert pbx.token not in logged(caplog) and "hello" not in logged(caplog)
    pbx.down = None
    assert run_cli("deliveries", "replay", dead.id) == {"replayed": 1}
    assert [m["payload"]["text"] for m in pbx.wait_for(1)] == ["hello"]


@pytest.mark.parametrize("code", [408, 429])
def test_408_and_429_from_3cx_are_retried(serve_app, sandbox, run_cli, pbx,
                                          code):
    gateway = serve_app(WEBHOOK_RETRY_SCHEDULE=FAST_RETRIES)
    chat = set_up(gateway, sandbox, run_cli, pbx)
    pbx.down = code
    customer_writes(sandbox, "hello")
    wait_until(lambda: deliveries(chat.endpoint_id) and
               deliveries(chat.endpoint_id)[0].attempts >= 2, timeout=20)
    pbx.down = None
    assert [m["payload"]["text"] for m in pbx.wait_for(1)] == ["hello"]


def test_a_customer_endpoint_still_retries_a_4xx(client, hooked, receiver):
    """Only 3CX's endpoints give up on a 4xx: a customer's keeps the
    retry schedule (its receiver may be mid-deploy)."""
    receiver.script = [(404, {})]
    response = client.post("/api/send-message", json=send_body(),
                           headers=hooked.headers)
    assert response.status_code == 200, response.get_json()
    receiver.wait_for(lambda r: len(r.received) >= 2)


def test_after_410_nothing_is_forwarded_and_the_state_shows(
        serve_app, sandbox, run_cli, pbx, caplog):
    caplog.set_level(logging.INFO)
    gateway = serve_app(WEBHOOK_RETRY_SCHEDULE=FAST_RETRIES)
    chat = set_up(gateway, sandbox, run_cli, pbx)
    pbx.down = 410
    customer_writes(sandbox, "one")
    wait_until(lambda: [d.status for d in deliveries(chat.endpoint_id)]
               == ["dead"])
    pbx.down = None
    customer_writes(sandbox, "two")
    wait_until(lambda: len(inbound_events("messages.upsert")) == 2)
    assert len(deliveries(chat.endpoint_id)) == 1
    assert [e["action"] for e in chat_events(chat.id)] == ["forwarded"]
    [line] = [r for r in caplog.records
              if "webhook endpoint=%d disabled" % chat.endpoint_id
              in r.getMessage()]
    assert line.levelno == logging.WARNING and "410 Gone" in line.msg % (
        line.args)
    assert pbx.token not in logged(caplog) and "two" not in logged(caplog)
    problem = "webhook endpoint disabled: 410 Gone"
    shown = run_cli("3cx", "messaging", chat.id)
    assert shown["webhook_problem"] == problem
    assert any(problem in note for note in shown["notes"])
    [listed] = run_cli("3cx", "list")
    assert listed["messaging"]["webhook_problem"] == problem
    # Setting the Webhook URL again brings it back.
    again = run_cli("3cx", "messaging", chat.id, "--webhook-url",
                    pbx.webhook_url)
    assert again["webhook_problem"] is None
    customer_writes(sandbox, "three")
    assert [m["payload"]["text"] for m in pbx.wait_for(1)] == ["three"]


# -- the console never shows the token ---------------------------------------

TOKEN = "155e0123456789abcdef0123456789ab"


@pytest.fixture
def console_chat(app, sandbox):
    account = create_account()
    with store.db.connection_context():
        console_auth.create_operator("admin@example.com", PASSWORD)
        console_auth.create_operator("user@acme.example", PASSWORD,
                                     customer_id=account.customer_id)
        row, _ = threecx.create_integration(account.customer_id,
                                            account.instance_name)
        row, _ = threecx_chat_setup.configure(
            row, app.extensions["gateway"]["settings"], number=TRUNK,
            webhook_url="https://pbx.example.com/sms/generic/" + TOKEN,
            private_network=True)
        threecx_chat_setup.send_test(row, PHONE)
        delivery = store.Delivery.get()
    return row, delivery


@pytest.mark.parametrize("who", ["admin@example.com", "user@acme.example"])
def test_the_console_masks_the_3cx_webhook_and_refuses_its_test_and_rotate(
        app, console_chat, who):
    row, delivery = console_chat
    browser = Browser(app)
    assert browser.login(who).status_code == 302
    listing = browser.get("/console/webhooks").get_data(True)
    detail = browser.get("/console/webhooks/deliveries/%d"
                         % delivery.id).get_data(True)
    for page in (listing, detail):
        assert TOKEN not in page
        assert "https://pbx.example.com/sms/generic/155e…" in page
    test_url = "/console/webhooks/%d/test" % row.messaging_endpoint_id
    rotate_url = "/console/webhooks/%d/rotate" % row.messaging_endpoint_id
    assert test_url not in listing and rotate_url not in listing
    with store.db.connection_context():
        secret = store.WebhookEndpoint.get_by_id(
            row.messaging_endpoint_id).secret
        count = store.Delivery.select().count()
    for url in (test_url, rotate_url):
        response = browser.post(url)
        assert response.status_code == 400
        assert "gateway 3cx messaging" in response.get_data(True)
    with store.db.connection_context():
        assert store.WebhookEndpoint.get_by_id(
            row.messaging_endpoint_id).secret == secret
        assert store.Delivery.select().count() == count


def test_the_console_shows_a_disabled_3cx_webhook(app, console_chat):
    row, _ = console_chat
    with store.db.connection_context():
        store.WebhookEndpoint.update(
            enabled=False, disabled_reason="410 Gone").where(
            store.WebhookEndpoint.id == row.messaging_endpoint_id).execute()
    browser = Browser(app)
    browser.login("user@acme.example")
    page = browser.get("/console/3cx/%d" % row.id).get_data(True)
    assert "webhook endpoint disabled: 410 Gone" in page
