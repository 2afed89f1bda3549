"""Django's PostgreSQL backend, whose health check asks the connection's socket, not the
server.

With ``CONN_HEALTH_CHECKS``, a persistent connection is checked before its first use in each
request, so that a PostgreSQL restart costs no request a 500. Django checks with a
``SELECT 1``: a round trip on every request, one of the three statements a stored signed-in
page sent. Between requests a connection is idle, and little arrives on an idle connection:
a notice, a notification (the site listens for none), a changed server setting, or what the
server sends as it ends the connection (a restart, a terminated backend): its last message,
then the end of the stream. So the check looks whether the socket has anything to read,
without waiting; only if it has does it ask the server, and Django's ``SELECT 1`` decides.
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
        except (OSError, ValueError, base.Database.Error):  # no socket any more
            return False
        return quiet or super().is_usable()
