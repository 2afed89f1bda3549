"""Notices by mail: one plain-text mail about something that has already happened."""

from __future__ import annotations

import logging

from django.core.mail import send_mail

logger = logging.getLogger(__name__)


def send_notice(subject: str, body: str, to: str) -> bool:
    """Mail ``to``; False (and a log line) when the mail server refuses or is unreachable.

    A notice follows a change that is already saved (an invitation, a comment), so a mail that
    cannot go must not turn into an error for the person who made the change. A line break in
    the subject (a header) would be refused, so whitespace is collapsed.
    """
    subject = " ".join(subject.split())
    try:
        send_mail(subject, body, None, [to])
    except OSError:  # smtplib's errors included
        logger.exception("Could not send the notice %r", subject)
        return False
    return True
