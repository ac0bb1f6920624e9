"""The production kit, run for real: the shipped nginx site file in front
of ``gateway serve`` (gunicorn.conf.py), with slow clients.

nginx is Debian's package (``.ci/run`` installs it); the test starts it
in the foreground with a temporary prefix and only rewrites what a site
differs in: addresses, ports, certificate paths.
"""
import datetime
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest
import requests
import urllib3

import store
from conftest import ROOT
from conftest import create_account
from conftest import free_port
from conftest import send_body
from contract import validate_api_error

SITE = os.path.join(ROOT, "deploy", "nginx", "gateway.conf")
UNIT = os.path.join(ROOT, "deploy", "systemd", "gateway.service")
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
     if os.path.exists(p)), None)

needs_nginx = pytest.mark.skipif(
    NGINX is None and os.environ.get("CI") != "true",
    reason="nginx is not installed (CI installs it)")


def make_certificate(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         "gateway.example.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
    return cert_path, key_path


def substitute(text, pattern, replacement):
    result, count = re.subn(pattern, replacement, text)
    assert count, "the site file no longer has %r" % pattern
    return result


def site_for_test(upstream_port, http_port, https_port, cert, key):
    with open(SITE) as handle:
        site = handle.read()
    site = substitute(site, r"server 127\.0\.0\.1:8000",
                      "server 127.0.0.1:%d" % upstream_port)
    site = substitute(site, r"listen 80;",
                      "listen 127.0.0.1:%d;" % http_port)
    site = substitute(site, r"listen 443 ssl;",
                      "listen 127.0.0.1:%d ssl;" % https_port)
    site = substitute(site, r"\n\s*listen \[::\]:\d+( ssl)?;", "")
    site = substitute(site, r"ssl_certificate\s+\S+;",
                      "ssl_certificate %s;" % cert)
    site = substitute(site, r"ssl_certificate_key\s+\S+;",
                      "ssl_certificate_key %s;" % key)
    return site


class Nginx:
    def __init__(self, prefix, upstream_port, edit=None):
        self.prefix = str(prefix)
        self.http_port = free_port()
        self.https_port = free_port()
        cert, key = make_certificate(self.prefix)
        site = site_for_test(upstream_port, self.http_port,
                             self.https_port, cert, key)
        with open(os.path.join(self.prefix, "gateway.conf"), "w") as out:
            out.write(edit(site) if edit else site)
        temp = "".join("%s_temp_path %s/%s;\n" % (kind, self.prefix, kind)
                       for kind in ("client_body", "proxy", "fastcgi",
                                    "uwsgi", "scgi"))
        with open(os.path.join(self.prefix, "nginx.conf"), "w") as out:
            out.write(
                ("user root;\n" if os.geteuid() == 0 else "")
                + "worker_processes 1;\n"
                "pid %(p)s/nginx.pid;\nerror_log %(p)s/error.log info;\n"
                "events { worker_connections 512; }\n"
                "http {\n default_type application/octet-stream;\n"
                " access_log %(p)s/access.log;\n%(temp)s"
                " include %(p)s/gateway.conf;\n}\n"
                % {"p": self.prefix, "temp": temp})
        check = subprocess.run(
            [NGINX, "-t", "-e", "stderr", "-p", self.prefix, "-c",
             os.path.join(self.prefix, "nginx.conf")],
            capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(
            [NGINX, "-e", "stderr", "-p", self.prefix, "-c",
             os.path.join(self.prefix, "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.url = "https://127.0.0.1:%d" % self.https_port
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.https_port),
                                         timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nginx did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


@pytest.fixture
def stack(tmp_path, serve_gateway):
    """gunicorn (1 worker, 4 threads) with the shipped nginx in front."""
    if NGINX is None:
        pytest.fail("nginx is required in CI: install Debian's nginx")
    server = serve_gateway(workers=1, THREADS=4)
    port = int(server.url.rsplit(":", 1)[1])
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    nginx = Nginx(prefix, port)
    yield server, nginx
    nginx.stop()


def https_session():
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    session = requests.Session()
    session.verify = False
    session.trust_env = False  # else REQUESTS_CA_BUNDLE wins over verify
    return session


class SlowClient(threading.Thread):
    """Sends a request a byte at a time and never finishes it."""

    def __init__(self, port, tls, body=False):
        super().__init__(daemon=True)
        self.port, self.tls, self.body = port, tls, body
        self.stop = threading.Event()

    def run(self):
        sock = None
        try:
            sock = socket.create_connection(("127.0.0.1", self.port),
                                            timeout=30)
            if self.tls:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                sock = context.wrap_socket(sock)
            head = (b"POST /api/send-message HTTP/1.1\r\nHost: gw\r\n"
                    b"Content-Type: application/json\r\n")
            if self.body:
                sock.sendall(head + b"Content-Length: 100000\r\n\r\n{")
                drip = b" "
            else:
                sock.sendall(head)
                drip = b"X"
            while not self.stop.wait(0.5):
                sock.sendall(drip)
        except OSError:
            pass
        finally:
            if sock is not None:
                sock.close()


def start_slow_clients(port, tls, count=12):
    clients = [SlowClient(port, tls, body=n % 2 == 0) for n in range(count)]
    for client in clients:
        client.start()
    time.sleep(1.5)  # every one of them has sent its first bytes
    return clients


def stop(clients):
    for client in clients:
        client.stop.set()
    for client in clients:
        client.join(5)


@needs_nginx
def test_slow_clients_do_not_stop_sends_behind_the_shipped_nginx(stack,
                                                                  sandbox):
    server, nginx = stack
    account = create_account()
    port = int(server.url.rsplit(":", 1)[1])
    # The failure, reproduced: straight at gunicorn, 12 slow clients take
    # its threads and a send cannot get through.
    clients = start_slow_clients(port, tls=False)
    try:
        with pytest.raises(requests.Timeout):
            requests.post(server.url + "/api/send-message",
                          json=send_body(), headers=account.headers,
                          timeout=3)
    finally:
        stop(clients)
    time.sleep(1)
    # The same clients against nginx cost gunicorn nothing.
    clients = start_slow_clients(nginx.https_port, tls=True, count=24)
    try:
        session = https_session()
        for n in range(6):
            started = time.monotonic()
            response = session.post(nginx.url + "/api/send-message",
                                    json=send_body(phone="+96650100%04d" % n),
                                    headers=account.headers, timeout=10)
            assert response.status_code == 200, response.text
            assert time.monotonic() - started < 3
    finally:
        stop(clients)


@needs_nginx
def test_nginx_passes_the_intake_limit_and_answers_its_errors_in_json(
        stack):
    server, nginx = stack
    session = https_session()
    create_account()
    with store.db.connection_context():
        secret = store.Instance.get().webhook_secret
    # An Evolution webhook of 8 MiB passes nginx and is taken in.
    body = (b'{"event":"x","instance":"evo-support","data":"'
            + b"a" * (8 * 1024 * 1024 - 60) + b'"}')
    assert len(body) <= 8 * 1024 * 1024
    response = session.post(nginx.url + "/webhooks/evolution/support-line",
                            data=body, timeout=30, headers={
                                "Content-Type": "application/json",
                                "X-Gateway-Secret": secret})
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    # Larger than nginx takes: its own 413, as JSON.
    sock = socket.create_connection(("127.0.0.1", nginx.https_port))
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with context.wrap_socket(sock) as tls:
        tls.sendall(b"POST /webhooks/evolution/x HTTP/1.1\r\nHost: gw\r\n"
                    b"Content-Type: application/json\r\n"
                    b"Content-Length: 200000000\r\n\r\n")
        answer = b""
        while b"}\n" not in answer:
            chunk = tls.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b"Content-Type: application/json" in head
    assert json.loads(payload)["error"] == "payload_too_large"
    # Elsewhere nginx takes no more than a send could be (2 MB): a body
    # announced larger is refused before it is read.
    too_big = session.post(nginx.url + "/api/send-message",
                           data=b"x" * (3 * 1024 * 1024), timeout=30,
                           headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "payload_too_large"
    # The gateway's own errors pass through untouched.
    missing = session.get(nginx.url + "/no-such-route", timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"success": False, "error": "not_found",
                              "message": "No such route.", "details": {}}
    # Forwarded headers: the gateway sees the client, not a spoofed one.
    assert session.get(nginx.url + "/readyz", timeout=10).status_code == 200
    # Metrics are internal-only through nginx (loopback here: allowed).
    assert session.get(nginx.url + "/metrics", timeout=10).status_code == 200
    # Plain HTTP only redirects.
    redirect = requests.get("http://127.0.0.1:%d/api/send-message"
                            % nginx.http_port, allow_redirects=False,
                            timeout=10)
    assert redirect.status_code == 301
    assert redirect.headers["Location"].startswith("https://")
    # The gateway down: nginx's 502 is JSON too, with Retry-After.
    server.proc.terminate()
    server.proc.wait(timeout=30)
    down = session.get(nginx.url + "/healthz", timeout=10)
    assert down.status_code == 502
    assert down.headers["Content-Type"] == "application/json"
    assert down.json()["error"] == "gateway_send_failed"
    assert down.json()["details"] == {"outcome": "failed"}
    validate_api_error(down.json())
    assert down.headers["Retry-After"] == "5"


@needs_nginx
def test_nginx_timeout_is_json_saying_the_outcome_is_unknown(tmp_path):
    """A gateway that takes the request and does not answer in time (a
    send waiting on a hung Evolution): nginx's 504 is the contract's
    JSON, telling the client to retry with the same Idempotency-Key."""
    if NGINX is None:
        pytest.fail("nginx is required in CI: install Debian's nginx")
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)
    held = []

    def hold():  # accept and read, never answer
        while True:
            try:
                conn, _ = hung.accept()
            except OSError:
                return
            held.append(conn)
    threading.Thread(target=hold, daemon=True).start()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    nginx = Nginx(prefix, hung.getsockname()[1], edit=lambda site: (
        substitute(site, r"proxy_read_timeout \d+s;",
                   "proxy_read_timeout 1s;")))
    try:
        answer = https_session().post(
            nginx.url + "/api/send-message", json=send_body(),
            headers={"Authorization": "Bearer wag_x",
                     "Idempotency-Key": "k-1"}, timeout=30)
        assert answer.status_code == 504
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.headers["Retry-After"] == "5"
        body = answer.json()
        assert body["success"] is False
        assert body["error"] == "gateway_send_failed"
        validate_api_error(body)
        assert body["details"] == {"outcome": "unknown"}
        assert "Idempotency-Key" in body["message"]
    finally:
        nginx.stop()
        hung.close()
        for conn in held:
            conn.close()


def test_systemd_unit_runs_the_shared_gunicorn_settings():
    with open(UNIT) as handle:
        unit = handle.read()
    assert re.search(r"^ExecStart=\S+/gateway serve$", unit, re.M)
    assert "GATEWAY_DATA_DIR=" in unit
    assert "PROMETHEUS_MULTIPROC_DIR=" in unit
    assert "UMask=0077" in unit
    with open(os.path.join(ROOT, "Procfile")) as handle:
        assert handle.read().strip() == "web: gunicorn -c gunicorn.conf.py"
