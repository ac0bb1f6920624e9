"""The production guide's install (``pip install .``, a wheel) runs.

A wheel holds only what setup.cfg and setup.py put in it: before
setup.py copied them, it had no console templates, no static files, no
``gunicorn.conf.py`` (``gateway serve`` failed at once), no content
rules or model and no ``openapi.json``.  Here a wheel is built from a
copy of the source, unpacked, and ``gateway serve`` run from it alone
(the dependencies come from this virtualenv).
"""
import os
import shutil
import subprocess
import sys
import time
import zipfile

import requests

from conftest import ROOT
from conftest import free_port

PROMOTION = ("Huge summer SALE: 50% off everything this weekend only, "
             "use code SUMMER50 and shop now!")
SKIP = shutil.ignore_patterns(".venv", ".git", "tests", "bench", "build",
                              "*.egg-info", "__pycache__", "*.db*")


def build_wheel(tmp_path):
    """The wheel of an sdist of the source, as ``python -m build`` makes
    it (an sdist without the data files made a wheel that cannot run)."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=SKIP)
    sdist = tmp_path / "sdist"
    subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d",
                    str(sdist)], cwd=source, check=True, timeout=300,
                   capture_output=True)
    archive, = sdist.glob("*.tar.gz")
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(out), str(archive)], check=True,
                   timeout=300, capture_output=True)
    wheel, = out.glob("*.whl")
    return wheel


def test_a_wheel_serves_the_api_console_and_content_policy(tmp_path):
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("gunicorn.conf.py", "content_rules.json",
                   "content_model.json", "openapi.json", "static/console.css",
                   "static/console.js", "templates/console/login.html",
                   "migrations/0001_initial.py", "schema/__init__.py"):
        assert needed in names, needed
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    data = tmp_path / "data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATEWAY_")}
    # The unpacked wheel first: the editable install's checkout must not
    # be what answers.
    env.update(PYTHONPATH=str(site), GATEWAY_DATA_DIR=str(data),
               GATEWAY_DEMO="false", GATEWAY_SECRET_KEY="",
               GATEWAY_LOG_LEVEL="WARNING")
    where = subprocess.run(
        [sys.executable, "-c", "import gateway, content_policy, serve;"
         "print(gateway.__file__); print(serve.CONFIG_FILE);"
         "rules = content_policy.load_policy();"
         "print(content_policy.evaluate(%r, rules).refused)" % PROMOTION],
        env=env, cwd=data, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    module, config, refused = where.stdout.split()
    assert module.startswith(str(site)) and config.startswith(str(site))
    assert refused == "True"  # the rules and the model were found
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys, gateway; sys.exit(gateway.main())",
         "serve", "--port", str(port), "--workers", "1"],
        env=env, cwd=data, stdout=subprocess.DEVNULL, stderr=log,
        start_new_session=True)
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (
                (tmp_path / "serve.log").read_text()[-3000:])
            time.sleep(0.1)
        login = requests.get(url + "/console/login", timeout=10)
        assert login.status_code == 200
        assert "<form" in login.text
        assert requests.get(url + "/static/console.css",
                            timeout=10).status_code == 200
        contract = requests.get(url + "/openapi.json", timeout=10)
        assert contract.status_code == 200 and contract.json()["paths"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
