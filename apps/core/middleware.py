"""One structured log line per request (what was asked, what came back, how long it took), and
the same numbers for Prometheus."""

from __future__ import annotations

import copy
import json
import logging
import time

from django.conf import settings
from django.middleware import csp
from django.utils.csp import CSP, build_policy

from apps.core import monitoring

logger = logging.getLogger("mlsd.requests")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        monitoring.observe_request(request, response, seconds)
        user = getattr(request, "user", None)
        logger.info(
            json.dumps(
                {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": round(seconds * 1000, 1),
                    "bytes": len(response.content) if not response.streaming else None,
                    "user": user.pk if user is not None and user.is_authenticated else None,
                    "htmx": bool(request.headers.get("HX-Request")),
                },
                separators=(",", ":"),
            )
        )
        return response


class PrivatePagesMiddleware:
    """Nothing shown to a signed-in user is kept by a shared cache or the browser's disk.

    Pages, exports and history carry someone's own writing: every response to a signed-in
    request (and every response that sets a cookie) says ``Cache-Control: private, no-store``
    unless the view chose its own policy. Placed after authentication.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if (signed_in or response.cookies) and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "private, no-store"
        return response


_CSP_HEADER = str(CSP.HEADER_ENFORCE)  # a str, not the enum: WSGI servers insist on str names


class ContentSecurityPolicyMiddleware(csp.ContentSecurityPolicyMiddleware):
    """Django's, with the site's policy (settings.SECURE_CSP) built once, not on every response:
    it was a fiftieth of a stored page's work. Django's own code builds it when the response is
    not the plain case: a nonce a template used, a view's own policy, a report-only policy, or
    a header already set."""

    _built: tuple[dict, str] | None = None  # (a copy of the config, its policy)

    def process_response(self, request, response):
        config = settings.SECURE_CSP
        if (
            not config
            or settings.SECURE_CSP_REPORT_ONLY
            or csp.get_nonce(request)  # false until something asks for the nonce
            or hasattr(response, "_csp_config")
            or hasattr(response, "_csp_ro_config")
            or _CSP_HEADER in response
        ):
            return super().process_response(request, response)
        built = self._built
        if built is None or built[0] != config:  # settings changed (a test's override)
            built = self._built = (copy.deepcopy(config), build_policy(config))
        response.headers[_CSP_HEADER] = built[1]
        return response
