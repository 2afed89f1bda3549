"""Rate limits kept in the cache: counters per client address, account or user per window.

Sign-in policy, and why
-----------------------
Counting failures per account and locking the account after a few of them lets anyone lock
anyone out: five wrong passwords for ``carol`` from one laptop used to keep carol out for a
quarter of an hour, wherever she was. So a failure is counted three ways, and only the first
two ever refuse outright:

* per address (20 in 15 minutes, whatever the accounts): one machine cannot guess at speed;
* per account *from* an address (5 in 15 minutes): one machine cannot keep guessing one
  account, and its failures refuse only that machine;
* per account from every address: after 10 failures in 15 minutes the account is being
  guessed from many machines, and attempts on it are spaced out instead of refused: each must
  come at least 1, 2, 4, 8 … seconds (never more than 60) after the account's latest failure.

The slowdown does not apply to an address that has not failed on the account in the window.
Without that exception a handful of machines taking turns could keep the account's one attempt
a minute for themselves, which is a lockout under another name; with it, the owner signing in
from a new address (say, a phone off the office network) gets straight in with the right
password, and after a mistake waits at most a minute. What it costs: each attacking address
gets one unslowed guess per account per window, which its own per-address limit still counts.
Refused attempts are answered 429 with ``Retry-After`` and never count as failures; a success
clears only that address's count for the account.

The key for an account is the username as the authentication backend receives it: after the
sign-in form's ``UsernameField`` (strip, then NFKC, as ``AbstractBaseUser.normalize_username``
does on save), so carol typed in fullwidth letters (U+FF43 U+FF41 …), which signs in to carol's
account, also spends carol's budget. It is not case-folded: the backend finds users by an exact
match, so ``Carol`` never reaches carol's account and does not spend her budget (sign-up
refuses usernames that differ only in case, so ``Carol`` has no account of its own either).

Password-reset mail is limited per address (a 429 that says nothing about any account) and per
account (the page still says "check your mail", and nothing is sent), so the reset form neither
floods an inbox nor tells anyone which addresses have accounts.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from apps.core.monitoring import THROTTLED


@dataclass(frozen=True)
class Refusal:
    """Why a request was turned away, and in how many seconds it may be tried again."""

    message: str
    retry_after: int  # seconds


def wait_phrase(seconds: int) -> str:
    """ "45 seconds", "15 minutes", "1 hour": how long a person should wait, rounded up."""
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    hours = math.ceil(minutes / 60)
    return "1 hour" if hours == 1 else f"{hours} hours"


@dataclass(frozen=True)
class Limit:
    scope: str
    limit: int
    window: int  # seconds

    def _key(self, who: str) -> str:
        # Hashed: "who" may be anything a client sent (a username of megabytes, say).
        digest = hashlib.sha256(who.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"throttle:{self.scope}:{digest}"

    def hit(self, who: str) -> int:
        """Count one more event for ``who``; the window starts at the first event."""
        key = self._key(who)
        if cache.add(key, 0, self.window):
            self._open_window(key)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, self.window)
            self._open_window(key)
            return 1
        if count > self.limit:  # the caller turns this one away
            THROTTLED.labels(self.scope).inc()
        return count

    def _open_window(self, key: str) -> None:
        cache.set(f"{key}:ends", time.time() + self.window, self.window)

    def count(self, who: str) -> int:
        return cache.get(self._key(who)) or 0

    def exceeded(self, who: str) -> bool:
        return self.count(who) >= self.limit

    def reset(self, who: str) -> None:
        cache.delete_many([self._key(who), f"{self._key(who)}:ends"])

    def retry_after(self, who: str) -> int:
        """Seconds until the current window for ``who`` closes (the whole window if unknown)."""
        ends = cache.get(f"{self._key(who)}:ends")
        if ends is None:
            return self.window
        return max(math.ceil(ends - time.time()), 1)

    def refusal(self, who: str, message: str) -> Refusal | None:
        """A refusal when ``who`` has used up the limit; ``{wait}`` in the message says how long."""
        if not self.exceeded(who):
            return None
        THROTTLED.labels(self.scope).inc()
        seconds = self.retry_after(who)
        return Refusal(message.format(wait=wait_phrase(seconds)), seconds)

    @property
    def minutes(self) -> int:
        return max(self.window // 60, 1)


@dataclass(frozen=True)
class Slowdown:
    """After ``events.limit`` events for one key within ``events.window``, each further attempt
    must come 1, 2, 4, 8 … seconds, at most ``cap``, after the latest event."""

    events: Limit
    cap: int  # seconds

    def hit(self, who: str) -> None:
        self.events.hit(who)
        cache.set(f"{self.events._key(who)}:latest", time.time(), self.events.window)

    def wait(self, who: str) -> int:
        """Seconds ``who`` must still wait before the next attempt; 0 when it may go ahead."""
        beyond = self.events.count(who) - self.events.limit
        latest = cache.get(f"{self.events._key(who)}:latest")
        if beyond < 0 or latest is None:
            return 0
        delay = min(2 ** min(beyond, 16), self.cap)
        return max(math.ceil(latest + delay - time.time()), 0)


LOGIN_FAILURES_PER_ADDRESS = Limit("login-ip", 20, 15 * 60)
LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = Limit("login-account-ip", 5, 15 * 60)
LOGIN_SLOWDOWN_PER_ACCOUNT = Slowdown(Limit("login-account", 10, 15 * 60), cap=60)
SIGNUPS_PER_ADDRESS = Limit("signup-ip", 10, 60 * 60)
RESET_REQUESTS_PER_ADDRESS = Limit("reset-ip", 5, 60 * 60)
RESET_MAILS_PER_ACCOUNT = Limit("reset-account", 3, 60 * 60)
AUTOSAVES_PER_USER = Limit("autosave-user", 240, 60)


@dataclass(frozen=True)
class SignIn:
    """One attempt to sign in: from ``address``, as ``account`` (the username as the
    authentication backend receives it, or None when the form has no valid username). The
    account is counted case-folded, as sign-in matches it: "Carol" and "CAROL" are carol's."""

    address: str
    account: str | None

    def __post_init__(self) -> None:
        if self.account is not None:
            object.__setattr__(self, "account", self.account.casefold())

    @property
    def _pair(self) -> str:
        return f"{self.address} {self.account}"  # an address never contains a space

    def refusal(self) -> Refusal | None:
        """Why this attempt may not be checked now, or None when it may."""
        refusal = LOGIN_FAILURES_PER_ADDRESS.refusal(
            self.address,
            "Too many attempts from here. Wait {wait} and try again, "
            "or reset your password if you have forgotten it.",
        )
        if refusal or self.account is None:
            return refusal
        refusal = LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS.refusal(
            self._pair,
            "Too many attempts for this account from here. Wait {wait} and try again, "
            "or reset your password if you have forgotten it.",
        )
        if refusal or not LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS.count(self._pair):
            return refusal
        if seconds := LOGIN_SLOWDOWN_PER_ACCOUNT.wait(self.account):
            return Refusal(
                "This account has had many failed sign-ins recently, so attempts on it are "
                f"spaced out. Try again in {wait_phrase(seconds)}.",
                seconds,
            )
        return None

    def failed(self) -> None:
        LOGIN_FAILURES_PER_ADDRESS.hit(self.address)
        if self.account is not None:
            LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS.hit(self._pair)
            LOGIN_SLOWDOWN_PER_ACCOUNT.hit(self.account)

    def succeeded(self) -> None:
        # The account-wide count stays: whoever is guessing elsewhere has not stopped.
        if self.account is not None:
            LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS.reset(self._pair)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    return getattr(address, "ipv4_mapped", None) or address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address in network for network in settings.TRUSTED_PROXIES)


def client_address(request: HttpRequest) -> str:
    """The address of the client that sent ``request``.

    REMOTE_ADDR, unless it is one of ``settings.TRUSTED_PROXIES``: each of those appends the
    address it was connected from to X-Forwarded-For, so the right-most entry that is not a
    trusted proxy is the client, and everything left of it is whatever the client chose to
    send. When there is no such entry, or a proxy wrote something that is not an address
    there, REMOTE_ADDR it is.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    peer = _ip(remote)
    if peer is None:
        return remote or "unknown"
    if _trusted(peer):
        for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            hop = _ip(entry)
            if hop is None:
                break
            if not _trusted(hop):
                return str(hop)
    return str(peer)
