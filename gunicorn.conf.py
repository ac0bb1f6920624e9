"""gunicorn settings, used by both the Procfile and ``gateway serve``.

    gunicorn -c gunicorn.conf.py          # what the Procfile runs

Workers and threads come from ``GATEWAY_WORKERS`` / ``GATEWAY_THREADS``
(``WEB_CONCURRENCY`` too, as platforms set it); the address from
``GATEWAY_BIND``, else ``0.0.0.0:$PORT`` when a platform sets ``PORT``,
else 127.0.0.1:8000 (nginx in front: see ``deploy/``).  Application logs
go to stderr at ``GATEWAY_LOG_LEVEL``, access lines to stdout.

The gthread worker reads a request's headers and body on its own
threads, so a few slow or idle clients can hold all of them: run it
behind a buffering proxy (``deploy/nginx/gateway.conf``) that hands over
only complete requests.
"""
import os
import shutil
import tempfile

import delivery_process
from config import load_settings

_settings = load_settings()

wsgi_app = "gateway:create_app()"
worker_class = "gthread"
workers = int(os.environ.get("GATEWAY_WORKERS")
              or os.environ.get("WEB_CONCURRENCY") or _settings.WORKERS)
threads = _settings.THREADS
if os.environ.get("GATEWAY_BIND"):
    bind = os.environ["GATEWAY_BIND"].split(",")
elif os.environ.get("PORT"):
    bind = ["0.0.0.0:%s" % os.environ["PORT"]]
else:
    bind = ["127.0.0.1:8000"]
# A send may wait for Evolution this long; a worker silent for longer is
# stuck and restarted.
timeout = int(_settings.EVOLUTION_TIMEOUT) + 30
graceful_timeout = 10
keepalive = 5
# gunicorn 24+ opens a control socket in $HOME by default, one path for
# every instance on the host: not wanted for a service (older versions
# ignore the name).
control_socket_disable = True
# No preload: each worker opens its own SQLite connections and threads.
preload_app = False
# Webhook deliveries from one process of their own (delivery_process.py):
# dirty_apps, dirty_workers and a proc_name per master.
globals().update(delivery_process.gunicorn_settings(_settings))
accesslog = "-"
errorlog = "-"
loglevel = _settings.LOG_LEVEL.lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": _settings.LOG_LEVEL, "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": _settings.LOG_LEVEL,
                           "handlers": ["stderr"], "propagate": False,
                           "qualname": "gunicorn.error"},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"],
                            "propagate": False,
                            "qualname": "gunicorn.access"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler",
                   "formatter": "app", "stream": "ext://sys.stderr"},
        "stdout": {"class": "logging.StreamHandler",
                   "formatter": "access", "stream": "ext://sys.stdout"},
    },
    "formatters": {
        "app": {"format": "%(asctime)s %(levelname)s [%(process)d] "
                          "%(name)s %(message)s"},
        "access": {"format": "%(message)s"},
    },
}

# Prometheus in multiprocess mode: every worker writes its samples under
# this directory and any worker's /metrics adds them up.  Set here, in
# the master, before a worker imports prometheus_client.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="gateway-metrics-")


def on_starting(server):
    # Samples left by an earlier run would be added to this one's.
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.unlink(os.path.join(directory, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"],
                      ignore_errors=True)
    if delivery_process.owns_directory():
        shutil.rmtree(delivery_process.directory(), ignore_errors=True)
