"""The bench's gunicorn says which worker process answered each request, so that a run where a
few kept-alive connections all landed in one process (whose threads then share its GIL) shows."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench import report, server, wrk


def test_requests_per_process_are_counted_from_the_access_log_without_health_checks():
    log = "\n".join(
        [
            '<101> 127.0.0.1 [03/Dec/2026:07:00:00 +0000] "GET /search/?q=a HTTP/1.1" 200 10',
            '<102> 127.0.0.1 [03/Dec/2026:07:00:00 +0000] "GET /search/?q=a HTTP/1.1" 200 10',
            '<101> 127.0.0.1 [03/Dec/2026:07:00:00 +0000] "GET /search/?q=a HTTP/1.1" 200 10',
            '<102> 127.0.0.1 [03/Dec/2026:07:00:01 +0000] "GET /healthz HTTP/1.1" 200 2',
            "[2026-12-03 07:00:01] a line from elsewhere",
        ]
    )
    assert server.served_by(log) == [2, 1]
    result = wrk.Result(wrk.get("x", "/", 2), 3, 1.0, 0, 0, per_process=[2, 1])
    assert report.per_process(result) == "67 % / 33 %"
    assert report.per_process(wrk.Result(wrk.get("x", "/", 2), 0, 1.0, 0, 0)) == "–"


APP = """
def application(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]
"""


def test_gunicorn_writes_the_answering_process_first_on_each_access_line(tmp_path: Path):
    (tmp_path / "tiny.py").write_text(APP)
    log = tmp_path / "access.log"
    port = server.free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "tiny:application", f"--bind=127.0.0.1:{port}", "--workers=2",
         f"--access-logfile={log}", f"--access-logformat={server.ACCESS_FORMAT}"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        answered = 0
        while answered < 20 and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    answered += response.status == 200
            except OSError:
                time.sleep(0.1)
        workers = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    finally:
        process.terminate()
        process.wait(timeout=30)
    counts = server.served_by(log.read_text())
    assert answered == 20 and sum(counts) == 20
    pids = {line.split(" ", 1)[0] for line in log.read_text().splitlines()}
    assert pids <= {f"<{pid}>" for pid in workers}
