"""Gunicorn serving the site as in production, in its own process group so it always stops."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.database import HOST, ROOT

# The worker classes the bench can run, by the name it prints: production's, and gunicorn's own.
WORKER_CLASSES = {
    "balanced": "mlsd_site.gunicorn_worker.BalancedThreadWorker",
    "gthread": "gthread",
    "sync": "sync",
}


@dataclass(frozen=True)
class WorkerConfig:
    """How gunicorn runs the app: threaded processes (``balanced``, ``gthread``) or ``sync``.

    The default is production's (deploy/gunicorn.conf.py, which the Dockerfile and ``make
    cluster`` use): ``balanced``, gunicorn's gthread worker with each connection kept in the
    least busy process (mlsd_site/gunicorn_worker.py), as many as ``WEB_CONCURRENCY`` (2) with
    ``WEB_THREADS`` (4) threads each. ``gthread`` is gunicorn's own, for comparison. A sync
    worker serves one connection at a time and closes it after each response, so it is only
    ever run behind a proxy that buffers requests: straight in front of a client that opens
    its connection before it has a request to send (as wrk does), each worker waits on one
    idle connection while requests on the others queue.
    """

    worker_class: str = "balanced"
    workers: int = int(os.environ.get("WEB_CONCURRENCY", 2))
    threads: int = int(os.environ.get("WEB_THREADS", 4))

    def __str__(self) -> str:
        if self.worker_class == "sync":
            return f"sync, {self.workers} workers"
        return f"{self.worker_class}, {self.workers} workers × {self.threads} threads"


# Each request's worker process first (gunicorn's "<pid>"), then what the default format shows.
ACCESS_FORMAT = '%(p)s %(h)s %(t)s "%(r)s" %(s)s %(b)s'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``with Gunicorn(env, config) as server:`` serves on ``server.url`` until the block ends."""

    def __init__(self, env: dict[str, str], config: WorkerConfig):
        self.env = env
        self.config = config
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.logs = Path(tempfile.mkdtemp(prefix="mlsd-bench-gunicorn-"))
        self.process: subprocess.Popen | None = None
        self._output = None
        self.error_log = ""

    def command(self) -> list[str]:
        # The Dockerfile's command, with the worker settings under test.
        return [
            str(Path(sys.executable).with_name("gunicorn")),
            "mlsd_site.wsgi:application",
            "--config=deploy/gunicorn.conf.py",
            f"--bind={HOST}:{self.port}",
            f"--workers={self.config.workers}",
            f"--worker-class={WORKER_CLASSES[self.config.worker_class]}",
            f"--threads={self.config.threads}",
            f"--access-logfile={self.logs / 'access.log'}",
            f"--access-logformat={ACCESS_FORMAT}",
            f"--error-logfile={self.logs / 'error.log'}",
            "--forwarded-allow-ips=*",
        ]

    def __enter__(self) -> Gunicorn:
        self._output = open(self.logs / "output.log", "wb")  # closed in __exit__
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            # The site logs a line per request, as in production; kept like a container's log.
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one, never orphaned
        )
        try:
            self._wait_healthy()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        if self._output is not None:
            self._output.close()
        self.error_log = self.errors()
        shutil.rmtree(self.logs, ignore_errors=True)

    def _wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"gunicorn exited ({code}):\n{self.errors()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"/healthz did not answer 200 within {timeout:.0f} s:\n{self.errors()}")

    def settle(self, timeout: float = 60) -> float:
        """Wait until requests left over from a run are done: /healthz answers quickly twice.
        Returns the seconds waited. wrk stops without waiting for the answers in flight (or
        queued in the listen backlog), which the workers would otherwise serve during the next
        scenario."""
        started = time.monotonic()
        quick = 0
        while quick < 2 and time.monotonic() - started < timeout:
            tick = time.monotonic()
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=timeout) as response:
                    response.read()
            except OSError:
                pass
            quick = quick + 1 if time.monotonic() - tick < 0.05 else 0
            time.sleep(0.1)
        return time.monotonic() - started

    def access_mark(self) -> int:
        """Where the access log ends now: :meth:`per_process` counts what comes after."""
        try:
            return (self.logs / "access.log").stat().st_size
        except OSError:
            return 0

    def per_process(self, mark: int) -> list[int]:
        """Requests each worker process answered since ``mark``, most first. Kept-alive
        connections stay with the process that accepted them: with gunicorn's own gthread
        worker, a few busy clients can all land in one process, whose threads then take turns
        on its GIL."""
        try:
            with open(self.logs / "access.log", "rb") as log:
                log.seek(mark)
                counts = served_by(log.read().decode(errors="replace"))
        except OSError:
            return []
        return counts + [0] * (self.config.workers - len(counts))  # the idle ones too

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the master), e.g. for ``py-spy``."""
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def errors(self, lines: int = 40) -> str:
        """The end of gunicorn's error log, and what the site logged at ERROR or worse."""
        found = []
        for name in ("error.log", "output.log"):
            try:
                text = (self.logs / name).read_text(errors="replace")
            except OSError:
                continue
            if name == "error.log":
                found += text.splitlines()
            else:
                found += [x for x in text.splitlines() if " ERROR " in x or " CRITICAL " in x]
        return "\n".join(found[-lines:])

    def stop(self) -> None:
        stop_group(self.process)
        self.process = None


class TaskWorker:
    """``manage.py worker`` beside gunicorn, as in production: search indexing and snapshots
    after autosave happen there. In its own process group, stopped with the block."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> TaskWorker:
        self.process = subprocess.Popen(
            # Production's poll interval (0.2 s): a queue found empty costs the worker a query.
            [sys.executable, "manage.py", "worker", "--verbosity", "0"],
            cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        return self

    def __exit__(self, *exc) -> None:
        stop_group(self.process)
        self.process = None


def served_by(access_log: str) -> list[int]:
    """Requests per process in lines of :data:`ACCESS_FORMAT`, most first; the bench's own
    health checks (``settle``) left out."""
    pids = Counter(
        line.split(" ", 1)[0]
        for line in access_log.splitlines()
        if line.startswith("<") and '"GET /healthz ' not in line
    )
    return sorted(pids.values(), reverse=True)


def stop_group(process: subprocess.Popen | None) -> None:
    """SIGTERM a process group started with ``start_new_session``; SIGKILL after 15 s."""
    if process is None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
