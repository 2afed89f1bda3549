"""nginx's page cache in front of the site (deploy/nginx/mlsd.conf.template, as make cluster runs
it) keeps what anonymous readers share and never hands one person's response to another.

A small nginx is started over the test session's live server; the tests through it skip when
nginx is not installed (make test installs it where apt can). The headers the app sends for the
cache to act on are checked without nginx too.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from apps.core.caching import SHARED_CACHE_CONTROL
from apps.designdocs.models import DesignDoc, ShareLink

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx" / "mlsd.conf.template"
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _render(template: str, values: dict[str, str]) -> str:
    """What envsubst does with the listed names: ${NAME} becomes its value."""
    for name, value in values.items():
        template = template.replace(f"${{{name}}}", value)
    assert "${MLSD_" not in template, "a name in the template was not given a value"
    return template


@pytest.fixture(scope="module")
def proxy(site):
    """nginx on a free port with the repository's configuration, both upstreams the live server."""
    if NGINX is None:
        pytest.skip("nginx is not installed (make nginx, or apt-get install nginx)")
    app = f"127.0.0.1:{site.url.rsplit(':', 1)[1]}"
    listen = f"127.0.0.1:{_free_port()}"
    # Not under pytest's tmp_path: nginx's workers drop root and must reach their cache there.
    prefix = Path(tempfile.mkdtemp(prefix="mlsd-nginx-test-"))
    prefix.chmod(0o755)
    (prefix / "static").mkdir()
    site_conf = _render(
        TEMPLATE.read_text(),
        {
            "MLSD_LISTEN": listen,
            "MLSD_STATUS_LISTEN": f"127.0.0.1:{_free_port()}",
            "MLSD_APP_1": app,
            "MLSD_APP_2": app,
            "MLSD_STATIC_ROOT": str(prefix / "static"),
            "MLSD_CACHE_DIR": str(prefix / "cache"),
        },
    )
    (prefix / "mlsd.conf").write_text(site_conf)
    (prefix / "nginx.conf").write_text(
        f"worker_processes 1;\npid {prefix}/nginx.pid;\ndaemon off;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n"
        f"  proxy_temp_path {prefix}/proxy;\n  include {prefix}/mlsd.conf;\n}}\n"
    )
    command = [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", "nginx.conf"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base_url = f"http://{listen}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"{base_url}/healthz", timeout=2, trust_env=False)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (prefix / "error.log").read_text(errors="replace")
                    pytest.fail(f"nginx did not start:\n{log}")
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(prefix, ignore_errors=True)


def _get(proxy: str, path: str, cookies: dict[str, str] | None = None, **headers) -> httpx.Response:
    """One request as a new client: nothing shared with any other request but nginx's cache."""
    headers.setdefault("Accept-Encoding", "identity")
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return httpx.get(f"{proxy}{path}", headers=headers, timeout=10, trust_env=False)


@pytest.fixture
def signed_in(site, site_user):
    """Sign a committed user in: the session cookie the live server will recognise."""

    def sign_in(username: str) -> tuple:
        user = site_user(username)
        with site.unblock():
            client = Client()
            client.force_login(user)
        return user, {"sessionid": client.cookies["sessionid"].value}

    return sign_in


def test_anonymous_page_tells_shared_caches_to_keep_it_seconds(client, db):
    path = reverse("concepts:detail", args=["kafka"])
    stored, served = client.get(path), client.get(path)
    assert [stored["X-Page-Cache"], served["X-Page-Cache"]] == ["miss", "hit"]
    assert stored["Cache-Control"] == served["Cache-Control"] == SHARED_CACHE_CONTROL
    # An edit reaches anonymous readers behind a shared cache within 5 s.
    seconds = dict(re.findall(r"([a-z-]+)=(\d+)", SHARED_CACHE_CONTROL))
    assert "public" in SHARED_CACHE_CONTROL
    assert int(seconds["s-maxage"]) + int(seconds.get("stale-while-revalidate", 0)) <= 5


def test_anonymous_page_with_a_query_string_says_nothing_a_shared_cache_would_keep(client, db):
    response = client.get(reverse("concepts:detail", args=["kafka"]), {"utm": "x"})
    assert "public" not in response.get("Cache-Control", "")


def test_signed_in_reader_gets_a_private_page(client, alice):
    client.force_login(alice)
    response = client.get(reverse("concepts:detail", args=["kafka"]))
    assert response["Cache-Control"] == "private, no-store"


def test_anonymous_page_is_served_from_nginx_to_the_next_reader(proxy):
    path = reverse("concepts:detail", args=["kafka"])
    first = _get(proxy, path)
    second = _get(proxy, path)
    assert first.status_code == second.status_code == 200
    assert first.headers["X-Cache-Status"] == "MISS"
    assert second.headers["X-Cache-Status"] == "HIT"
    assert second.text == first.text
    assert "s-maxage=" in second.headers["Cache-Control"]


def test_readers_with_other_cookies_share_the_anonymous_copy(proxy):
    path = reverse("concepts:detail", args=["consistency"])
    assert _get(proxy, path, {"csrftoken": "a" * 32}).headers["X-Cache-Status"] == "MISS"
    assert _get(proxy, path, {"csrftoken": "b" * 32}).headers["X-Cache-Status"] == "HIT"
    plain, gzipped = _get(proxy, path), _get(proxy, path, **{"Accept-Encoding": "gzip"})
    assert plain.headers["X-Cache-Status"] == "HIT"
    assert "Content-Encoding" not in plain.headers
    assert gzipped.headers["X-Cache-Status"] == "MISS"  # its own copy, compressed


def test_signed_in_page_is_never_served_from_the_cache(proxy, signed_in):
    """A concept page shows the reader's account; neither copy may reach the other reader."""
    alice, cookies = signed_in("nginx-alice")
    path = reverse("concepts:detail", args=["redis"])
    for _ in range(2):
        mine = _get(proxy, path, cookies)
        assert mine.headers["X-Cache-Status"] == "BYPASS"
        assert alice.username in mine.text
        assert mine.headers["Cache-Control"] == "private, no-store"
    anonymous = [_get(proxy, path) for _ in range(2)]
    assert [r.headers["X-Cache-Status"] for r in anonymous] == ["MISS", "HIT"]
    assert all(alice.username not in r.text for r in anonymous)
    # And the anonymous copy now in the cache is not what alice gets.
    assert alice.username in _get(proxy, path, cookies).text


def test_export_is_never_served_from_the_cache(proxy, site, signed_in):
    alice, alices_cookies = signed_in("nginx-export-alice")
    _, bobs_cookies = signed_in("nginx-export-bob")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=alice, title="Alice's private ranking design")
    path = reverse("designdocs:export", args=[doc.pk])
    for _ in range(2):
        mine = _get(proxy, path, alices_cookies)
        assert mine.status_code == 200
        assert "Alice's private ranking design" in mine.text
        assert mine.headers["X-Cache-Status"] == "BYPASS"
    for cookies in (bobs_cookies, None):
        other = _get(proxy, path, cookies)
        assert other.status_code in {302, 404}
        assert "Alice's private ranking design" not in other.text
        assert other.headers["X-Cache-Status"] != "HIT"


