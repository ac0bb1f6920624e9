"""The operator console through Flask's test client on a real SQLite file:
sign-in, sessions, CSRF, headers, scoping, and every page's data."""
import datetime
import re
import time

import pytest

import console_auth
import store
from conftest import EVOLUTION_TOKEN
from conftest import PHONE
from conftest import create_account
from conftest import create_endpoint
from conftest import send_body

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html):
    match = CSRF_RE.search(html)
    assert match, html[:500]
    return match.group(1)


class Browser:
    """A test client that signs in and posts forms with their token."""

    def __init__(self, app, **environ):
        self.client = app.test_client()
        self.environ = environ

    def get(self, path, **kwargs):
        return self.client.get(path, environ_base=self.environ, **kwargs)

    def post(self, path, data=None, token=True, **kwargs):
        data = dict(data or {})
        if token:
            page = self.get("/console/login" if path.startswith(
                "/console/login") else "/console/account")
            data.setdefault("csrf_token", csrf_of(page.get_data(True)))
        return self.client.post(path, data=data, environ_base=self.environ,
                                **kwargs)

    def login(self, email, password=PASSWORD):
        return self.post("/console/login", {"email": email,
                                             "password": password})


@pytest.fixture
def two(app, sandbox):
    """Two customers, each with a number and a key, an admin and a user
    of the first customer."""
    sandbox.state.add_instance("evo-beta", token=EVOLUTION_TOKEN)
    a = create_account(name="Acme")
    b = create_account(name="Beta", instance_name="beta-line",
                       evolution_instance="evo-beta")
    with store.db.connection_context():
        console_auth.create_operator("admin@example.com", PASSWORD)
        console_auth.create_operator("user@acme.example", PASSWORD,
                                     customer_id=a.customer_id)
    return a, b


@pytest.fixture
def admin(app, two):
    browser = Browser(app)
    assert browser.login("admin@example.com").status_code == 302
    return browser


@pytest.fixture
def user(app, two):
    browser = Browser(app)
    assert browser.login("user@acme.example").status_code == 302
    return browser


def test_pages_need_a_signed_in_operator(client, two):
    answer = client.get("/console/messages?day=2026-01-01")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/console/login?next=")
    assert client.get("/console/").status_code == 302


def test_sign_in_redirects_back_but_never_off_site(app, two):
    browser = Browser(app)
    answer = browser.post("/console/login?next=/console/keys",
                          {"email": "admin@example.com",
                           "password": PASSWORD})
    assert answer.headers["Location"] == "/console/keys"
    browser = Browser(app)
    answer = browser.post("/console/login?next=//evil.example/x",
                          {"email": "admin@example.com",
                           "password": PASSWORD})
    assert answer.headers["Location"] == "/console/"


def test_passwords_are_argon2id_hashes(app, two):
    with store.db.connection_context():
        row = console_auth.Operator.get(
            console_auth.Operator.email == "admin@example.com")
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash


def test_wrong_password_is_refused_and_repeated_failures_lock(app, two):
    browser = Browser(app)
    for _ in range(console_auth.FAILURES_PER_ACCOUNT.amount):
        answer = browser.login("user@acme.example", "wrong password!")
        assert answer.status_code == 401
    # Now even the right password waits: the account is locked a while.
    answer = browser.login("user@acme.example")
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 0
    # Another account from another address is not affected.
    other = Browser(app, REMOTE_ADDR="127.0.0.9")
    assert other.login("admin@example.com").status_code == 302


def test_one_address_guessing_many_accounts_is_locked(app, two):
    browser = Browser(app, REMOTE_ADDR="10.1.2.3")
    for n in range(console_auth.FAILURES_PER_ADDRESS.amount):
        assert browser.login("nobody%d@example.com" % n,
                             "wrong password!").status_code == 401
    assert browser.login("admin@example.com").status_code == 429
    assert Browser(app, REMOTE_ADDR="10.9.9.9").login(
        "admin@example.com").status_code == 302


def test_login_limits_live_in_the_shared_limits_storage(app, two):
    """Failures are counted in the app's limiter (SQLite file or Redis),
    so every worker and host sees them."""
    Browser(app, REMOTE_ADDR="10.7.7.7").login("admin@example.com", "nope")
    limiter = app.extensions["gateway"]["limiter"]
    stats = limiter.get_window_stats(console_auth.FAILURES_PER_ADDRESS,
                                     "console-login-ip", "10.7.7.7")
    assert stats.remaining == console_auth.FAILURES_PER_ADDRESS.amount - 1


