"""What each worker process would otherwise build on its first requests, built once at load.

Django imports the URLconf (and with it every view and the libraries they use: numpy,
rapidfuzz, django-ninja, redis-py) on the first request, fills the URL resolvers' reverse
lookups on the first ``reverse()``, and compiles each template the first time it is rendered.
In gunicorn's workers, forked from a master that loaded the app (``preload_app``), all that
was done after the fork: some 45,000 objects in each worker, its own copy, which every full
garbage collection walked while all of the worker's threads waited. Built while the app loads,
in the master, they are shared by the workers and frozen out of the collector's walk with the
rest (deploy/gunicorn.conf.py, ``when_ready``).

Nothing here connects to the database or Redis: forked workers must share no socket.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.template import engines
from django.urls import URLResolver, get_resolver


def warm_up() -> int:
    """Import and fill what the first requests would; returns the templates compiled."""
    _fill(get_resolver())
    # Django's Redis backend imports redis-py when its client is first made (no connection).
    getattr(caches["default"], "_cache", None)
    return _compile_templates()


def _fill(resolver: URLResolver) -> None:
    resolver.reverse_dict  # noqa: B018 (imports the URLconf, fills the reverse lookups)
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            _fill(pattern)


def _compile_templates() -> int:
    """Every template of the project's own, into the cached loader (settings.TEMPLATES)."""
    engine = engines["django"]
    roots = [
        Path(settings.BASE_DIR) / "templates",
        *Path(settings.BASE_DIR).glob("apps/*/templates"),
    ]
    names = sorted({str(path.relative_to(root)) for root in roots for path in root.rglob("*.html")})
    for name in names:
        engine.get_template(name)
    return len(names)
