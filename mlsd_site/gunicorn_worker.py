"""gunicorn's threaded worker, with connections kept in the process that is least busy.

Every worker process listens on the same socket and the kernel wakes them all when a
connection arrives; the first to call ``accept`` keeps the connection, and every request on it
while it stays alive. That is usually the process already awake: two clients connecting
together (or a proxy opening two upstream connections) often both land in one process, whose
threads then take turns on one GIL while the other process's core idles. Measured with
``make bench``'s two search connections on plain ``gthread``: 3 runs in 6, then 6 in 7, had
every request in one process, and searches took half as long again there.

:class:`BalancedThreadWorker` does two things with the number of requests each process has
in progress, which the processes share in a small table of memory set up before they fork:

- **Accept when least busy.** A process with more requests in progress than another leaves a
  new connection to it for :data:`ACCEPT_DELAY`, then takes it itself if nobody has.
- **Hand a connection back when lopsided.** A process that has two requests more in progress
  than another answers the request it is reading with ``Connection: close``; the client's next
  request then connects again and lands where there is room (as above). Clients reconnect on
  their own (HTTP/1.1 allows a server to close after any response; browsers, nginx's upstream
  keep-alive and wrk all do). Under even load no process is two ahead and no connection is
  closed.
"""

from __future__ import annotations

import mmap
import os
import threading
import time

from gunicorn.workers.gthread import ThreadWorker

ACCEPT_DELAY = 0.005  # seconds a busier process leaves a new connection to a less busy one
SLOTS = 256  # worker processes tracked; a worker's slot is its age (spawn count) modulo this

# Per slot, two int32: the worker's pid (0: none) and its requests in progress. Created at
# import, in gunicorn's master (which loads the worker class before it forks), so every worker
# process shares it; aligned int32 reads and writes are atomic.
_TABLE = mmap.mmap(-1, SLOTS * 8)
_SHARED = memoryview(_TABLE).cast("i")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BalancedThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Busy: a connection accepted and not yet answered, or a request being handled on a
        # kept-alive one. (A kept-alive connection woken by its client closing it is not.)
        self.busy = 0
        self.busy_lock = threading.Lock()
        self.listen_again_at = 0.0  # while paused: when to listen for connections again
        self.slot = self.age % SLOTS
        self._last_enqueued = None

    def init_process(self):
        _SHARED[2 * self.slot] = os.getpid()
        _SHARED[2 * self.slot + 1] = 0
        super().init_process()

    def run(self):
        try:
            super().run()
        finally:
            _SHARED[2 * self.slot] = 0

    # What the other processes have in progress.

    def _least_elsewhere(self) -> int | None:
        """The fewest requests in progress in another live worker process, or None."""
        least, me, table = None, os.getpid(), _SHARED.tolist()
        for pid, busy in zip(table[0::2], table[1::2], strict=True):
            if pid and pid != me and (least is None or busy < least) and _alive(pid):
                least = busy
        return least

    def _count(self, conn, counted: bool) -> None:
        with self.busy_lock:
            if counted != getattr(conn, "counted_busy", False):
                conn.counted_busy = counted
                self.busy += 1 if counted else -1
                _SHARED[2 * self.slot + 1] = self.busy

    # Requests: counted from when one has been read (or its connection accepted) to its answer.

    def handle_request(self, req, conn):  # in a pool thread
        self._count(conn, True)
        least = self._least_elsewhere()
        if least is not None and self.busy >= least + 2:
            req.must_close = True  # gunicorn answers "Connection: close" and closes after it
        return super().handle_request(req, conn)

    def finish_request(self, conn, fs):
        self._count(conn, False)
        super().finish_request(conn, fs)

    def enqueue_req(self, conn):
        self._last_enqueued = conn
        super().enqueue_req(conn)

    # Connections: accepted by the least busy process.

    def accept(self, listener):
        least = self._least_elsewhere() if self.busy else None
        if least is not None and self.busy > least:
            self.listen_again_at = time.monotonic() + ACCEPT_DELAY
            super().set_accept_enabled(False)
            return
        self._accept_one(listener)

    def _accept_one(self, listener) -> bool:
        before = self.nr_conns
        super().accept(listener)  # non-blocking: with nothing waiting it does nothing
        if self.nr_conns == before:
            return False
        # gunicorn hands it to a pool thread at once, to wait there for its request.
        self._count(self._last_enqueued, True)
        return True

    def set_accept_enabled(self, enabled):
        if enabled and self.listen_again_at:
            return  # paused: wait_for_and_dispatch_events listens again when it is over
        super().set_accept_enabled(enabled)

    def wait_for_and_dispatch_events(self, timeout):
        if self.listen_again_at:
            timeout = min(timeout, max(self.listen_again_at - time.monotonic(), 0.0))
        super().wait_for_and_dispatch_events(timeout)
        if self.listen_again_at and time.monotonic() >= self.listen_again_at:
            self.listen_again_at = 0.0
            # What no less busy process took in that time is this one's.
            for listener in self.sockets:
                while self.nr_conns < self.worker_connections and self._accept_one(listener):
                    pass
            super().set_accept_enabled(self.nr_conns < self.worker_connections)
