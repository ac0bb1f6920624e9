"""The console's answers from the real ``gateway`` command: people who may
sign in, the message log, usage, plans and labelled keys."""
import json
import os
import subprocess
import sys

import pytest

import console_auth
import store
from conftest import create_account
from conftest import send_body

GATEWAY = os.path.join(os.path.dirname(sys.executable), "gateway")


@pytest.fixture
def run(base_config, app):
    """The gateway command on the app's own database file."""
    env = dict(os.environ, GATEWAY_DATABASE_URL=base_config["DATABASE_URL"])

    def run(*args, expect=0, stdin=None):
        proc = subprocess.run([GATEWAY, *args], capture_output=True,
                              text=True, env=env, timeout=60, input=stdin)
        assert proc.returncode == expect, proc.stderr
        if expect == 0 and proc.stdout.strip().startswith(("{", "[")):
            return json.loads(proc.stdout)
        return proc
    return run


def test_admins_and_users_are_created_with_hashed_passwords(run):
    account = create_account()
    made = run("admins", "create", "Ops@Example.com", "--password-stdin",
               stdin="a long enough password\n")
    assert made["email"] == "ops@example.com" and made["customer_id"] is None
    user = run("users", "create", "it@acme.example", "--customer",
               str(account.customer_id), "--password-stdin",
               stdin="another long password\n")
    assert user["customer_id"] == account.customer_id
    with store.db.connection_context():
        row = console_auth.Operator.get(
            console_auth.Operator.email == "it@acme.example")
        assert row.password_hash.startswith("$argon2id$")
    assert run("users", "create", "x@acme.example", "--customer", "999",
               "--password-stdin", stdin="a long enough password\n",
               expect=2).stderr.startswith("gateway: error: no customer")
    assert "at least" in run("admins", "create", "y@example.com",
                             "--password-stdin", stdin="short\n",
                             expect=2).stderr
    assert "already exists" in run(
        "admins", "create", "ops@example.com", "--password-stdin",
        stdin="a long enough password\n", expect=2).stderr
    assert [u["email"] for u in run("users", "list")] == ["it@acme.example"]
    assert run("admins", "remove", "ops@example.com")["removed"]
    assert run("admins", "list") == []


def test_messages_list_and_show_answer_like_the_console(run, client):
    account = create_account()
    for n in range(3):
        assert client.post("/api/send-message", json=send_body(
            phone="+96650123456%d" % n), headers=account.headers
        ).status_code == 200
    assert client.post("/api/send-message", json=send_body(
        message_purpose="marketing"), headers=account.headers
    ).status_code == 422
    assert client.post("/api/send-message", json=send_body(
        message="Code 552211", message_purpose="authentication"),
        headers=account.headers).status_code == 200
    rows = run("messages", "list", "--json")
    assert [r["log_id"] for r in rows] == [5, 4, 3, 2, 1]
    assert run("messages", "list", "--json", "--outcome", "refused"
               )[0]["error_code"] == "message_purpose_not_allowed"
    assert [r["log_id"] for r in run("messages", "list", "--json",
                                     "--phone", "+966 50 123 4561")] == [2]
    # The purpose refusal came before the instance was looked up.
    assert [r["log_id"] for r in run(
        "messages", "list", "--json", "--instance", "support-line",
        "--customer", str(account.customer_id))] == [5, 3, 2, 1]
    assert run("messages", "list", "--json", "--since",
               "2999-01-01T00:00:00Z") == []
    page = run("messages", "list", "--limit", "2")
    assert "more: --before 4" in page.stdout
    assert [r["log_id"] for r in run("messages", "list", "--json",
                                     "--before", "4", "--limit", "2")] == [
        3, 2]
    shown = run("messages", "show", "1", "--json", "--text")
    assert [s["step"] for s in shown["timeline"]] == ["accepted", "sent"]
    assert shown["message_text"] == "Your order #2041 has been shipped."
    assert "message_text" not in run("messages", "show", "1", "--json")
    secret = run("messages", "show", "5", "--json", "--text")
    assert "message_text" not in secret  # authentication: never
    assert "552211" not in run("messages", "show", "5", "--text").stdout
    assert "refused" in run("messages", "show", "4").stdout
    run("messages", "show", "99", expect=2)
    run("messages", "list", "--phone", "not a phone", expect=2)


def test_usage_customers_set_and_labelled_keys(run, client):
    account = create_account()
    changed = run("customers", "set", str(account.customer_id),
                  "--daily-limit", "2", "--monthly-limit", "none",
                  "--plan-expires", "2031-05-01", "--modules", "api")
    assert (changed["daily_limit"], changed["monthly_limit"],
            changed["plan_active_until"], changed["modules"]) == (
        2, None, "2031-05-01", ["api"])
    key = run("keys", "create", str(account.customer_id), "--label",
              "billing service")
    assert key["label"] == "billing service"
    headers = {"Authorization": "Bearer " + key["key"]}
    assert client.post("/api/send-message", json=send_body(),
                       headers=headers).status_code == 200
    assert client.post("/api/send-message", json=send_body(),
                       headers=headers).status_code == 200
    assert client.post("/api/send-message", json=send_body(),
                       headers=headers).status_code == 429
    usage = run("usage", str(account.customer_id), "--json")[0]
    assert usage["today"] == {"sent": 2, "refused": 1}
    assert (usage["daily_used"], usage["daily_limit"]) == (2, 2)
    table = run("usage").stdout
    assert "2 sent (2/2)" in table
    run("customers", "set", str(account.customer_id), expect=2)
    run("customers", "set", "999", "--name", "x", expect=2)
    run("usage", "999", expect=2)