def test_forms_without_a_csrf_token_are_refused(admin, two):
    a, _ = two
    answer = admin.post("/console/keys", {"label": "x",
                                          "customer_id": a.customer_id},
                        token=False)
    assert answer.status_code == 400
    with store.db.connection_context():
        assert store.ApiKey.select().count() == 2
    answer = admin.post("/console/keys", {"label": "x", "customer_id":
                                          a.customer_id,
                                          "csrf_token": "forged"},
                        token=False)
    assert answer.status_code == 400


def test_security_headers_and_cookie_flags(app, two):
    browser = Browser(app)
    page = browser.get("/console/login")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in page.headers["Cache-Control"]
    assert "<script>" not in page.get_data(True)
    answer = browser.login("admin@example.com")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP: the cookie must still work
    # Behind nginx with TLS (a trusted proxy says https): Secure.
    tls = Browser(app, REMOTE_ADDR="127.0.0.1")
    tls.environ["HTTP_X_FORWARDED_PROTO"] = "https"
    answer = tls.login("admin@example.com")
    assert "; Secure" in answer.headers["Set-Cookie"]
    assert "max-age" in answer.headers["Strict-Transport-Security"]
    # The same header from an untrusted peer is not believed.
    spoof = Browser(app, REMOTE_ADDR="203.0.113.5")
    spoof.environ["HTTP_X_FORWARDED_PROTO"] = "https"
    assert "; Secure" not in spoof.login(
        "admin@example.com").headers["Set-Cookie"]


def test_sign_out_ends_the_session_everywhere(app, two):
    browser = Browser(app)
    browser.login("admin@example.com")
    stolen = browser.client.get_cookie("gateway_console").value
    assert browser.get("/console/").status_code == 200
    browser.post("/console/logout")
    thief = app.test_client()
    thief.set_cookie("gateway_console", stolen)
    assert thief.get("/console/").status_code == 302


def test_every_page_renders_for_an_operator(admin, two):
    a, b = two
    for path in ("/console/", "/console/numbers",
                 "/console/numbers/%d" % a.instance_id,
                 "/console/customers", "/console/customers/%d" % b.customer_id,
                 "/console/keys", "/console/messages",
                 "/console/suppressions", "/console/webhooks",
                 "/console/webhooks/deliveries", "/console/3cx",
                 "/console/account"):
        answer = admin.get(path)
        assert answer.status_code == 200, path
        assert "<main" in answer.get_data(True)


def send(client, account, **overrides):
    return client.post("/api/send-message", json=send_body(**overrides),
                       headers=account.headers)


def test_a_customer_user_gets_404_for_everything_of_another(app, user, two,
                                                           receiver):
    a, b = two
    client = app.test_client()
    assert send(client, b, instance_id="beta-line").status_code == 200
    assert send(client, b, instance_id="beta-line",
                message_purpose="authentication").status_code == 200
    endpoint = create_endpoint(b.customer_id, receiver.url)
    with store.db.connection_context():
        log_id = store.MessageLog.select().where(
            store.MessageLog.customer == b.customer_id).first().id
        suppression = store.Suppression.create(customer=b.customer_id,
                                               phone="+15550001111")
        event = store.Event.create(uid="evt_x", customer=b.customer_id,
                                   name="message.sent", payload="{}")
        delivery = store.Delivery.create(event=event, endpoint=endpoint,
                                         status="dead")
    import threecx
    with store.db.connection_context():
        integration, _ = threecx.create_integration(b.customer_id,
                                                    "beta-line")
    gets = ["/console/numbers/%d" % b.instance_id,
            "/console/customers/%d" % b.customer_id,
            "/console/messages/%d" % log_id,
            "/console/webhooks/deliveries/%d" % delivery.id,
            "/console/3cx/%d" % integration.id,
            "/console/3cx/%d/crm-template.xml" % integration.id]
    for path in gets:
        assert user.get(path).status_code == 404, path
    posts = ["/console/numbers/%d/pause" % b.instance_id,
             "/console/numbers/%d/resume" % b.instance_id,
             "/console/keys/%d/revoke" % b.key_id,
             "/console/suppressions/%d/remove" % suppression.id,
             "/console/webhooks/%d/rotate" % endpoint.id,
             "/console/webhooks/%d/test" % endpoint.id,
             "/console/webhooks/%d/disable" % endpoint.id,
             "/console/webhooks/deliveries/%d/replay" % delivery.id,
             "/console/3cx/%d" % integration.id,
             "/console/3cx/%d/rotate" % integration.id]
    for path in posts:
        assert user.post(path, {"reason": "x"}).status_code == 404, path
    # Nothing changed, and the lists show none of Beta's rows.
    with store.db.connection_context():
        assert not store.Instance.get_by_id(b.instance_id).paused
        assert store.ApiKey.get_by_id(b.key_id).revoked_at is None
        assert store.Delivery.get_by_id(delivery.id).status == "dead"
        assert store.WebhookEndpoint.get_by_id(endpoint.id).enabled
    for path in ("/console/", "/console/numbers", "/console/messages",
                 "/console/keys", "/console/suppressions",
                 "/console/webhooks", "/console/webhooks/deliveries",
                 "/console/3cx", "/console/customers"):
        html = user.get(path).get_data(True)
        assert "Beta" not in html and "beta-line" not in html, path
        assert "+15550001111" not in html
    # Asking for Beta's rows by filter finds nothing either.
    html = user.get("/console/messages?customer_id=%d" % b.customer_id
                    ).get_data(True)
    assert "No message matches" in html
    # Creating for another customer is not possible: the user's own wins.
    user.post("/console/keys", {"label": "sneaky",
                                "customer_id": b.customer_id})
    with store.db.connection_context():
        assert store.ApiKey.get(store.ApiKey.label == "sneaky"
                                ).customer_id == a.customer_id


