"""Contract fuzzing: schemathesis drives both public routes of the
contract against a real server on loopback, with valid credentials."""
import threading

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance
from werkzeug.serving import make_server

import sandbox as sandbox_module
from conftest import EVOLUTION_INSTANCE
from conftest import EVOLUTION_TOKEN
from conftest import create_account
from contract import DEFAULT_PATH
from gateway import create_app

schema = schemathesis.openapi.from_path(DEFAULT_PATH)
CHECKS = [not_a_server_error, status_code_conformance,
          content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The gateway as a real HTTP server, with an account seeded."""
    tmp = tmp_path_factory.mktemp("fuzz")
    state = sandbox_module.SandboxState(config={"ack_delay_s": None})
    state.add_instance(EVOLUTION_INSTANCE, token=EVOLUTION_TOKEN)
    evo_server, evo_url = sandbox_module.start_sandbox_thread(state=state)
    app = create_app({
        "DATABASE_URL": "sqlite:///%s" % (tmp / "gateway.db"),
        "RATELIMIT_STORAGE_URI": "sqlite:///%s" % (tmp / "rl.db"),
        "EVOLUTION_URL": evo_url, "EVOLUTION_API_KEY": state.api_key,
        "EVOLUTION_TIMEOUT": 2.0, "DEMO": False,
        "THROTTLE_RECIPIENT_GAP_SECONDS": 0,
        "THROTTLE_INSTANCE_PER_SECOND": 100000,
        "THROTTLE_INSTANCE_PER_MINUTE": 100000,
        "THROTTLE_RECIPIENT_PER_DAY": 100000,
        "WEBHOOK_DISPATCH": False})
    account = create_account()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_port, account
    server.shutdown()
    server.server_close()
    evo_server.shutdown()
    evo_server.server_close()
    state.close()
    app.extensions["gateway"]["evolution"].close()


@schema.parametrize()
@hypothesis.settings(max_examples=60, deadline=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_no_5xx_and_every_answer_conforms(case, live):
    url, account = live
    headers = {}
    if case.path == "/api/send-message":
        headers["Authorization"] = "Bearer " + account.key
    case.call_and_validate(base_url=url, headers=headers, checks=CHECKS)
