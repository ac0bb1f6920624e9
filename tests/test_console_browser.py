"""The console driven end to end by headless Chromium (Selenium with
Debian's ``chromium`` and ``chromium-driver``), against the gateway served
over real HTTP on 127.0.0.1 and the Evolution sandbox as its own server.

Skipped only when Chromium is missing on a developer's machine; in CI
(``CI=true``) a missing browser fails.  ``UPDATE_SCREENSHOTS=1`` also
writes the README's screenshots to ``docs/screenshots/``.
"""
import os
import shutil
import threading
import time

import pytest
import requests

import console_auth
import store
from conftest import EVOLUTION_TOKEN
from conftest import ROOT
from conftest import create_account
from conftest import free_port
from conftest import send_body

PASSWORD = "correct horse battery staple"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
IN_CI = os.environ.get("CI", "").lower() == "true"
SHOTS = os.path.join(ROOT, "docs", "screenshots")

if not (CHROMIUM and CHROMEDRIVER):
    if IN_CI:
        raise RuntimeError("CI needs Debian's chromium and chromium-driver "
                           "for the console's browser tests")
    pytest.skip("chromium / chromedriver not installed",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def live(make_app, sandbox):
    """The gateway app served over HTTP on a free loopback port."""
    from werkzeug.serving import make_server
    sandbox.state.add_instance("evo-beta", token=EVOLUTION_TOKEN)
    app = make_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield type("Live", (), {"url": "http://127.0.0.1:%d"
                            % server.server_port, "app": app})
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", "--window-size=1280,900",
                "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    # The browser's zone differs from UTC so the script's localising shows.
    service = Service(CHROMEDRIVER, env=dict(os.environ,
                                             TZ="Asia/Riyadh"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def shot(driver, name, tmp_path):
    driver.save_screenshot(str(tmp_path / (name + ".png")))
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        os.makedirs(SHOTS, exist_ok=True)
        driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def wait(driver, seconds=15):
    return WebDriverWait(driver, seconds)


def sign_in(driver, url, email):
    driver.get(url + "/console/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver).until(EC.url_contains("/console/"))
    wait(driver).until(lambda d: "/login" not in d.current_url)


def submit_form_of(driver, element_id):
    driver.find_element(By.ID, element_id).find_element(
        By.XPATH, "ancestor::form").find_element(
        By.CSS_SELECTOR, "button[type=submit]").click()


def test_operator_journey_in_a_real_browser(live, browser, receiver,
                                            tmp_path):
    a = create_account(name="Acme")
    b = create_account(name="Beta", instance_name="beta-line",
                       evolution_instance="evo-beta")
    with store.db.connection_context():
        console_auth.create_operator("ops@example.com", PASSWORD)
        console_auth.create_operator("it@acme.example", PASSWORD,
                                     customer_id=a.customer_id)
    url = live.url

    # 1. Sign in; the overview shows both customers' numbers.
    sign_in(browser, url, "ops@example.com")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Overview"
    assert "beta-line" in browser.page_source

    # 2. Create an API key with a label: shown once.
    browser.get(url + "/console/keys")
    browser.find_element(By.ID, "label").send_keys("shop backend")
    submit_form_of(browser, "label")
    key = wait(browser).until(EC.presence_of_element_located(
        (By.ID, "secret"))).get_attribute("value")
    assert key.startswith("wgk_")
    browser.get(url + "/console/keys")
    assert key not in browser.page_source

    # 3. Send with it over the API.
    with requests.Session() as http:
        answer = http.post(url + "/api/send-message", json=send_body(),
                           headers={"Authorization": "Bearer " + key},
                           timeout=10)
        assert answer.status_code == 200, answer.text
        log_id = answer.json()["log_id"]
        refused = http.post(url + "/api/send-message",
                            json=send_body(message_purpose="marketing"),
                            headers={"Authorization": "Bearer " + key},
                            timeout=10)
        assert refused.status_code == 422
        # Beta sends too: Acme's user must never see it.
        beta = http.post(url + "/api/send-message",
                         json=send_body(instance_id="beta-line"),
                         headers=b.headers, timeout=10)
        assert beta.status_code == 200
        beta_log = beta.json()["log_id"]

    # 4. Find it in the log, filtered by outcome, and open its detail.
    browser.get(url + "/console/messages")
    from selenium.webdriver.support.ui import Select
    Select(browser.find_element(By.ID, "f-outcome")).select_by_visible_text(
        "sent")
    Select(browser.find_element(By.ID, "f-instance")
           ).select_by_visible_text("support-line")
    submit_form_of(browser, "f-outcome")
    wait(browser).until(EC.url_contains("outcome=sent"))
    link = browser.find_element(By.LINK_TEXT, str(log_id))
    assert "message_purpose_not_allowed" not in browser.page_source
    # Times: UTC in the markup, the browser's zone (Riyadh) on screen.
    stamp = browser.find_element(By.CSS_SELECTOR, "table.log time")
    assert stamp.get_attribute("datetime").endswith("Z")
    assert "UTC" not in stamp.text and "GMT+3" in stamp.text
    shot(browser, "messages", tmp_path)
    link.click()
    wait(browser).until(EC.url_contains("/console/messages/%d" % log_id))
    steps = [li.get_attribute("class") for li in browser.find_elements(
        By.CSS_SELECTOR, ".timeline li")]
    assert steps[:2] == ["step-accepted", "step-sent"]
    browser.find_element(By.TAG_NAME, "summary").click()
    assert "Your order #2041" in browser.find_element(
        By.CSS_SELECTOR, "pre.text").text
    shot(browser, "message", tmp_path)

    # 5. A webhook endpoint that fails until its deliveries are dead...
    receiver.script = [(500, {})] * 10
    browser.get(url + "/console/webhooks")
    Select(browser.find_element(By.ID, "customer_id")).select_by_value(
        str(a.customer_id))
    browser.find_element(By.ID, "url").send_keys(receiver.url)
    submit_form_of(browser, "url")
    receiver.secret = wait(browser).until(EC.presence_of_element_located(
        (By.ID, "secret"))).get_attribute("value")
    browser.get(url + "/console/webhooks")
    browser.find_element(By.XPATH, "//button[text()='Send test event']"
                         ).click()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with store.db.connection_context():
            dead = store.Delivery.select().where(
                store.Delivery.status == "dead").first()
        if dead:
            break
        time.sleep(0.1)
    assert dead, "the delivery never died"
    receiver.script = []
    # ... is replayed from the dead letters and arrives, signed.
    browser.get(url + "/console/webhooks/deliveries?status=dead")
    assert "HTTP 500" in browser.page_source
    shot(browser, "deliveries", tmp_path)
    browser.find_element(By.XPATH, "//button[text()='Replay']").click()
    receiver.wait_for(lambda r: any(
        x["valid"] for x in r.received[-1:]) and len(r.received) >= 5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        browser.get(url + "/console/webhooks/deliveries/%d" % dead.id)
        if "d-delivered" in browser.page_source:
            break
        time.sleep(0.2)
    assert "d-delivered" in browser.page_source
    # Every attempt is listed: the four 500s and the 200 of the replay.
    answers = [td.text for td in browser.find_elements(
        By.XPATH, "//h2[text()='Attempts']/following-sibling::table[1]"
        "//tbody/tr/td[3]")]
    assert answers.count("500") == 4 and answers[0] == "200", answers

    # The overview, and the console on a phone-sized screen.
    browser.get(url + "/console/")
    shot(browser, "overview", tmp_path)
    browser.set_window_size(390, 844)
    browser.get(url + "/console/messages/%d" % log_id)
    assert browser.execute_script(
        "return document.documentElement.scrollWidth") <= 400
    shot(browser, "phone", tmp_path)
    browser.set_window_size(1280, 900)

    # 6. A customer's user: their own pages work, Beta's are 404.
    browser.find_element(By.XPATH, "//button[text()='Sign out']").click()
    wait(browser).until(EC.url_contains("/console/login"))
    sign_in(browser, url, "it@acme.example")
    assert "beta-line" not in browser.page_source
    for path in ("/console/numbers/%d" % b.instance_id,
                 "/console/messages/%d" % beta_log,
                 "/console/customers/%d" % b.customer_id):
        browser.get(url + path)
        assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"
        status = browser.execute_script(
            "return fetch(arguments[0]).then(r => r.status)", url + path)
        assert status == 404
    browser.get(url + "/console/messages/%d" % log_id)
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(
        "Message %d" % log_id)


def number_lifecycle_available():
    import importlib.util
    return importlib.util.find_spec("whatsapp_numbers") is not None


@pytest.mark.skipif(not number_lifecycle_available(),
                    reason="the number lifecycle (whatsapp_numbers) is not "
                    "in this tree")
def test_connecting_a_number_with_the_qr_code(make_app, sandbox, browser,
                                               tmp_path):
    from werkzeug.serving import make_server
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    # Evolution (the sandbox server) posts this number's events here.
    app = make_app(PUBLIC_URL=url)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        a = create_account(name="Acme")
        with store.db.connection_context():
            console_auth.create_operator("ops@example.com", PASSWORD)
        sign_in(browser, url, "ops@example.com")
        browser.get(url + "/console/numbers")
        from selenium.webdriver.support.ui import Select
        Select(browser.find_element(By.ID, "customer_id")).select_by_value(
            str(a.customer_id))
        browser.find_element(By.ID, "name").send_keys("sales-line")
        submit_form_of(browser, "name")
        browser.find_element(By.LINK_TEXT, "sales-line").click()
        browser.find_element(By.XPATH,
                             "//button[text()='Connect with a QR code']"
                             ).click()
        qr = wait(browser).until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "img.qr")))
        assert qr.get_attribute("src").startswith("data:image/png")
        shot(browser, "connect", tmp_path)
        with store.db.connection_context():
            evolution_name = store.Instance.get(
                store.Instance.name == "sales-line").evolution_instance
        scanned = requests.post(
            sandbox.url + "/_sandbox/scan/" + evolution_name, json={},
            headers={"apikey": sandbox.state.api_key}, timeout=10)
        assert scanned.status_code == 201, scanned.text
        # The page refreshes by itself until the connection is open.
        wait(browser, 30).until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "[data-done]")))
        assert "connection is open" in browser.page_source
        browser.get(url + "/console/numbers")
        assert "state-open" in browser.page_source
    finally:
        server.shutdown()
        server.server_close()