def test_customer_limits_are_edited_by_operators_only(admin, user, two):
    a, _ = two
    answer = admin.post("/console/customers/%d" % a.customer_id, {
        "name": "Acme Ltd", "daily_limit": "500", "monthly_limit": "",
        "plan_active_until": "2030-01-31", "modules": ["api", "3cx"]})
    assert answer.status_code == 302
    with store.db.connection_context():
        row = store.Customer.get_by_id(a.customer_id)
    assert (row.name, row.daily_limit, row.monthly_limit) == (
        "Acme Ltd", 500, None)
    assert row.plan_active_until == datetime.date(2030, 1, 31)
    assert admin.post("/console/customers/%d" % a.customer_id, {
        "name": "Acme", "daily_limit": "-3", "modules": ["api"]}
    ).status_code == 400
    assert user.post("/console/customers/%d" % a.customer_id, {
        "name": "Mine", "daily_limit": "999999", "modules": ["api"]}
    ).status_code == 403
    with store.db.connection_context():
        assert store.Customer.get_by_id(a.customer_id).daily_limit == 500


def test_a_new_key_is_shown_once_and_sends(app, user, two):
    answer = user.post("/console/keys", {"label": "shop backend"})
    assert answer.status_code == 200
    assert "no-store" in answer.headers["Cache-Control"]
    key = re.search(r'value="(wgk_[^"]+)"', answer.get_data(True)).group(1)
    listing = user.get("/console/keys").get_data(True)
    assert key not in listing and "shop backend" in listing
    assert key[:8] in listing  # the hint
    sent = app.test_client().post("/api/send-message", json=send_body(),
                                  headers={"Authorization": "Bearer " + key})
    assert sent.status_code == 200
    listing = user.get("/console/keys").get_data(True)
    assert "never" not in listing.split("shop backend")[1].split("</tr>")[0]


def test_message_log_filters_pages_and_detail(app, admin, two):
    a, b = two
    client = app.test_client()
    for n in range(7):
        assert send(client, a, phone="+96650123456%d" % n).status_code == 200
    assert send(client, a, message_purpose="marketing").status_code == 422
    rows = admin.get("/console/messages?outcome=refused").get_data(True)
    assert "message_purpose_not_allowed" in rows
    assert rows.count('class="badge sent"') == 0
    html = admin.get("/console/messages?phone=%2B966501234563"
                     ).get_data(True)
    assert html.count("+966501234563") == 2  # the row and the filter box
    # Keyset pages: 3 + 3 + 2, no row twice.
    seen = []
    path = "/console/messages?customer_id=%d" % a.customer_id
    import reports
    with app.app_context(), store.db.connection_context():
        flt = reports.parse_filter({"customer_id": str(a.customer_id)})
        page1, nxt = reports.list_messages(flt, limit=3)
        flt.before = nxt
        page2, nxt2 = reports.list_messages(flt, limit=3)
        flt.before = nxt2
        page3, nxt3 = reports.list_messages(flt, limit=3)
    seen = [r["id"] for r in page1 + page2 + page3]
    assert len(seen) == 8 == len(set(seen)) and nxt3 is None
    assert seen == sorted(seen, reverse=True)
    assert admin.get(path).status_code == 200
    assert admin.get("/console/messages?day=not-a-day").status_code == 400
    detail = admin.get("/console/messages/%d" % seen[0]).get_data(True)
    assert "accepted" in detail and "refused" in detail
    assert "forbidden_purpose" in detail  # the rule that refused it
    detail = admin.get("/console/messages/%d" % seen[1]).get_data(True)
    assert "Your order #2041 has been shipped." in detail
    assert '<time datetime="' in detail


