"""The API answers every refusal in JSON, including a method it does not take."""

from __future__ import annotations

import json

from django.http import HttpResponse


class JsonApiMethodNotAllowed:
    """Ninja answers a wrong method (GET, PUT, QUERY…) with Django's plain-text 405; under
    /api/ it becomes the same ``{"detail": [...]}`` shape as every other API error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code != 405
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        message = f"{request.method} is not allowed here; use POST."
        body = json.dumps({"detail": [{"loc": [], "msg": message}]})
        replaced = HttpResponse(body, status=405, content_type="application/json")
        replaced["Allow"] = "POST"
        return replaced
