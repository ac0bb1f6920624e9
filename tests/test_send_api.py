"""POST /api/send-message: every answer of the send path, over a real
SQLite file and the Evolution sandbox on loopback."""
import datetime
import json

import pytest

import store
from conftest import PHONE
from conftest import create_account
from conftest import free_port
from conftest import message_rows
from conftest import send_body
from contract_http import assert_contract
from evolution_client import EvolutionClient

URL = "/api/send-message"


def post(client, body, headers, **kwargs):
    headers = dict(headers, **{"Content-Type": "application/json"})
    response = client.post(URL, data=json.dumps(body), headers=headers,
                           **kwargs)
    assert_contract(URL, "POST", response)
    return response


def assert_error(response, status, code):
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"] == code
    assert response.get_json()["success"] is False


def test_send_reaches_whatsapp_through_evolution(client, account, sandbox):
    response = post(client, send_body(), account.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True and body["status"] == "sent"
    sent = sandbox.state.sent_messages()
    assert len(sent) == 1
    assert sent[0]["text"] == "Your order #2041 has been shipped."
    assert sent[0]["number"] == PHONE.lstrip("+")
    assert body["message_id"] == sent[0]["id"]
    [row] = message_rows()
    assert row.id == body["log_id"]
    assert (row.outcome, row.phone, row.purpose) == (
        "sent", PHONE, "transactional")
    assert row.evolution_message_id == body["message_id"]
    assert row.message_text == "Your order #2041 has been shipped."
    assert row.instance_id == account.instance_id


def test_instance_may_be_named_by_id(client, account):
    response = post(client, send_body(instance_id=str(account.instance_id)),
                    account.headers)
    assert response.status_code == 200


@pytest.mark.parametrize("phone", ["+966 50 123 4567", "00966501234567",
                                   "966501234567", "+966-50-123-4567"])
def test_phone_written_any_international_way_is_stored_e164(
        client, account, phone):
    response = post(client, send_body(phone=phone), account.headers)
    assert response.status_code == 200
    assert message_rows()[-1].phone == PHONE


def test_not_json_is_415(client, account):
    response = client.post(URL, data="hello", headers=dict(
        account.headers, **{"Content-Type": "text/plain"}))
    assert_contract(URL, "POST", response)
    assert_error(response, 415, "unsupported_media_type")


def test_bad_json_is_400(client, account):
    response = client.post(URL, data='{"phone": ', headers=dict(
        account.headers, **{"Content-Type": "application/json"}))
    assert_contract(URL, "POST", response)
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-key",
    "Bearer wgk_unknownkeyunknownkeyunknownkeyunknownkey1"])
def test_missing_malformed_or_unknown_key_is_401(client, account, header):
    headers = {} if header is None else {"Authorization": header}
    response = post(client, send_body(), headers)
    assert_error(response, 401, "invalid_api_key")


def test_revoked_key_is_401(client, account):
    with store.db.connection_context():
        store.ApiKey.update(revoked_at=store.utcnow()).execute()
    response = post(client, send_body(), account.headers)
    assert_error(response, 401, "revoked_api_key")


def test_key_use_is_recorded(client, account):
    post(client, send_body(), account.headers)
    with store.db.connection_context():
        assert store.ApiKey.get_by_id(account.key_id).last_used_at


@pytest.mark.parametrize("body", [
    send_body(extra="field"),
    send_body(phone=966501234567),
    send_body(message=["list"]),
    send_body(instance_id=7),
    send_body(message="   "),
    send_body(instance_id=""),
    send_body(phone="+1234"),
    send_body(phone="not a phone"),
    send_body(phone="+966 0000"),
    send_body(message=...),
    send_body(phone=...),
    send_body(instance_id=...),
    send_body(message_purpose=5),
    ["a", "list"],
    "a string",
    None,
])
def test_invalid_body_is_422_validation_error(client, account, body):
    response = post(client, body, account.headers)
    assert_error(response, 422, "validation_error")
    assert response.get_json()["details"]
    assert not message_rows()


def test_too_long_message_is_422(client, account):
    response = post(client, send_body(message="x" * 4097), account.headers)
    assert_error(response, 422, "validation_error")
    assert "message" in response.get_json()["details"]["fields"]


@pytest.mark.parametrize("purpose", [..., None, "", "  "])
def test_missing_purpose_is_422(client, account, purpose):
    response = post(client, send_body(message_purpose=purpose),
                    account.headers)
    assert_error(response, 422, "message_purpose_required")


@pytest.mark.parametrize("purpose", ["marketing", "promotion",
                                     "cold_outreach", "bulk_campaign",
                                     "political", "newsletter",
                                     "Transactional"])
def test_forbidden_purpose_is_422(client, account, purpose, sandbox):
    response = post(client, send_body(message_purpose=purpose),
                    account.headers)
    assert_error(response, 422, "message_purpose_not_allowed")
    assert not sandbox.state.sent_messages()
    [row] = message_rows()
    assert (row.outcome, row.error_code) == ("refused",
                                             "message_purpose_not_allowed")


@pytest.mark.parametrize("purpose", ["transactional", "operational",
                                     "support", "internal_team",
                                     "authentication"])
def test_every_allowed_purpose_sends(client, account, purpose):
    response = post(client, send_body(message_purpose=purpose,
                                      message="Your code is 4821."),
                    account.headers)
    assert response.status_code == 200


def test_unknown_instance_is_404(client, account):
    response = post(client, send_body(instance_id="nope"), account.headers)
    assert_error(response, 404, "invalid_instance")