def test_authentication_text_is_never_shown(app, admin, two):
    a, _ = two
    assert send(app.test_client(), a, message="Your code is 918273",
                message_purpose="authentication").status_code == 200
    with store.db.connection_context():
        log_id = store.MessageLog.select().order_by(
            store.MessageLog.id.desc()).first().id
    html = admin.get("/console/messages/%d" % log_id).get_data(True)
    assert "918273" not in html
    assert "authentication messages carry codes" in html


def test_users_without_text_permission_do_not_see_text(app, two):
    a, _ = two
    with store.db.connection_context():
        console_auth.create_operator("viewer@acme.example", PASSWORD,
                                     customer_id=a.customer_id,
                                     can_read_messages=False)
    assert send(app.test_client(), a).status_code == 200
    viewer = Browser(app)
    viewer.login("viewer@acme.example")
    with store.db.connection_context():
        log_id = store.MessageLog.select().first().id
    html = viewer.get("/console/messages/%d" % log_id).get_data(True)
    assert "has been shipped" not in html
    # Nor through a webhook event's body (inbound messages carry text).
    endpoint = create_endpoint(a.customer_id, "https://hooks.example/x")
    with store.db.connection_context():
        event = store.Event.create(
            uid="evt_in", customer=a.customer_id, name="message.received",
            payload='{"text": "my inbound words"}')
        delivery = store.Delivery.create(event=event, endpoint=endpoint,
                                         status="dead")
    page = viewer.get("/console/webhooks/deliveries/%d" % delivery.id)
    assert page.status_code == 200
    assert "my inbound words" not in page.get_data(True)


def test_delivered_and_read_receipts_make_the_timeline(app, admin, two,
                                                       sandbox):
    a, _ = two
    answer = send(app.test_client(), a)
    log_id = answer.get_json()["log_id"]
    message_id = answer.get_json()["message_id"]
    import intake
    import normalizer
    with store.db.connection_context():
        instance = store.Instance.get_by_id(a.instance_id)
        for rank in (2, 3):
            event = normalizer.CustomerEvent(
                "message.delivered", {}, "k%d" % rank, message_id, rank)
            assert intake.advance_status(instance, event)
    html = admin.get("/console/messages/%d" % log_id).get_data(True)
    steps = re.findall(r'class="step-(\w+)"', html)
    assert steps == ["accepted", "sent", "delivered", "read"]


def test_pause_and_resume_keep_a_history(app, user, two):
    a, _ = two
    path = "/console/numbers/%d" % a.instance_id
    assert user.post(path + "/pause", {"reason": ""}).status_code == 400
    assert user.post(path + "/pause", {"reason": "complaint from a "
                                       "recipient"}).status_code == 302
    answer = send(app.test_client(), a)
    assert answer.status_code == 423
    assert user.post(path + "/resume", {"reason": "checked"}
                     ).status_code == 302
    assert send(app.test_client(), a).status_code == 200
    html = user.get(path).get_data(True)
    assert "complaint from a recipient" in html
    assert "user@acme.example" in html and "resume" in html


def test_suppressions_add_and_remove(app, user, two):
    a, _ = two
    assert user.post("/console/suppressions", {"phone": "not a phone"}
                     ).status_code == 400
    assert user.post("/console/suppressions", {"phone": PHONE}
                     ).status_code == 302
    assert send(app.test_client(), a).status_code == 403
    with store.db.connection_context():
        row = store.Suppression.get(store.Suppression.phone == PHONE)
    assert "manual" in user.get("/console/suppressions").get_data(True)
    user.post("/console/suppressions/%d/remove" % row.id)
    assert send(app.test_client(), a).status_code == 200


