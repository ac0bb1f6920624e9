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

    # Only init-db (and serve) may create the database.
    subprocess.run([GATEWAY, "init-db"], env=env, check=True,
                   capture_output=True, timeout=60)

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



def test_commands_never_create_an_empty_database(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATEWAY_")}
    for args in (["customers", "list"], ["keys", "create", "1"],
                 ["backup", str(tmp_path / "b.db")]):
        proc = subprocess.run([GATEWAY, *args], capture_output=True,
                              text=True, env=env, cwd=elsewhere, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert str(elsewhere / "gateway.db") in proc.stderr
        assert "GATEWAY_DATA_DIR" in proc.stderr
    assert list(elsewhere.iterdir()) == []


def test_data_dir_places_the_database_and_the_cli_prints_it(tmp_path):
    data = tmp_path / "data"
    env = dict({k: v for k, v in os.environ.items()
                if not k.startswith("GATEWAY_")},
               GATEWAY_DATA_DIR=str(data))
    proc = subprocess.run([GATEWAY, "init-db"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60)
    assert json.loads(proc.stdout) == {"database": str(data / "gateway.db")}
    assert (data / "gateway.db").exists() and (data / "secret.key").exists()
    proc = subprocess.run([GATEWAY, "customers", "list"], capture_output=True,
                          text=True, env=env, cwd="/", timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout) == []
    config = subprocess.run([GATEWAY, "config"], capture_output=True,
                            text=True, env=env, timeout=60).stdout
    assert "database: %s" % (data / "gateway.db") in config


def test_backup_is_a_consistent_private_copy(run, tmp_path):
    import sqlite3
    import stat
    run("customers", "create", "Acme")
    run("keys", "create", "1")
    target = tmp_path / "backups"
    target.mkdir()
    result = run("backup", str(target))
    copy = result["backup"]
    assert copy.startswith(str(target)) and os.path.exists(copy)
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    if not os.environ.get("GATEWAY_SECRET_KEY"):
        assert result["secret_key_file"] == str(tmp_path / "secret.key")
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT name FROM customer").fetchall() == [
            ("Acme",)]
    assert not os.path.exists(copy + "-wal")
    # Never over an existing file.
    proc = run("backup", copy, expect=2)
    assert "exists" in proc.stderr


def test_secrets_rotate_reseals_with_the_new_key(tmp_path):
    import secretbox
    old = secretbox.generate_key()
    new = secretbox.generate_key()
    env = dict({k: v for k, v in os.environ.items()
                if not k.startswith("GATEWAY_")},
               GATEWAY_DATA_DIR=str(tmp_path), GATEWAY_SECRET_KEY=old)

    def run(*args, key=old):
        proc = subprocess.run([GATEWAY, *args], capture_output=True,
                              text=True, env=dict(env,
                                                  GATEWAY_SECRET_KEY=key),
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)
    run("init-db")
    run("customers", "create", "Acme")
    run("instances", "create", "1", "line", "--evolution-token", "TOK-9")
    assert run("secrets", "rotate", key=new + "," + old)["resealed"] == 2
    proc = subprocess.run([GATEWAY, "instances", "evolution-webhook",
                           "line", "--base-url", "https://gw.example.com"],
                          capture_output=True, text=True,
                          env=dict(env, GATEWAY_SECRET_KEY=new), timeout=60)
    assert proc.returncode == 0, proc.stderr