def test_another_customers_instance_is_404(client, account):
    other = create_account(name="Other", instance_name="other-line")
    for ref in ("other-line", str(other.instance_id)):
        response = post(client, send_body(instance_id=ref), account.headers)
        assert_error(response, 404, "invalid_instance")


def test_module_not_enabled_is_403(client, app):
    account = create_account(modules="3cx")
    response = post(client, send_body(), account.headers)
    assert_error(response, 403, "module_not_enabled")


def test_expired_plan_is_403(client, app):
    account = create_account(plan_active_until=datetime.date.today()
                             - datetime.timedelta(days=1))
    response = post(client, send_body(), account.headers)
    assert_error(response, 403, "active_plan_required")


def test_not_on_whatsapp_is_502_and_failed(client, account, sandbox):
    sandbox.state.add_not_on_whatsapp(PHONE.lstrip("+"))
    response = post(client, send_body(), account.headers)
    assert_error(response, 502, "gateway_send_failed")
    details = response.get_json()["details"]
    assert details["reason"] == "not_on_whatsapp"
    [row] = message_rows()
    assert (row.outcome, row.reason) == ("failed", "not_on_whatsapp")
    assert details["log_id"] == row.id


def test_connection_closed_is_502_instance_unavailable_unknown(
        client, account, sandbox):
    sandbox.state.set_connection_closed(True)
    response = post(client, send_body(), account.headers)
    assert_error(response, 502, "gateway_send_failed")
    assert response.get_json()["details"]["reason"] == "instance_unavailable"
    assert message_rows()[0].outcome == "unknown"


def test_slow_evolution_is_502_upstream_timeout_unknown(
        client, account, sandbox):
    sandbox.state.set_fail_next(hang_s=3)
    response = post(client, send_body(), account.headers)
    assert_error(response, 502, "gateway_send_failed")
    assert response.get_json()["details"]["reason"] == "upstream_timeout"
    assert message_rows()[0].outcome == "unknown"


def test_garbage_from_evolution_is_502_upstream_error_unknown(
        client, account, sandbox):
    sandbox.state.set_fail_next(status=500, body="<html>oops</html>")
    response = post(client, send_body(), account.headers)
    assert_error(response, 502, "gateway_send_failed")
    assert response.get_json()["details"]["reason"] == "upstream_error"
    assert message_rows()[0].outcome == "unknown"


def test_evolution_down_is_502_and_failed(make_app):
    app = make_app(EVOLUTION_URL="http://127.0.0.1:%d" % free_port())
    account = create_account()
    response = post(app.test_client(), send_body(), account.headers)
    assert_error(response, 502, "gateway_send_failed")
    assert response.get_json()["details"]["reason"] == "instance_unavailable"
    assert message_rows()[0].outcome == "failed"


def test_v1_evolution_gets_v1_body(client, account, sandbox):
    sandbox.state.config["version"] = "1.8.6"
    response = post(client, send_body(), account.headers)
    assert response.status_code == 200
    assert sandbox.state.sent_messages()[0]["text"] == (
        "Your order #2041 has been shipped.")


def test_unexpected_error_is_500_without_traceback(app, client, account):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")
    app.extensions["gateway"]["sender"].send = explode
    response = post(client, send_body(), account.headers)
    assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/nowhere", 404, "not_found"),
    ("GET", URL, 405, "method_not_allowed"),
    ("DELETE", URL, 405, "method_not_allowed"),
    # Not Flask's automatic (empty text/html) answer.
    ("OPTIONS", URL, 405, "method_not_allowed"),
    ("OPTIONS", "/integrations/3cx/webhook/1", 405, "method_not_allowed"),
    ("OPTIONS", "/webhooks/evolution/line", 405, "method_not_allowed"),
])
def test_unknown_routes_and_methods_answer_json(client, method, path,
                                                 status, code):
    response = client.open(path, method=method)
    assert response.status_code == status
    if status == 405:
        assert "POST" in response.headers["Allow"]
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == code


def test_oversized_body_is_413_json(client, account):
    response = client.post(URL, data=json.dumps(
        send_body(message="x" * (2 * 1024 * 1024))), headers=dict(
        account.headers, **{"Content-Type": "application/json"}))
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_openapi_json_is_the_contract(client):
    from contract import load_spec
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == load_spec()


@pytest.mark.parametrize("ref", ["²", "٣", "9" * 25, "1 OR 1=1"])
def test_odd_instance_ids_are_404_not_500(client, account, ref):
    response = post(client, send_body(instance_id=ref), account.headers)
    assert_error(response, 404, "invalid_instance")


@pytest.mark.parametrize("raw", ["[" * 100000, '{"message": "\\ud800"}',
                                 '{"a": 1} trailing'])
def test_unstorable_json_is_400_not_500(client, account, raw):
    response = client.post(URL, data=raw, headers=dict(
        account.headers, **{"Content-Type": "application/json"}))
    assert_contract(URL, "POST", response)
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize("name", ["desk/2", "desk#2", "desk?2", "50%/x"])
def test_client_quotes_the_instance_name_in_every_path(sandbox, name):
    # Evolution (Express) decodes `:instanceName`; unquoted, '#' and '?'
    # cut the path and '/' adds a segment, naming another instance.
    sandbox.state.add_instance(name, token="NAME-TOKEN")
    client = EvolutionClient(sandbox.url, "")
    try:
        assert client.connection_state(name, "NAME-TOKEN") == "open"
        sent = client.send_text(name, "NAME-TOKEN", "5511987654321", "hi")
        assert [m["id"] for m in sandbox.state.sent_messages(name)] == [
            sent.message_id]
        assert client.find_webhook(name, "NAME-TOKEN") is None
    finally:
        client.close()