def test_webhook_secret_once_test_event_and_dead_replay(app, user, two,
                                                        receiver):
    answer = user.post("/console/webhooks", {"url": receiver.url})
    secret = re.search(r'value="(whsec_[^"]+)"',
                       answer.get_data(True)).group(1)
    listing = user.get("/console/webhooks")
    assert listing.status_code == 200
    assert receiver.url in listing.get_data(True)
    assert secret not in listing.get_data(True)
    receiver.secret = secret
    with store.db.connection_context():
        endpoint = store.WebhookEndpoint.get(
            store.WebhookEndpoint.url == receiver.url)
    answer = user.post("/console/webhooks/%d/test" % endpoint.id)
    assert answer.status_code == 302
    receiver.wait_for(lambda r: r.events("webhook.test"))
    assert receiver.received[0]["valid"] is True
    test_delivery = answer.headers["Location"]
    for _ in range(100):
        html = user.get(test_delivery).get_data(True)
        if "Not tried yet" not in html:
            break
        time.sleep(0.05)
    assert re.search(r"<td>1</td><td><time[^>]+>[^<]+</time></td><td>200 ",
                     html), html
    # A dead letter: replayed from the console, it is delivered.
    with store.db.connection_context():
        event = store.Event.create(uid="evt_dead", customer=endpoint.customer,
                                   name="message.sent", payload='{"a":1}')
        dead = store.Delivery.create(event=event, endpoint=endpoint,
                                     status="dead", attempts=4,
                                     last_error="HTTP 500")
    html = user.get("/console/webhooks/deliveries?status=dead"
                    ).get_data(True)
    assert "HTTP 500" in html
    user.post("/console/webhooks/deliveries/%d/replay" % dead.id)
    receiver.wait_for(lambda r: len(r.received) == 2)
    with store.db.connection_context():
        assert store.Delivery.get_by_id(dead.id).status in (
            "delivered", "delivering", "pending")


def test_threecx_secret_once_and_template_download(app, user, two):
    answer = user.post("/console/3cx", {"instance": "support-line",
                                        "business_name": "Acme",
                                        "timezone": "Asia/Riyadh"})
    assert answer.status_code == 200
    assert re.search(r'value="w3cx_', answer.get_data(True))
    with store.db.connection_context():
        import threecx
        row = threecx.ThreeCxIntegration.select().first()
    xml = user.get("/console/3cx/%d/crm-template.xml" % row.id)
    assert xml.status_code == 200
    assert "attachment" in xml.headers["Content-Disposition"]
    assert "/integrations/3cx/webhook/%d" % row.id in xml.get_data(True)
    assert user.post("/console/3cx/%d" % row.id, {
        "timezone": "Not/AZone", "business_name": "Acme"}).status_code == 400
    assert user.post("/console/3cx/%d" % row.id, {
        "enabled": "on", "timezone": "Europe/Berlin", "business_name": "A",
        "business_hours": "", "template_missed_call": "Sorry, {{"
        "business_name}} missed you", "enabled_missed_call": "on"}
    ).status_code == 302


def test_times_are_utc_iso_for_the_script_or_in_the_operator_zone(
        app, admin, two):
    a, _ = two
    assert send(app.test_client(), a).status_code == 200
    html = admin.get("/console/messages").get_data(True)
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">'
                     r'[^<]+ UTC</time>', html)
    admin.post("/console/account", {"time_zone": "Asia/Riyadh"})
    html = admin.get("/console/messages").get_data(True)
    assert re.search(r'<time datetime="[^"]+Z" data-fixed>[^<]+ '
                     r'Asia/Riyadh</time>', html)
    assert admin.post("/console/account", {"time_zone": "Mars/Base"}
                      ).status_code == 400


def test_overview_counts_today_month_and_backlog(app, admin, two):
    a, b = two
    client = app.test_client()
    for _ in range(3):
        assert send(client, a).status_code == 200
    send(client, a, message_purpose="marketing")
    import reports
    with store.db.connection_context():
        # Yesterday's rows, rolled up once: the month adds them.
        yesterday = store.utcnow() - datetime.timedelta(days=1)
        if yesterday.month == store.utcnow().month:
            store.MessageLog.update(created_at=yesterday).where(
                store.MessageLog.id == 1).execute()
        usage = reports.usage_counts()
    assert usage["month"]["outcomes"]["sent"] == 3
    assert usage["month"]["outcomes"]["refused"] == 1
    html = admin.get("/console/").get_data(True)
    assert "message_purpose_not_allowed" in html
    assert "support-line" in html and "beta-line" in html


def test_console_never_counts_the_whole_log():
    """No query of the read models counts the message log unbounded."""
    import inspect

    import reports
    source = inspect.getsource(reports)
    for match in re.finditer(r"COUNT\(\*\) FROM messagelog([^\"]*)\"",
                             source):
        assert "WHERE id >=" in match.group(1)
    assert "MessageLog.select().count()" not in source


