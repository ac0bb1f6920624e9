"""The sandbox's transports: in-process (a requests adapter) and real HTTP.

``WSGIAdapter`` serves the sandbox app inside the caller's thread (the
gateway's zero-config default: no socket, no second process);
``start_sandbox_thread`` and ``run_sandbox`` serve it on a real port
(tests, ``gateway sandbox``).
"""
import io
import logging
import threading
import time
from urllib.parse import unquote
from urllib.parse import unquote_to_bytes
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import BaseConverter
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

# environ key: {"at": monotonic read deadline, "hit": bool}.  A dict, so
# the flag survives run_wsgi_app's shallow copy of the environ.
DEADLINE_KEY = "sandbox.deadline"


class EncodedSegments:
    """WSGI middleware: route on the path as sent, segment by segment.

    Express matches ``/:instanceName`` against the raw path and decodes
    the parameter afterwards, so ``/webhook/find/a%2Fb`` is instance
    ``a/b``.  WSGI servers hand over PATH_INFO already decoded, where that
    would be two segments (a 404).  This rebuilds PATH_INFO from the raw
    URI with each segment decoded except ``%`` and ``/`` (kept as ``%25``
    and ``%2F``); :class:`SegmentConverter` decodes those two.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw and not environ.get("SCRIPT_NAME"):
            # WSGI strings are bytes read as latin-1.
            raw_path = raw.encode("latin-1").split(b"?", 1)[0]
            if not raw_path.startswith(b"/"):  # absolute-form
                raw_path = urlsplit(raw_path).path or b"/"
            if unquote_to_bytes(raw_path) == environ.get(
                    "PATH_INFO", "").encode("latin-1"):
                environ["PATH_INFO"] = b"/".join(
                    unquote_to_bytes(segment).replace(b"%", b"%25")
                    .replace(b"/", b"%2F")
                    for segment in raw_path.split(b"/")).decode("latin-1")
        return self.wsgi_app(environ, start_response)


class SegmentConverter(BaseConverter):
    """A path segment (Flask's default) as :class:`EncodedSegments` left
    it: ``%25`` and ``%2F`` are decoded here, after routing."""

    def to_python(self, value):
        return unquote(value)


class WSGIAdapter(BaseAdapter):
    """A requests transport that calls a WSGI app in the caller's thread.

    Mount it for the sandbox base URL::

        session.mount("http://evolution.sandbox", WSGIAdapter(app))

    The read timeout is passed to the app as a monotonic deadline in the
    environ; the sandbox's sleeps (`delay`, fail_next hangs) stop at it
    and the adapter raises ``requests.exceptions.ReadTimeout``.  Other
    slow code in the app is not interrupted.
    """

    def __init__(self, app):
        super().__init__()
        self.app = app

    def send(self, request, stream=False, timeout=None, verify=True,
             cert=None, proxies=None):
        """Serve one PreparedRequest through the WSGI app."""
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        parts = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):
            body = b"".join(body)  # generators / iterables
        builder = EnvironBuilder(
            path=parts.path or "/", query_string=parts.query,
            base_url=f"{parts.scheme}://{parts.netloc}",
            method=request.method, headers=dict(request.headers),
            data=body)
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        deadline = None
        if read_timeout is not None:
            deadline = {"at": time.monotonic() + read_timeout, "hit": False}
            environ[DEADLINE_KEY] = deadline
        app_iter, status, headers = run_wsgi_app(self.app, environ,
                                                 buffered=True)
        try:
            content = b"".join(app_iter)
        finally:
            getattr(app_iter, "close", lambda: None)()
        if deadline and deadline["hit"]:
            raise requests.exceptions.ReadTimeout(
                f"sandbox read timed out (read timeout={read_timeout})",
                request=request)
        return self.build_response(request, status, headers, content)

    def build_response(self, request, status, headers, content):
        """A requests.Response equivalent to what HTTPAdapter returns."""
        response = requests.Response()
        response.status_code = int(status.split(" ", 1)[0])
        response.reason = (status.split(" ", 1)[1:] or [
            HTTP_STATUS_CODES.get(response.status_code, "")])[0]
        response.headers = CaseInsensitiveDict(headers.to_wsgi_list())
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = io.BytesIO(content)
        response._content = content
        response._content_consumed = True
        response.url = request.url
        response.request = request
        response.connection = self
        return response

    def close(self):
        """Nothing to release: no sockets, no pools."""


# --------------------------------------------------------------- serving

def start_sandbox_thread(host="127.0.0.1", port=0, state=None, config=None):
    """Serve the sandbox in a daemon thread; returns (server, base_url).

    Call ``server.shutdown()`` and ``server.server_close()`` when done,
    and ``state.close()`` to stop webhook delivery.  The state is also
    available as ``server.sandbox_state``.
    """
    import sandbox  # it imports this module
    state = state or sandbox.SandboxState()
    app = sandbox.create_sandbox_app(state, config)
    server = make_server(host, port, app, threaded=True)
    server.sandbox_state = state
    base_url = f"http://{host}:{server.server_port}"
    if state.config["server_url"] == sandbox.DEFAULT_CONFIG["server_url"]:
        state.config["server_url"] = base_url  # envelope `server_url`
    # A short poll interval makes shutdown() return quickly in tests.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                              name="sandbox-http", daemon=True)
    thread.start()
    return server, base_url


def run_sandbox(host="127.0.0.1", port=8081, state=None, config=None):
    """Serve the sandbox over HTTP until interrupted (Ctrl-C)."""
    import sandbox
    state = state or sandbox.SandboxState()
    app = sandbox.create_sandbox_app(state, config)
    server = make_server(host, port, app, threaded=True)
    if state.config["server_url"] == sandbox.DEFAULT_CONFIG["server_url"]:
        state.config["server_url"] = f"http://{host}:{server.server_port}"
    print(f"Evolution sandbox {state.config['version']} on "
          f"http://{host}:{server.server_port}")
    print(f"Global API key: {state.api_key}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        state.close()


def main(argv=None):
    """`python sandbox.py [--port N] [--api-key K] [--version V]`."""
    import argparse

    parser = argparse.ArgumentParser(
        description="Evolution API sandbox (2.3.6)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--api-key", default="BQYHJGJHJ")
    parser.add_argument("--version", default="2.3.6")
    parser.add_argument("--auto-create", action="store_true")
    args = parser.parse_args(argv)
    import sandbox
    logging.basicConfig(level=logging.INFO)
    state = sandbox.SandboxState(api_key=args.api_key,
                                 auto_create=args.auto_create,
                                 config={"version": args.version})
    run_sandbox(args.host, args.port, state)
