"""Small servers the benchmark runs as their own processes (loopback only).

``gunicorn --chdir bench 'servers:create_sandbox_app()'``
    the Evolution sandbox (``sandbox.py``) as a real HTTP server with
    keep-alive, as Evolution's own (Express) server has; one instance
    (``BENCH_SANDBOX_INSTANCE`` / ``BENCH_SANDBOX_TOKEN``) and delivery
    receipts off (nothing listens for them here);
``python bench/servers.py sandbox --port P --instance NAME --token T``
    the same on the sandbox's own werkzeug server, which closes the
    connection after every answer (``--sandbox-server werkzeug``);
``python bench/servers.py receiver --port P [--hang S]``
    a customer webhook endpoint that counts deliveries (``GET /stats``),
    or, with ``--hang``, one that never answers within S seconds;
``gunicorn --chdir bench 'servers:create_bare_app()'``
    the bare Flask endpoint the gateway is compared with.

Per-request access logging of the werkzeug servers is off: it is not part
of what is measured and would only steal CPU from the gateway.
"""
import argparse
import json
import logging
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HANG_CAP_S = 60  # a hanging answer never outlives this, whatever is asked


def create_bare_app():
    """The baseline: parse a JSON POST, answer a small JSON body."""
    from flask import Flask
    from flask import jsonify
    from flask import request
    app = Flask("bare")

    @app.post("/echo")
    def echo():
        data = request.get_json(silent=True) or {}
        return jsonify({"success": True, "status": "sent",
                        "fields": len(data)})
    return app


def _sandbox_state(instance, token):
    sys.path.insert(0, ROOT)
    import sandbox
    state = sandbox.SandboxState(config={"ack_delay_s": None})
    state.add_instance(instance, token=token)
    return state


def create_sandbox_app():
    """The sandbox app for gunicorn (one worker: its state is in memory)."""
    import sandbox
    state = _sandbox_state(os.environ["BENCH_SANDBOX_INSTANCE"],
                           os.environ["BENCH_SANDBOX_TOKEN"])
    return sandbox.create_sandbox_app(state)


def run_sandbox(port, instance, token):
    import sandbox
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    state = _sandbox_state(instance, token)
    sandbox.run_sandbox(host="127.0.0.1", port=port, state=state)


class _Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.event_ids = set()
        self.first_at = None
        self.last_at = None

    def add(self, event_id):
        now = time.time()
        with self.lock:
            self.count += 1
            if event_id:
                self.event_ids.add(event_id)
            self.first_at = self.first_at or now
            self.last_at = now

    def snapshot(self):
        with self.lock:
            return {"count": self.count, "unique": len(self.event_ids),
                    "first_at": self.first_at, "last_at": self.last_at}

    def reset(self):
        with self.lock:
            self.count, self.event_ids = 0, set()
            self.first_at = self.last_at = None


def run_receiver(port, hang):
    counter = _Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint
        # Headers and body leave in two writes; with Nagle on, each answer
        # would wait ~40 ms for the client's delayed ACK (a real endpoint
        # behind nginx does not), capping deliveries per connection.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def _answer(self, status, body=b""):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/stats":
                self._answer(200, json.dumps(counter.snapshot()).encode())
            else:
                self._answer(404)

        def do_DELETE(self):
            counter.reset()
            self._answer(204)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            if hang:
                # Never answers in time: the gateway's webhook timeout
                # fires first and it closes the connection.
                time.sleep(min(hang, HANG_CAP_S))
                self.close_connection = True
                return
            counter.add(self.headers.get("X-WhatsApp-Gateway-Event-Id"))
            self._answer(200, b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever(poll_interval=0.2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("sandbox")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--instance", required=True)
    p.add_argument("--token", required=True)
    p = sub.add_parser("receiver")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--hang", type=float, default=0)
    args = parser.parse_args(argv)
    if args.what == "sandbox":
        run_sandbox(args.port, args.instance, args.token)
    else:
        run_receiver(args.port, args.hang)


if __name__ == "__main__":
    main()
