"""The bench's load scripts draw their randomness per connection, as independent people would.

wrk runs one LuaJIT state per thread, and LuaJIT starts each state's generator from the same
seed. A paced script whose threads all draw the same pauses sends every writer's save at the same
moment: bursts of 16 saves, whose queueing the bench then reported as the server's tail.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import report, wrk

pytestmark = pytest.mark.skipif(not wrk.installed(), reason="wrk is not installed (make wrk)")

THREADS = 4
DRAWS = 8


class Quiet(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404 if self.path.startswith("/missing") else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving():
    """A loopback HTTP server for the block; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def draws_per_thread(script: str, draw: str) -> list[list[int]]:
    """Each wrk thread's first ``DRAWS`` values of the Lua expression ``draw``, read in init."""
    probe = f"""
function init(args)
  local values = {{}}
  for i = 1, {DRAWS} do values[i] = {draw} end
  io.write("DRAWS " .. table.concat(values, ",") .. "\\n")
end
"""
    with serving() as url, tempfile.NamedTemporaryFile("w", suffix=".lua") as file:
        file.write(script + probe)
        file.flush()
        command = ["wrk", f"-t{THREADS}", f"-c{THREADS}", "-d1s", f"--script={file.name}", url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    lines = [x for x in done.stdout.splitlines() if x.startswith("DRAWS ")]
    assert len(lines) == THREADS, done.stdout + done.stderr
    return [[int(v) for v in line.removeprefix("DRAWS ").split(",")] for line in lines]


def test_paced_connections_draw_their_own_pauses_within_the_range():
    script = wrk.COMMON + wrk.paced(800) + wrk.GET
    pauses = draws_per_thread(script, "delay()")
    assert all(800 <= p <= 1600 for thread in pauses for p in thread)
    # Four threads, eight pauses each, from 801 possible values: distinct sequences.
    assert len({tuple(thread) for thread in pauses}) == THREADS
    # And not merely shifted copies: the threads' first pauses differ too.
    assert len({thread[0] for thread in pauses}) > 1


def test_many_clients_threads_forward_different_addresses():
    script = wrk.post_script("{}", "application/json", many_clients=True)
    octets = draws_per_thread(script, "random(0, 255)")
    assert len({tuple(thread) for thread in octets}) == THREADS


def test_a_run_says_which_kind_of_error_it_counted():
    with serving() as url:
        missing = wrk.run(url, wrk.get("missing", "/missing", 2), 1)
        found = wrk.run(url, wrk.get("found", "/", 2), 1)
    assert missing.requests > 0 and missing.error_kinds == {"answer": missing.requests}
    assert report.errors(missing) == f"{missing.requests:,} / {missing.requests:,} " + (
        f"(answer {missing.requests:,})"
    )
    assert found.errors == 0 and found.error_kinds == {}
    assert report.errors(found) == f"0 / {found.requests:,}"
