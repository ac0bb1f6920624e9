"""whatsapp_numbers + evolution_client: a number's life against the sandbox.

The sandbox runs as a real HTTP server on 127.0.0.1 (conftest ``sandbox``);
the gateway app talks to it with its real client.
"""
import time

import pytest
import requests

import store
import whatsapp_numbers
from conftest import EVOLUTION_INSTANCE
from conftest import EVOLUTION_TOKEN
from conftest import create_account
from conftest import send_body
from whatsapp_numbers import NumberError

PUBLIC_URL = "https://gateway.example.com"


@pytest.fixture
def app(make_app):
    return make_app(PUBLIC_URL=PUBLIC_URL)


@pytest.fixture
def numbers(app):
    # peewee connects on demand; test-client requests close it again.
    with app.app_context():
        yield app.extensions["gateway"]["numbers"]


@pytest.fixture
def customer_id(app):
    with store.db.connection_context():
        return store.Customer.create(name="Clinic").id


def scan(sandbox, name, phone="5511987650000"):
    response = requests.post(
        "%s/_sandbox/scan/%s" % (sandbox.url, name), json={"phone": phone},
        headers={"apikey": sandbox.state.api_key}, timeout=5)
    assert response.status_code == 201, response.text


def test_create_number_creates_and_wires_the_instance(numbers, customer_id,
                                                      sandbox):
    made = numbers.create_number(customer_id, "front-desk")
    assert made["name"] == "front-desk"
    assert made["evolution_instance"] == "front-desk"
    assert made["connection_state"] == "close"
    assert made["webhook_url"] == (
        PUBLIC_URL + "/webhooks/evolution/front-desk")
    remote = sandbox.state.get_instance("front-desk")
    assert remote["state"] == "close"
    row = store.Instance.get(store.Instance.name == "front-desk")
    assert row.evolution_token == remote["token"]
    hook = remote["webhook"]
    assert hook["url"] == made["webhook_url"]
    assert hook["headers"] == {"X-Gateway-Secret": row.webhook_secret}
    assert set(hook["events"]) >= {"MESSAGES_UPSERT", "MESSAGES_UPDATE",
                                   "CONNECTION_UPDATE", "QRCODE_UPDATED",
                                   "CALL"}
    assert hook["by_events"] is False and hook["enabled"] is True


def test_create_needs_the_public_url(make_app, sandbox):
    app = make_app()  # an external Evolution and no GATEWAY_PUBLIC_URL
    with app.app_context(), store.db.connection_context():
        customer = store.Customer.create(name="Clinic")
        with pytest.raises(NumberError, match="GATEWAY_PUBLIC_URL"):
            whatsapp_numbers.create_number(customer.id, "front-desk")
    # Nothing half-made: Evolution has no such instance.
    assert sandbox.state.get_instance("front-desk") is None


def test_create_name_taken_in_evolution(numbers, customer_id):
    with pytest.raises(NumberError) as caught:
        numbers.create_number(customer_id, EVOLUTION_INSTANCE)
    assert 'This name "evo-support" is already in use' in str(caught.value)
    assert "HTTP 403" in str(caught.value)
    assert not store.Instance.select().exists()


def test_attach_finds_the_token_with_the_global_key(numbers, customer_id,
                                                    sandbox):
    made = numbers.create_number(customer_id, "support-line",
                                 evolution_name=EVOLUTION_INSTANCE,
                                 attach=True)
    assert made["connection_state"] == "open"
    row = store.Instance.get(store.Instance.name == "support-line")
    assert row.evolution_token == EVOLUTION_TOKEN
    hook = sandbox.state.get_instance(EVOLUTION_INSTANCE)["webhook"]
    assert hook["url"] == PUBLIC_URL + "/webhooks/evolution/support-line"


def test_attach_unknown_instance(numbers, customer_id):
    with pytest.raises(NumberError, match="no instance named 'ghost'"):
        numbers.create_number(customer_id, "line", evolution_name="ghost",
                              attach=True)


