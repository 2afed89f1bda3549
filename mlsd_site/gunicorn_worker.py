"""gunicorn's threaded worker, with connections kept in the process that is least busy.

Every worker process listens on the same socket and the kernel wakes them all when a
connection arrives; the first to call ``accept`` keeps the connection, and every request on it
while it stays alive. That is usually the process already awake: two clients connecting
together (or a proxy opening two upstream connections) often both land in one process, whose
threads then take turns on one GIL while the other process's core idles. Measured with
``make bench``'s two search connections on plain ``gthread`` (3 Dec): 9 runs in 12 had every
request in one process, where searches took half as long again; at 8 connections, one run in
16 did, at a third of the others' rate.

:class:`BalancedThreadWorker` shares with the other processes how many connections it holds
and how many requests it has in progress, in a small table of memory set up before they fork:

- **Accept where there is room.** A process holding more connections, or with more requests in
  progress, than another leaves a new connection to it for :data:`ACCEPT_DELAY`, then takes it
  itself if nobody has.
- **Hand a connection back when lopsided.** A process holding two connections more than
  another answers the request it is reading with ``Connection: close``; the client's next
  request then connects again and lands where there is room (as above). Clients reconnect on
  their own (HTTP/1.1 lets a server close after any response; browsers, nginx's upstream
  keep-alive and wrk all do). Connections held, not requests in progress, decide this: under
  an even load no process holds two more and no connection is closed, whereas requests in
  progress go up and down from one moment to the next.

What each request reads is two numbers per other process (where they sit in the table is
looked up once a second). Measured against gthread in pairs, 8 rounds of 3 s at 8
connections: the same rates within the noise (median 2,437 and 2,421 req/s for a static file,
1,727 and 1,679 for the concept page; gthread's one lopsided run gave 660).
"""

from __future__ import annotations

import mmap
import os
import threading
import time
from array import array

from gunicorn.workers.gthread import ThreadWorker

ACCEPT_DELAY = 0.005  # seconds a busier process leaves a new connection to another
LOOK_AGAIN = 1.0  # seconds between looks at which worker processes are alive
SLOTS = 256  # worker processes tracked; a worker's slot is its age (spawn count) modulo this
PID, BUSY, CONNECTIONS = range(3)  # the int32s of a slot: a pid of 0 is an empty slot
FIELDS = 3

# Created at import, in gunicorn's master (which loads the worker class before it forks), so
# every worker process shares it; aligned int32 reads and writes are atomic.
_TABLE = mmap.mmap(-1, SLOTS * FIELDS * 4)
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
        self.handing_back = 0  # connections answered with "Connection: close", not yet closed
        self.lock = threading.Lock()
        self.listen_again_at = 0.0  # while paused: when to listen for connections again
        self.slot = self.age % SLOTS
        self._last_enqueued = None
        self._others: list[int] = []  # the other live workers' places in the table
        self._others_found_at = 0.0

    def init_process(self):
        _SHARED[FIELDS * self.slot : FIELDS * self.slot + FIELDS] = array("i", [os.getpid(), 0, 0])
        self._find_others()
        super().init_process()

    def run(self):
        try:
            super().run()
        finally:
            _SHARED[FIELDS * self.slot + PID] = 0

    # The table.

    def _publish(self, field: int, value: int) -> None:
        _SHARED[FIELDS * self.slot + field] = value

    def _held(self) -> int:
        return self.nr_conns - self.handing_back

    def _find_others(self) -> None:
        """Where in the table the other live worker processes are: read again every
        :data:`LOOK_AGAIN` seconds, so that a request reads two numbers per process."""
        table, me = _SHARED.tolist(), os.getpid()
        self._others = [
            i
            for i in range(0, len(table), FIELDS)
            if table[i + PID] and table[i + PID] != me and _alive(table[i + PID])
        ]
        self._others_found_at = time.monotonic()

    def _least_elsewhere(self) -> tuple[int, int] | None:
        """The fewest connections held, and the fewest requests in progress, in another live
        worker process; None when there is none."""
        others = self._others
        if not others:
            return None
        return (
            min(_SHARED[i + CONNECTIONS] for i in others),
            min(_SHARED[i + BUSY] for i in others),
        )

    def _count(self, conn, counted: bool) -> None:
        with self.lock:
            if counted != getattr(conn, "counted_busy", False):
                conn.counted_busy = counted
                self.busy += 1 if counted else -1
                self._publish(BUSY, self.busy)

    # Requests: counted from when one has been read (or its connection accepted) to its answer.

    def handle_request(self, req, conn):  # in a pool thread
        self._count(conn, True)
        least = self._least_elsewhere()
        with self.lock:
            if least is not None and self._held() >= least[0] + 2:
                self.handing_back += 1
                conn.handed_back = True
                req.must_close = True  # gunicorn answers "Connection: close" and closes after it
        return super().handle_request(req, conn)

    def finish_request(self, conn, fs):
        self._count(conn, False)
        super().finish_request(conn, fs)  # closes a connection handed back
        if getattr(conn, "handed_back", False):
            conn.handed_back = False
            with self.lock:
                self.handing_back -= 1
        self._publish(CONNECTIONS, self._held())

    def enqueue_req(self, conn):
        self._last_enqueued = conn
        super().enqueue_req(conn)

    # Connections: accepted where there is room.

    def accept(self, listener):
        least = self._least_elsewhere()
        if least is not None and (self._held() > least[0] or self.busy > least[1]):
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
        self._publish(CONNECTIONS, self._held())
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
            # What no other process took in that time is this one's.
            for listener in self.sockets:
                while self.nr_conns < self.worker_connections and self._accept_one(listener):
                    pass
            super().set_accept_enabled(self.nr_conns < self.worker_connections)
        self._publish(CONNECTIONS, self._held())  # kept-alive ones timed out, clients gone
        # Soon after a start, while the other processes are still starting, look more often.
        if time.monotonic() - self._others_found_at > (LOOK_AGAIN if self._others else 0.05):
            self._find_others()