def test_numbers_page_creates_connects_logs_out_and_deletes(make_app, sandbox):
    app = make_app(PUBLIC_URL="http://127.0.0.1:9")
    a = create_account(name="Acme")
    b = create_account(name="Beta", instance_name="beta-line",
                       evolution_instance="evo-beta")
    with store.db.connection_context():
        console_auth.create_operator("it@acme.example", PASSWORD,
                                     customer_id=a.customer_id)
    user = Browser(app)
    user.login("it@acme.example")
    assert user.post("/console/numbers", {"name": "12345"}
                     ).status_code == 400  # the lifecycle's own error
    assert user.post("/console/numbers", {"name": "sales-line"}
                     ).status_code == 302
    with store.db.connection_context():
        row = store.Instance.get(store.Instance.name == "sales-line")
    assert row.customer_id == a.customer_id
    path = "/console/numbers/%d" % row.id
    answer = user.post(path + "/connect")
    assert answer.status_code == 302
    page = user.get(answer.headers["Location"]).get_data(True)
    assert 'class="qr" src="data:image/png;base64,' in page
    assert "data-refresh" in page
    status = user.get(path + "/connect/status").get_data(True)
    assert "data-done" not in status
    # A pairing code instead of a QR, for a number not yet connecting.
    user.post("/console/numbers", {"name": "pair-line"})
    with store.db.connection_context():
        pair = store.Instance.get(store.Instance.name == "pair-line")
    answer = user.post("/console/numbers/%d/connect" % pair.id,
                       {"pairing_phone": PHONE})
    page = user.get(answer.headers["Location"]).get_data(True)
    assert re.search(r'class="code">[A-Z0-9]{8}<', page), page
    import requests as http
    assert http.post(sandbox.url + "/_sandbox/scan/sales-line", json={},
                     headers={"apikey": sandbox.state.api_key},
                     timeout=10).status_code == 201
    assert "data-done" in user.get(path + "/connect/status").get_data(True)
    assert "state-open" in user.get("/console/numbers").get_data(True)
    assert user.post(path + "/logout").status_code == 302
    with store.db.connection_context():
        assert store.Instance.get_by_id(row.id).connection_state == "close"
    # Another customer's number: every action is 404 and changes nothing.
    for action in ("connect", "refresh", "logout", "restart", "delete"):
        assert user.post("/console/numbers/%d/%s" % (b.instance_id, action)
                         ).status_code == 404
    assert user.get("/console/numbers/%d/connect" % b.instance_id
                    ).status_code == 404
    assert user.post(path + "/delete").status_code == 302
    with store.db.connection_context():
        assert store.Instance.get_or_none(store.Instance.id == row.id) \
            is None
        assert store.Instance.get_or_none(
            store.Instance.id == b.instance_id) is not None


def test_number_errors_answer_by_whose_they_are(make_app, sandbox):
    """The operator's mistake is a 400, a name taken or a number in the
    wrong state a 409, and only Evolution failing a 502."""
    import requests as http
    app = make_app(PUBLIC_URL="http://127.0.0.1:9")
    a = create_account(name="Acme")
    with store.db.connection_context():
        console_auth.create_operator("it@acme.example", PASSWORD,
                                     customer_id=a.customer_id)
    user = Browser(app)
    user.login("it@acme.example")
    assert user.post("/console/numbers", {"name": "sales-line"}
                     ).status_code == 302
    taken = user.post("/console/numbers", {"name": "sales-line"})
    assert taken.status_code == 409
    assert "already exists" in taken.get_data(True)
    with store.db.connection_context():
        row = store.Instance.get(store.Instance.name == "sales-line")
    path = "/console/numbers/%d" % row.id
    bad = user.post(path + "/connect", {"pairing_phone": "not a phone"})
    assert bad.status_code == 400
    assert "not an international phone number" in bad.get_data(True)
    # Not connected: a restart is refused by the number's state.
    refused = user.post(path + "/restart")
    assert refused.status_code == 409
    assert "is not connected" in refused.get_data(True)
    # Evolution lost the instance: that is Evolution's failure.
    assert http.delete(sandbox.url + "/instance/delete/"
                       + row.evolution_instance,
                       headers={"apikey": sandbox.state.api_key},
                       timeout=10).status_code == 200
    gone = user.post(path + "/logout")
    assert gone.status_code == 502
    assert "Evolution has no instance" in gone.get_data(True)


class FormControls(__import__("html.parser").parser.HTMLParser):
    """Collects form controls and the ids labels point at."""

    def __init__(self):
        super().__init__()
        self.controls, self.labelled, self.depth = [], set(), 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.depth += 1
            if attrs.get("for"):
                self.labelled.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get(
                "type") not in ("hidden", "submit"):
            self.controls.append((attrs.get("id"), attrs.get("name"),
                                  self.depth > 0 or "aria-label" in attrs))

    def handle_endtag(self, tag):
        if tag == "label":
            self.depth -= 1


