"""How many calculations one caller may ask for in a minute, through the API or the pages.

Anonymous callers are counted per address, signed-in users per account (with more room).
The counters are ``apps.accounts.throttle`` limits, kept in the shared cache, so every worker
sees the same counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from apps.accounts import throttle
from apps.accounts.throttle import Limit


@dataclass(frozen=True)
class Quota:
    anonymous: Limit  # per client address
    signed_in: Limit  # per account

    def refuses(self, request: HttpRequest) -> bool:
        """Count this request; True when it is over the caller's limit for this window."""
        if request.user.is_authenticated:
            limit, who = self.signed_in, f"user:{request.user.pk}"
        else:
            limit, who = self.anonymous, throttle.client_address(request)
        return limit.hit(who) > limit.limit

    @property
    def window(self) -> int:
        """Seconds after which a refused caller may try again (the window starts at the first
        request counted, so this is an upper bound)."""
        return max(self.anonymous.window, self.signed_in.window)

    def describe(self) -> str:
        return (
            f"at most {self.anonymous.limit} requests a minute from one address, or "
            f"{self.signed_in.limit} a minute when signed in"
        )


API = Quota(Limit("api-ip", 120, 60), Limit("api-user", 600, 60))
"""The JSON API: 120 requests a minute per address, 600 per account."""

# The pages recompute as the reader types (400 ms after the last key), and a class behind
# one address shares it, hence more room than the API.
CALCULATOR = Quota(Limit("calculator-ip", 300, 60), Limit("calculator-user", 600, 60))
"""The HTML calculators: 300 calculations a minute per address, 600 per account."""
