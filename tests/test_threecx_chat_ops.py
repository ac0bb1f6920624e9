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
    sandbox.state.config["ack_delay_s"] = 0.05
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
    # An agent's reply still goes; its receipts warn of nothing.
    assert pbx.reply(chat.provider_url, chat.key, PHONE, "ok").shown == \
        "sent"
    wait_until(lambda: len(inbound_events("messages.update")) == 3)
    assert len([r for r in caplog.records if "webhook endpoint=%d disabled"
                % chat.endpoint_id in r.getMessage()]) == 1
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


# -- gateway 3cx messaging: set-up mistakes ----------------------------------

def test_send_test_without_a_number_stores_nothing(app, sandbox, run_cli,
                                                   pbx):
    row = create_integration()
    err = run_cli("3cx", "messaging", row.id, "--webhook-url",
                  pbx.webhook_url, "--private-network", "on",
                  "--send-test", PHONE, expect=2)
    assert "--number" in err
    row = load_integration(row.id)
    assert row.messaging_key_hash is None and row.messaging_endpoint_id \
        is None
    # Right the second time: the key is shown then.
    shown = run_cli("3cx", "messaging", row.id, "--webhook-url",
                    pbx.webhook_url, "--private-network", "on", "--number",
                    TRUNK, "--send-test", PHONE)
    assert shown["messaging_key"].startswith("w3cxm_")
    assert [m["payload"]["from"] for m in pbx.wait_for(1)] == [
        {"phone_number": PHONE}]


@pytest.mark.parametrize("phone", ["12", "not a number"])
def test_send_test_from_a_bad_number_stores_nothing(app, sandbox, run_cli,
                                                    pbx, phone):
    row = create_integration()
    err = run_cli("3cx", "messaging", row.id, "--number", TRUNK,
                  "--send-test", phone, expect=2)
    assert "E.164" in err
    assert load_integration(row.id).messaging_key_hash is None


def test_a_send_test_failing_after_a_new_key_still_prints_the_key(
        app, sandbox, base_config, monkeypatch, capsys, pbx):
    """The database refusing the test (busy, say) after ``configure``
    stored a fresh key: the key and settings are printed, then the
    error, and the exit status says it failed."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", base_config["DATABASE_URL"])
    row = create_integration()

    def refuse(*args, **kwargs):
        raise peewee.OperationalError("database is locked")
    monkeypatch.setattr(webhooks, "queue_delivery", refuse)
    capsys.readouterr()
    status = cli.main(["3cx", "messaging", str(row.id), "--webhook-url",
                       pbx.webhook_url, "--private-network", "on",
                       "--number", TRUNK, "--send-test", PHONE])
    out, err = capsys.readouterr()
    assert status == 1
    shown = json.loads(out)
    assert "test_delivery_id" not in shown
    assert threecx.rules.hash_secret(shown["messaging_key"]) == \
        load_integration(row.id).messaging_key_hash
    assert "--send-test failed" in err and "OperationalError" in err


@pytest.mark.parametrize("url, private", [
    ("https://pbx.example.com:99999/sms/generic/abc", False),
    ("https://pbx.example.com:99999/sms/generic/abc", True),
    ("https://user:pw@pbx.example.com/sms/generic/abc", True),
    ("https://no-such-host.invalid/sms/generic/abc", False),
    ("ftp://pbx.example.com/sms/generic/abc", True),
])
def test_a_bad_webhook_url_is_refused_and_not_stored(app, sandbox, run_cli,
                                                     url, private):
    row = create_integration()
    extra = ["--private-network", "on"] if private else []
    err = run_cli("3cx", "messaging", row.id, "--webhook-url", url, *extra,
                  expect=2)
    assert err.startswith("gateway: error: ") and "--webhook-url" in err
    assert "Traceback" not in err
    assert load_integration(row.id).messaging_endpoint_id is None


def test_a_private_webhook_url_names_the_opt_in(app, sandbox, run_cli, pbx):
    row = create_integration()
    err = run_cli("3cx", "messaging", row.id, "--webhook-url",
                  pbx.webhook_url, expect=2)
    assert "non-public" in err and "--private-network on" in err


# -- inbound noise costs no rows ---------------------------------------------

def skipped_count(gateway, reason):
    text = requests.get(gateway.url + "/metrics", timeout=5).text
    found = re.search(r'^gateway_3cx_inbound_skipped_total\{reason="%s"\} '
                      r'(\S+)$' % reason, text, re.M)
    return float(found.group(1)) if found else 0.0


def test_group_messages_write_no_event_rows(serve_app, sandbox, run_cli,
                                            pbx, caplog):
    caplog.set_level(logging.DEBUG, logger="threecx_chat")
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    before = skipped_count(gateway, "group_chat")
    for number in range(3):
        customer_writes(sandbox, "group chatter %d" % number,
                        group="120363000000000001@g.us")
    wait_until(lambda: len(inbound_events("messages.upsert")) == 3)
    assert chat_events(chat.id) == []
    assert skipped_count(gateway, "group_chat") == before + 3
    [line, *_] = [r for r in caplog.records
                  if "not forwarded: group_chat" in r.getMessage()]
    assert line.levelno == logging.DEBUG


def test_messages_without_the_3cx_module_write_no_event_rows(
        serve_app, sandbox, run_cli, pbx):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    before = skipped_count(gateway, "module_not_enabled")
    with store.db.connection_context():
        store.Customer.update(modules="api").where(
            store.Customer.id == chat.account.customer_id).execute()
    customer_writes(sandbox, "hello?")
    wait_until(lambda: len(inbound_events("messages.upsert")) == 1)
    assert chat_events(chat.id) == [] and deliveries(chat.endpoint_id) == []
    assert skipped_count(gateway, "module_not_enabled") == before + 1
