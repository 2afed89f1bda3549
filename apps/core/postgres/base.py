"""Django's PostgreSQL backend, whose health check asks the connection's socket, not the
server.

With ``CONN_HEALTH_CHECKS``, a persistent connection is checked before its first use in each
request, so that a PostgreSQL restart costs no request a 500. Django checks with a
``SELECT 1``: a round trip, and on a signed-in page a third of the server's work (the page
itself needs two statements). Between requests a connection is idle, and the server sends
nothing on an idle connection unless it is ending it: a restart or a terminated backend
leaves its last message or the end of the stream there to read. So the check looks whether
the socket has anything to read, without waiting; only if it has does it ask the server, and
Django's ``SELECT 1`` decides.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        if self.connection is None or self.connection.closed:
            return False
        try:
            poll = select.poll()
            poll.register(self.connection.fileno(), select.POLLIN)
            quiet = not poll.poll(0)
        except (OSError, ValueError):  # no socket any more
            return False
        return quiet or super().is_usable()
