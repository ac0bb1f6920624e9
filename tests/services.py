"""Throwaway PostgreSQL and Redis servers on loopback, for tests and CI.

Each runs from a temporary directory on a free 127.0.0.1 port and goes
away with it.  PostgreSQL refuses to run as root, so as root the cluster
belongs to the ``postgres`` user that Debian's package creates.  Settings
favour speed over durability (no fsync): the data is thrown away.

As a command, it starts both, exports their URLs and runs a command::

    python tests/services.py -- python -m pytest

    GATEWAY_TEST_POSTGRES_URL  postgresql://gateway@127.0.0.1:PORT/postgres
    GATEWAY_TEST_REDIS_URL     redis://127.0.0.1:PORT
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PG_USER = "gateway"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin():
    """The directory of PostgreSQL's server binaries, or None."""
    found = shutil.which("pg_ctl")
    if found and os.path.exists(os.path.join(os.path.dirname(
            os.path.realpath(found)), "postgres")):
        return os.path.dirname(os.path.realpath(found))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                      key=lambda p: int(p.split("/")[-3]))
    return os.path.dirname(versions[-1]) if versions else None


def redis_bin():
    return shutil.which("redis-server")


def _wait(check, what, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        if check():
            return
        if time.monotonic() > deadline:
            raise RuntimeError("%s did not start" % what)
        time.sleep(0.05)


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Server:
    def __init__(self, url, proc, directory):
        self.url, self.proc, self.directory = url, proc, directory

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()  # PostgreSQL: "smart" shutdown
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres(max_connections=300):
    """Start a new PostgreSQL cluster; return a Server (its admin URL)."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed "
                           "(apt-get install postgresql)")
    directory = tempfile.mkdtemp(prefix="gateway-pg-")
    ids = {}
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root needs the postgres user "
                               "(apt-get install postgresql)")
        os.chown(directory, account.pw_uid, account.pw_gid)
        ids = {"user": account.pw_uid, "group": account.pw_gid,
               "extra_groups": []}
    data = os.path.join(directory, "data")
    subprocess.run(
        [os.path.join(bindir, "initdb"), "-D", data, "-U", PG_USER,
         "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
        check=True, **ids, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, cwd=directory)
    port = free_port()
    with open(os.path.join(directory, "log"), "wb") as log:
        proc = _start_postgres(bindir, data, port, directory, log,
                               max_connections, ids)
    url = "postgresql://%s@127.0.0.1:%d/postgres" % (PG_USER, port)
    server = Server(url, proc, directory)
    try:
        _wait(lambda: _ready(url), "postgres", proc)
    except BaseException:
        server.stop()
        raise
    return server


def _start_postgres(bindir, data, port, directory, log, max_connections,
                    ids):
    return subprocess.Popen(
        [os.path.join(bindir, "postgres"), "-D", data, "-p", str(port),
         "-h", "127.0.0.1", "-k", directory,
         "-c", "fsync=off", "-c", "synchronous_commit=off",
         "-c", "full_page_writes=off", "-c", "max_connections=%d"
         % max_connections, "-c", "shared_buffers=64MB",
         "-c", "log_min_messages=warning", "-c", "logging_collector=off"],
        cwd=directory, stdout=subprocess.DEVNULL, stderr=log,
        start_new_session=True, **ids)


def _ready(url):
    import psycopg2
    try:
        psycopg2.connect(url, connect_timeout=1).close()
        return True
    except psycopg2.OperationalError:
        return False


def start_redis():
    """Start a redis-server with no persistence; return a Server."""
    binary = redis_bin()
    if binary is None:
        raise RuntimeError("redis-server is not installed "
                           "(apt-get install redis-server)")
    directory = tempfile.mkdtemp(prefix="gateway-redis-")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", directory,
         "--databases", "16"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    server = Server("redis://127.0.0.1:%d" % port, proc, directory)
    try:
        _wait(lambda: _accepts(port), "redis-server", proc)
    except BaseException:
        server.stop()
        raise
    return server


def main(argv):
    if not argv or argv[0] != "--" or len(argv) < 2:
        print("usage: python tests/services.py -- COMMAND...",
              file=sys.stderr)
        return 2
    servers = []
    try:
        servers.append(start_postgres())
        servers.append(start_redis())
        env = dict(os.environ, GATEWAY_TEST_POSTGRES_URL=servers[0].url,
                   GATEWAY_TEST_REDIS_URL=servers[1].url)
        print("services: PostgreSQL %s, Redis %s" % (servers[0].url,
                                                     servers[1].url),
              flush=True)
        return subprocess.call(argv[1:], env=env)
    finally:
        for server in reversed(servers):
            server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
