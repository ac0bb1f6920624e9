"""The admin CLI, run as the real ``gateway`` command on a real file."""
import json
import os
import subprocess
import sys

import pytest

GATEWAY = os.path.join(os.path.dirname(sys.executable), "gateway")


@pytest.fixture
def run(tmp_path):
    env = dict(os.environ, GATEWAY_DATABASE_URL="sqlite:///%s" % (
        tmp_path / "cli.db"))

    def run(*args, expect=0):
        proc = subprocess.run([GATEWAY, *args], capture_output=True,
                              text=True, env=env, timeout=60)
        assert proc.returncode == expect, proc.stderr
        if expect == 0 and proc.stdout.strip().startswith(("{", "[")):
            return json.loads(proc.stdout)
        return proc
    return run


def test_create_commands_print_one_json_object(run):
    assert "database" in run("init-db")
    customer = run("customers", "create", "Acme", "--daily-limit", "10",
                   "--monthly-limit", "100", "--modules", "api,3cx",
                   "--plan-expires", "2030-01-31")
    assert customer["id"] == 1 and customer["daily_limit"] == 10
    assert customer["modules"] == ["api", "3cx"]
    assert customer["plan_active_until"] == "2030-01-31"
    key = run("keys", "create", "1")
    assert set(key) >= {"id", "key"} and key["key"].startswith("wgk_")
    instance = run("instances", "create", "1", "support-line",
                   "--evolution-instance", "evo-1",
                   "--evolution-token", "T")
    assert instance["name"] == "support-line" and instance["id"] == 1
    assert [c["name"] for c in run("customers", "list")] == ["Acme"]
    assert run("instances", "list")[0]["evolution_instance"] == "evo-1"
    assert run("keys", "revoke", str(key["id"]))["revoked"] is True
    listed = run("keys", "list")[0]
    assert listed["revoked_at"] and key["key"] not in json.dumps(listed)


def test_key_is_stored_only_as_a_hash(run, tmp_path):
    run("customers", "create", "Acme")
    key = run("keys", "create", "1")["key"]
    assert key.encode() not in (tmp_path / "cli.db").read_bytes()


def test_pause_resume_and_suppressions(run):
    run("customers", "create", "Acme")
    run("instances", "create", "1", "line")
    paused = run("instances", "pause", "line", "--reason", "spam reports")
    assert paused["paused"] and paused["reason"] == "spam reports"
    assert run("instances", "list")[0]["paused_reason"] == "spam reports"
    assert run("instances", "resume", "1")["paused"] is False
    for phone in ("+966 50 123 4567", "00966501234567", "966501234567"):
        run("suppressions", "add", "1", phone)
    assert [s["phone"] for s in run("suppressions", "list", "1")] == [
        "+966501234567"]
    assert run("suppressions", "remove", "1", "+966501234567")["removed"]
    assert run("suppressions", "list", "1") == []


@pytest.mark.parametrize("args", [
    ("customers", "create", "Acme", "--daily-limit", "ten"),
    ("customers", "create", "Acme", "--daily-limit", "0"),
    ("customers", "create", "Acme", "--modules", "api,fax"),
    ("customers", "create", "Acme", "--plan-expires", "31/01/2030"),
    ("keys", "create", "99"),
    ("keys", "revoke", "99"),
    ("instances", "create", "99", "line"),
    ("instances", "pause", "nope", "--reason", "x"),
    ("suppressions", "add", "1", "not-a-phone"),
    ("customers", "explode"),
    ("nonsense",),
])
def test_bad_arguments_give_one_line_and_exit_2(run, args):
    run("customers", "create", "Acme")
    proc = run(*args, expect=2)
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("gateway: ")


def test_duplicate_instance_name_is_refused(run):
    run("customers", "create", "Acme")
    run("instances", "create", "1", "line")
    assert "already exists" in run("instances", "create", "1", "line",
                                   expect=2).stderr


def test_bad_environment_value_is_a_clear_startup_error(run, monkeypatch):
    proc = subprocess.run([GATEWAY, "customers", "list"],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ,
                                   GATEWAY_EVOLUTION_TIMEOUT="soon"))
    assert proc.returncode == 2
    assert "GATEWAY_EVOLUTION_TIMEOUT" in proc.stderr


def test_config_prints_every_setting(run):
    from config import SETTINGS
    out = run("config").stdout
    for setting in SETTINGS:
        assert "GATEWAY_" + setting.name in out