def test_connect_scan_and_state(numbers, customer_id, sandbox):
    numbers.create_number(customer_id, "front-desk")
    shown = numbers.connect_number("front-desk")
    assert shown["state"] == "connecting"
    assert shown["qr_code"].startswith("2@")
    assert shown["qr_image"].startswith("data:image/png;base64,")
    assert shown["pairing_code"] is None
    assert store.find_instance("front-desk").connection_state == \
        "connecting"
    scan(sandbox, "front-desk")
    assert numbers.refresh_state("front-desk") == "open"
    assert store.find_instance("front-desk").connection_state == "open"
    again = numbers.connect_number("front-desk")
    assert again == {"state": "open", "qr_code": None, "qr_image": None,
                     "pairing_code": None}


def test_pairing_code(numbers, customer_id):
    numbers.create_number(customer_id, "front-desk")
    shown = numbers.connect_number("front-desk",
                                   pairing_phone="+55 31 98765-0000")
    assert len(shown["pairing_code"]) == 8
    with pytest.raises(NumberError, match="not an international"):
        numbers.connect_number("front-desk", pairing_phone="call me")


def test_logout_restart_delete(numbers, customer_id, sandbox):
    numbers.create_number(customer_id, "front-desk")
    numbers.connect_number("front-desk")
    scan(sandbox, "front-desk")
    assert numbers.restart_number("front-desk")["state"] == "open"
    assert numbers.logout_number("front-desk")["state"] == "close"
    assert sandbox.state.get_instance("front-desk")["state"] == "close"
    # Logging out a closed number is not an error.
    assert numbers.logout_number("front-desk")["state"] == "close"
    with pytest.raises(NumberError, match="is not connected"):
        numbers.restart_number("front-desk")
    assert numbers.delete_number("front-desk") == {
        "name": "front-desk", "deleted": True, "removed": True}
    assert sandbox.state.get_instance("front-desk") is None
    assert store.find_instance("front-desk") is None


def test_delete_keeps_a_row_with_history(numbers, app, sandbox):
    account = create_account()
    client = app.test_client()
    assert client.post("/api/send-message", json=send_body(),
                       headers=account.headers).status_code == 200
    result = numbers.delete_number("support-line")
    assert result["removed"] is False
    assert store.find_instance("support-line").connection_state == "deleted"
    assert sandbox.state.get_instance(EVOLUTION_INSTANCE) is None


def test_state_never_open_for_an_instance_evolution_lost(numbers, sandbox):
    create_account()
    store.Instance.update(connection_state="open").execute()
    sandbox.state.remove_instance(EVOLUTION_INSTANCE)
    assert numbers.refresh_state("support-line") == "not_found"
    assert store.find_instance("support-line").connection_state == \
        "not_found"
    with pytest.raises(NumberError, match="Evolution has no instance"):
        numbers.connect_number("support-line")


def test_refresh_all(numbers, customer_id, sandbox):
    create_account()
    numbers.create_number(customer_id, "front-desk")
    assert numbers.refresh_all() == {"support-line": "open",
                                     "front-desk": "close"}


def test_unreachable_evolution_is_unknown(make_app, sandbox):
    app = make_app(PUBLIC_URL=PUBLIC_URL,
                   EVOLUTION_URL="http://127.0.0.1:9")
    with app.app_context(), store.db.connection_context():
        create_account()
        store.Instance.update(connection_state="open").execute()
        assert whatsapp_numbers.refresh_state("support-line") == "unknown"