def test_every_form_control_has_a_label(admin, two):
    a, _ = two
    for path in ("/console/", "/console/numbers",
                 "/console/numbers/%d" % a.instance_id, "/console/customers",
                 "/console/customers/%d" % a.customer_id, "/console/keys",
                 "/console/messages", "/console/suppressions",
                 "/console/webhooks", "/console/3cx", "/console/account",
                 "/console/login"):
        parser = FormControls()
        parser.feed(admin.get(path).get_data(True))
        for ident, name, wrapped in parser.controls:
            assert wrapped or ident in parser.labelled, (path, name)


def test_unknown_console_pages_are_the_consoles_404(admin, client, two):
    answer = admin.get("/console/no/such/page")
    assert answer.status_code == 404
    assert "Not found" in answer.get_data(True)
    assert answer.headers["Content-Type"].startswith("text/html")
    assert client.get("/console/nope").status_code == 302  # sign in first
    api = client.get("/api/nope")
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"


def test_sessions_and_login_limits_hold_across_gunicorn_workers(
        serve_gateway):
    """Sessions are rows, the cookie key is in the database and failures
    are counted in the shared limits storage: every worker agrees."""
    import requests as http
    create_account()
    with store.db.connection_context():
        console_auth.create_operator("ops@example.com", PASSWORD)
    server = serve_gateway(workers=3)
    url = server.url

    def form_token(session, path):
        return csrf_of(session.get(url + path, timeout=10).text)

    with http.Session() as browser:
        answer = browser.post(url + "/console/login", data={
            "email": "ops@example.com", "password": PASSWORD,
            "csrf_token": form_token(browser, "/console/login")},
            allow_redirects=False, timeout=10)
        assert answer.status_code == 302
        # Many requests, spread over the workers: all signed in.
        for _ in range(12):
            page = browser.get(url + "/console/keys", allow_redirects=False,
                               timeout=10)
            assert page.status_code == 200
        browser.post(url + "/console/logout", data={
            "csrf_token": form_token(browser, "/console/account")},
            timeout=10)
        for _ in range(6):
            assert browser.get(url + "/console/keys", allow_redirects=False,
                               timeout=10).status_code == 302
    with http.Session() as guesser:
        codes = []
        for _ in range(console_auth.FAILURES_PER_ACCOUNT.amount + 1):
            codes.append(guesser.post(url + "/console/login", data={
                "email": "ops@example.com", "password": "not the password",
                "csrf_token": form_token(guesser, "/console/login")},
                timeout=10).status_code)
    assert codes == [401] * console_auth.FAILURES_PER_ACCOUNT.amount + [429]


# Tables that grow with traffic: a console query may only walk them
# through an index, or in primary-key order under a LIMIT (a keyset page).
BIG_TABLES = ("messagelog", "event", "delivery", "deliveryattempt",
              "messagereceipt", "suppression", "inboundevent",
              "threecxevent", "pauserecord", "usagecount")
KEYSET = re.compile(r"ORDER BY [\"\w.]*\bid\"? DESC LIMIT", re.IGNORECASE)


def test_console_pages_walk_indexes_only(app, admin, user, two, receiver,
                                         monkeypatch):
    import sqlite3
    a, b = two
    if store.db.obj.engine != "sqlite":
        pytest.skip("SQLite's plans (PostgreSQL plans from statistics)")
    client = app.test_client()
    for n in range(3):
        send(client, a, phone="+96650123456%d" % n)
    send(client, a, message_purpose="marketing")
    endpoint = create_endpoint(a.customer_id, receiver.url)
    admin.post("/console/webhooks/%d/test" % endpoint.id)
    statements = set()
    database = store.db.obj
    database.close_all()
    original = database._connect

    def traced_connect():
        connection = original()
        connection.set_trace_callback(statements.add)
        return connection
    monkeypatch.setattr(database, "_connect", traced_connect)
    with store.db.connection_context():
        log_id = store.MessageLog.select().first().id
        delivery_id = store.Delivery.select().first().id
    pages = ["/console/", "/console/numbers", "/console/messages",
             "/console/numbers/%d" % a.instance_id,
             "/console/messages?outcome=refused",
             "/console/messages?purpose=support&outcome=sent",
             "/console/messages?phone=%2B966501234561",
             "/console/messages?instance=support-line",
             "/console/messages?day=" + store.utcnow().date().isoformat(),
             "/console/messages?before=3&customer_id=%d" % a.customer_id,
             "/console/messages/%d" % log_id, "/console/suppressions",
             "/console/webhooks", "/console/webhooks/deliveries",
             "/console/webhooks/deliveries?status=dead",
             "/console/webhooks/deliveries/%d" % delivery_id,
             "/console/keys", "/console/customers", "/console/3cx"]
    for browser in (admin, user):
        for path in pages:
            assert browser.get(path).status_code == 200, path
    store.db.close_all()
    conn = sqlite3.connect(app.extensions["gateway"]["db_path"])
    checked, scans = 0, []
    try:
        for sql in sorted(statements):
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            checked += 1
            for row in conn.execute("EXPLAIN QUERY PLAN " + sql):
                match = re.match(r"SCAN (\w+)(?! USING (?:COVERING )?"
                                 r"INDEX \S+ \()", row[3])
                if match and match.group(1) in BIG_TABLES \
                        and not KEYSET.search(sql):
                    scans.append((sql, row[3]))
    finally:
        conn.close()
    assert checked > 20
    assert not scans, "\n".join("%s\n    %s" % s for s in scans)


