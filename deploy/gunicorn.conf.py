"""gunicorn settings shared by `make cluster` and the Dockerfile; the command line adds the rest.

Prometheus counts from every worker process are written to files in PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode) and added up by whichever worker answers a scrape.
"""

import gc
import os
from pathlib import Path

# gunicorn's threaded worker (gthread), with each connection kept in the least busy process:
# see the module's docstring. The Dockerfile, make cluster and make bench all run it.
worker_class = "mlsd_site.gunicorn_worker.BalancedThreadWorker"
# No control socket: its default path (~/.gunicorn/gunicorn.ctl) is shared by every gunicorn on
# the machine, and nothing here uses it.
control_socket_disable = True
# Longer than nginx's 60 s for idle upstream connections: nginx closes them first, so it never
# sends a request on a connection gunicorn is closing.
keepalive = 75
# Load the app before listening: a replica restarting after a crash refuses connections (nginx
# tries the other at once) until it can answer, instead of queueing them while workers boot.
# Nothing connects to the database or Redis at import, so the forked workers share no socket.
preload_app = True


def on_starting(server):
    """Start from an empty metrics directory: files left by a killed run would count twice."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def when_ready(server):
    """Take what the preloaded app built (about 150,000 objects: Django, the URLconf with every
    view and the libraries they import, the templates: mlsd_site.warmup) out of the garbage
    collector's sight before the workers fork.

    Python's full collection walks every object it tracks. In each worker, the first one came
    a few seconds into serving and held its requests for 150 to 400 ms under load. Frozen, that
    walk covers only what the worker built itself: 45 to 70 ms for the first one, less after.
    Pages of frozen objects are also no longer written to by the collector, so they stay
    shared between the workers (copy-on-write), as Python's gc.freeze documentation advises.
    """
    gc.collect()
    gc.freeze()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
