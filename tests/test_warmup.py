"""The app as gunicorn's master loads it (mlsd_site.wsgi): the URLconf, its views and the
templates are loaded before the workers fork, so that they share them (and the master's
gc.freeze takes them out of every worker's full collections), and nothing has connected to
the database or Redis, whose sockets the forked workers would otherwise share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LOAD = """
import json, sys
import mlsd_site.wsgi
from django.core.cache import caches
from django.db import connection
from django.template import engines
from django.urls import URLResolver, get_resolver

def resolvers(resolver):
    yield resolver
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from resolvers(pattern)

loader = engines["django"].engine.template_loaders[0]
print(json.dumps({
    "views": "apps.designdocs.views" in sys.modules and "apps.search.views" in sys.modules,
    "filled": [r._populated for r in resolvers(get_resolver())],
    "templates": sorted(loader.get_template_cache),
    "database": connection.connection is not None,
    "redis pools": len(caches["default"]._cache._pools),
}))
"""


def test_the_app_loads_its_urls_views_and_templates_without_connecting():
    nowhere = {  # a connection attempted to either would fail the load
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    env = os.environ | nowhere | {"DEBUG": "false", "SECRET_KEY": "warm-up-test"}
    env["DJANGO_SETTINGS_MODULE"] = "mlsd_site.settings"
    done = subprocess.run(
        [sys.executable, "-c", LOAD], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    ours = sorted(
        str(path.relative_to(root))
        for root in [ROOT / "templates", *ROOT.glob("apps/*/templates")]
        for path in root.rglob("*.html")
    )
    assert loaded["views"]
    assert len(loaded["filled"]) > 5 and all(loaded["filled"]), loaded["filled"]
    assert set(ours) <= set(loaded["templates"]), set(ours) - set(loaded["templates"])
    assert loaded["database"] is False and loaded["redis pools"] == 0