def test_shared_link_is_never_served_from_the_cache(proxy, site, site_user):
    """Whoever holds the link reads the doc, but nginx keeps no copy: once revoked, it is gone."""
    alice = site_user("nginx-share-alice")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=alice, title="Shared ranking design for review")
        link, token = ShareLink.make(doc, "for review")
    path = reverse("sharing:doc", args=[token])
    for _ in range(2):
        shared = _get(proxy, path)
        assert shared.status_code == 200
        assert "Shared ranking design for review" in shared.text
        assert shared.headers["X-Cache-Status"] == "MISS"
    with site.unblock():
        link.delete()
    revoked = _get(proxy, path)
    assert revoked.status_code == 404
    assert "Shared ranking design for review" not in revoked.text


def test_response_setting_a_csrf_cookie_is_never_cached(proxy):
    path = reverse("login")
    first, second = _get(proxy, path), _get(proxy, path)
    assert first.status_code == second.status_code == 200
    assert first.cookies["csrftoken"] != second.cookies["csrftoken"]
    assert second.headers["X-Cache-Status"] == "MISS"


def test_htmx_request_never_gets_the_cached_page(proxy):
    path = reverse("concepts:detail", args=["load-balancing"])
    _get(proxy, path)
    assert _get(proxy, path).headers["X-Cache-Status"] == "HIT"
    assert _get(proxy, path, **{"HX-Request": "true"}).headers["X-Cache-Status"] == "BYPASS"


def test_prometheus_page_is_not_reachable_through_nginx(proxy):
    response = _get(proxy, "/internal/metrics")
    assert response.status_code == 404
    assert "mlsd_" not in response.text