HUGE = "9" * 25


@pytest.mark.parametrize("path", [
    "/console/messages/" + HUGE, "/console/customers/" + HUGE,
    "/console/numbers/" + HUGE, "/console/webhooks/deliveries/" + HUGE,
    "/console/messages?before=" + HUGE, "/console/messages?customer_id=" + HUGE,
    "/console/messages?day=9999-12-31",
    "/console/messages?since=0001-01-01T00:00%2B14:00",
    "/console/messages?before=%C2%B2", "/console/messages?instance=" + HUGE,
    "/console/suppressions?before=" + HUGE,
    "/console/webhooks/deliveries?endpoint_id=" + HUGE + "&before=" + HUGE,
])
def test_out_of_range_ids_and_dates_are_not_server_errors(admin, path):
    answer = admin.get(path)
    assert answer.status_code in (200, 400, 404), (path, answer.status_code)


def test_deliveries_pager_keeps_the_endpoint_filter(app, admin, two):
    import reports
    original = reports.deliveries
    reports.deliveries = lambda *args: ([], 7)
    try:
        page = admin.get("/console/webhooks/deliveries?endpoint_id=3")
    finally:
        reports.deliveries = original
    assert "endpoint_id=3" in page.get_data(True).split('rel="next"')[1]


def test_a_create_form_with_an_odd_customer_id_is_refused(admin):
    answer = admin.post("/console/keys", {"customer_id": "\u00b2"})
    assert answer.status_code in (200, 400), answer.status_code


def test_delivery_list_pages_merge_newest_first(app):
    """One query per status or endpoint, merged: the page is the newest
    rows of all of them, and the next page starts where it ended."""
    import reports
    a = create_account(name="Acme")
    one = create_endpoint(a.customer_id, "http://127.0.0.1:9/a")
    two = create_endpoint(a.customer_id, "http://127.0.0.1:9/b")
    other = create_account(name="Beta", instance_name="beta-line",
                           evolution_instance="evo-beta")
    three = create_endpoint(other.customer_id, "http://127.0.0.1:9/c")
    with store.db.connection_context():
        ids = []
        for i in range(30):
            event = store.Event.create(
                uid="evt_%d" % i, customer=a.customer_id, name="message.sent",
                payload="{}")
            endpoint = (one, two, three)[i % 3]
            status = ("pending", "delivering", "dead", "delivered")[i % 4]
            ids.append((store.Delivery.create(
                event=event, endpoint=endpoint.id, status=status).id,
                endpoint.id, status))
        mine = [d for d, e, _ in reversed(ids) if e in (one.id, two.id)]
        rows, after = reports.deliveries(a.customer_id, limit=7)
        assert [r.id for r in rows] == mine[:7] and after == mine[6]
        rows, after = reports.deliveries(a.customer_id, before=after, limit=7)
        assert [r.id for r in rows] == mine[7:14]
        pending = [d for d, e, s in reversed(ids)
                   if s in ("pending", "delivering")]
        rows, _ = reports.deliveries(status="pending", limit=100)
        assert [r.id for r in rows] == pending
        dead_mine = [d for d, e, s in reversed(ids)
                     if s == "dead" and e in (one.id, two.id)]
        rows, _ = reports.deliveries(a.customer_id, "dead", limit=100)
        assert [r.id for r in rows] == dead_mine
        # Another customer's endpoint is not found in this scope.
        assert reports.deliveries(a.customer_id, endpoint_id=three.id,
                                  limit=100)[0] == []
