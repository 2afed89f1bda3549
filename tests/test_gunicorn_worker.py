"""Production's gunicorn worker keeps connections in the least busy process: two clients that
connect together end up served by two processes, not by one process's threads taking turns on
its GIL while the other process idles (mlsd_site/gunicorn_worker.py)."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench import server

ROOT = Path(__file__).resolve().parent.parent
BALANCED = "mlsd_site.gunicorn_worker.BalancedThreadWorker"

APP = """
import os, time

def application(environ, start_response):
    end = time.perf_counter() + 0.015  # a request in progress for a while, holding the GIL
    while time.perf_counter() < end:  # as a search does
        pass
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""


def serve(tmp_path: Path, worker_class: str) -> tuple[subprocess.Popen, int]:
    (tmp_path / "pid_app.py").write_text(APP)
    port = server.free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "pid_app:application", f"--bind=127.0.0.1:{port}", "--workers=2",
         f"--worker-class={worker_class}", "--threads=4", "--keep-alive=30"],
        cwd=tmp_path, env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # both workers up: two different pids have answered
        pids = set()
        try:
            for _ in range(20):
                pids.add(fetch_pid(http.client.HTTPConnection("127.0.0.1", port, timeout=5)))
        except OSError:
            time.sleep(0.1)
            continue
        if len(pids) == 2:
            return process, port
    process.terminate()
    raise AssertionError("gunicorn did not start two workers")


def fetch_pid(connection: http.client.HTTPConnection) -> str:
    connection.request("GET", "/")
    response = connection.getresponse()
    return response.read().decode()


def two_clients_together(port: int, requests: int = 30) -> list[list[str]]:
    """Two clients connect at the same moment, then each sends ``requests`` requests one
    after another on its kept-alive connection (http.client reconnects after a close)."""
    start, served = threading.Barrier(2), [[], []]

    def client(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start.wait()
        for _ in range(requests):
            served[i].append(fetch_pid(connection))
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return served


def balanced(served: list[list[str]]) -> bool:
    """In the second half of the requests, the two clients were served by two processes."""
    half = len(served[0]) // 2
    return {pid for pid in served[0][half:]}.isdisjoint(served[1][half:])


@pytest.fixture
def balanced_server(tmp_path):
    process, port = serve(tmp_path, BALANCED)
    yield port
    process.terminate()
    process.wait(timeout=30)


def test_two_clients_that_connect_together_are_served_by_two_processes(balanced_server):
    trials = [two_clients_together(balanced_server) for _ in range(10)]
    assert all(len(a) == len(b) == 30 for a, b in trials)
    # With gunicorn's own gthread worker, half such trials kept both clients in one process to
    # the end (checked by hand: 3 of 6, twice).
    assert [balanced(trial) for trial in trials] == [True] * 10, trials


FROZEN_APP = """
import gc

BUILT_AT_IMPORT = [{"n": n} for n in range(10_000)]  # as Django's setup builds its structures

def application(environ, start_response):
    body = str(gc.get_freeze_count()).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""


def test_production_config_freezes_what_the_preloaded_app_built_before_forking(tmp_path):
    """A worker's full garbage collections leave out what the master loaded (when_ready)."""
    (tmp_path / "frozen_app.py").write_text(FROZEN_APP)
    port = server.free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "frozen_app:application", f"--bind=127.0.0.1:{port}", "--workers=1",
         f"--config={ROOT / 'deploy' / 'gunicorn.conf.py'}"],
        cwd=tmp_path, env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline, frozen = time.monotonic() + 30, None
        while frozen is None and time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/")
                frozen = int(connection.getresponse().read())
            except OSError:
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert frozen is not None and frozen >= 10_000