def test_send_failing_instance_unavailable_updates_state(app, sandbox):
    account = create_account()
    with store.db.connection_context():
        store.Instance.update(connection_state="open").execute()
    sandbox.state.set_connection_closed(True, EVOLUTION_INSTANCE)
    client = app.test_client()
    response = client.post("/api/send-message", json=send_body(),
                           headers=account.headers)
    assert response.status_code == 502
    assert response.get_json()["details"]["reason"] == "instance_unavailable"
    with store.db.connection_context():
        assert store.find_instance("support-line").connection_state == \
            "close"
    sandbox.state.remove_instance(EVOLUTION_INSTANCE)
    client.post("/api/send-message", json=send_body(),
                headers=account.headers)
    with store.db.connection_context():
        assert store.find_instance("support-line").connection_state == \
            "not_found"


def test_sync_webhook_reapplies(numbers, customer_id, sandbox):
    numbers.create_number(customer_id, "front-desk")
    sandbox.state.set_webhook("front-desk", url="http://elsewhere/hook",
                              events=["CALL"])
    synced = numbers.sync_webhook("front-desk")
    assert synced["webhook_url"] == (
        PUBLIC_URL + "/webhooks/evolution/front-desk")
    hook = sandbox.state.get_instance("front-desk")["webhook"]
    assert hook["url"] == synced["webhook_url"]
    assert "MESSAGES_UPSERT" in hook["events"]


def test_update_number(numbers, customer_id, sandbox):
    create_account()
    changed = numbers.update_number("support-line", evolution_name="other",
                                    evolution_token="T2")
    assert changed["evolution_instance"] == "other"
    # Evolution has no "other": the state says so.
    assert changed["connection_state"] == "not_found"


@pytest.mark.parametrize("setting, expected", [(None, False),
                                               ("true", True)])
def test_send_text_link_preview(make_app, sandbox, setting, expected):
    overrides = {} if setting is None else {
        "EVOLUTION_LINK_PREVIEW": setting}
    app = make_app(**overrides)
    account = create_account()
    response = app.test_client().post(
        "/api/send-message", json=send_body(
            message="Your invoice: https://example.com/i/2041"),
        headers=account.headers)
    assert response.status_code == 200
    assert sandbox.state.sent_messages()[0]["link_preview"] is expected


def test_embedded_sandbox_numbers_connect_at_once(make_app):
    app = make_app(EVOLUTION_URL="")
    with app.app_context(), store.db.connection_context():
        customer = store.Customer.create(name="Clinic")
        made = whatsapp_numbers.create_number(customer.id, "front-desk")
        assert made["connection_state"] == "open"
        assert made["webhook_url"].startswith("http://evolution.sandbox/")
        assert whatsapp_numbers.connect_number("front-desk")["state"] == \
            "open"


def test_periodic_refresh(numbers, sandbox):
    create_account()
    refresher = whatsapp_numbers.StateRefresher(numbers, 0.1).start()
    try:
        sandbox.state.remove_instance(EVOLUTION_INSTANCE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if store.find_instance("support-line").connection_state == \
                    "not_found":
                break
            time.sleep(0.05)
        assert store.find_instance("support-line").connection_state == \
            "not_found"
    finally:
        refresher.stop()


def test_one_process_refreshes_per_round(tmp_path):
    """Every gunicorn worker runs a refresher; one round is claimed by one
    process through the shared throttle store, so Evolution is asked about
    each instance once per interval, not once per worker."""
    import gateway
    import ratelimit
    uri = "sqlite:///" + str(tmp_path / "ratelimit.db")
    workers = [ratelimit.create_limiter(uri) for _ in range(3)]
    claims = [gateway.make_round_claim(limiter, "state-refresh", 300)
              for limiter in workers]
    assert [claim() for claim in claims] == [True, False, False]
    assert not claims[0]()  # the winner too, until the window passes


def test_a_refresher_without_its_round_asks_nothing(numbers, sandbox):
    create_account()
    asked = []
    refresh_all = numbers.refresh_all
    numbers.refresh_all = lambda **kw: asked.append(1) or refresh_all(**kw)
    refresher = whatsapp_numbers.StateRefresher(
        numbers, 0.05, claim_round=lambda: False).start()
    try:
        time.sleep(0.5)
    finally:
        refresher.stop()
    assert asked == []
