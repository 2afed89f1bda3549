"""Production hardening: deploy checks, security headers, throttling, logs, export, deletion."""

import io
import json
import logging
import os
import subprocess
import sys
import zipfile

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import override_settings
from django.utils.csp import CSP, build_policy

from apps.core.middleware import ContentSecurityPolicyMiddleware
from apps.designdocs.models import Answer, DesignDoc, Prompt
from apps.search.models import Entry

pytestmark = pytest.mark.django_db

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "kJ8#vQ2!pL9@xR4$mN7^bT1&cW6*zH3(yF5)gD0-sA8+eU2=iO4",
    "ALLOWED_HOSTS": "mlsd.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://mlsd.example.com",
    "EMAIL_HOST": "smtp.example.com",
    "DATABASE_URL": "postgres://u@127.0.0.1:5432/db",
}


def test_check_deploy_reports_nothing_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={**os.environ, **PRODUCTION_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_security_settings():
    probe = subprocess.run(
        [
            sys.executable, "-c",
            "import json, mlsd_site.settings as s; print(json.dumps([s.SECURE_HSTS_SECONDS,"
            " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
            " s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE]))",
        ],
        cwd=settings.BASE_DIR, env={**os.environ, **PRODUCTION_ENV},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(probe.stdout) == [31536000, True, True, True, True, "Lax"]


def test_every_page_sends_the_security_headers(client):
    response = client.get("/concepts/")
    policy = response["Content-Security-Policy"]
    directives = ["default-src 'self'", "script-src 'self'", "style-src 'self'",
                  "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'"]  # fmt: skip
    for directive in directives:
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_the_policy_built_once_is_djangos_and_follows_the_settings(client):
    page = "/accounts/login/"  # a page no cache keeps: each response passes the middleware
    assert client.get(page)["Content-Security-Policy"] == build_policy(settings.SECURE_CSP)
    stricter = {**settings.SECURE_CSP, "img-src": [CSP.SELF]}
    with override_settings(SECURE_CSP=stricter):
        assert client.get(page)["Content-Security-Policy"] == build_policy(stricter)
    assert "img-src 'self' data:;" in client.get(page)["Content-Security-Policy"]


@pytest.mark.parametrize("used", [True, False])
def test_a_nonce_is_in_the_policy_when_a_page_used_it(rf, used):
    """Django's own build where it differs: a nonce a template asked for, a view's policy."""
    asked = []

    def page(request):  # a template that uses the nonce, or one that does not
        asked.extend([str(request._csp_nonce)] if used else [])
        return HttpResponse()

    with override_settings(SECURE_CSP={"script-src": [CSP.SELF, CSP.NONCE]}):
        response = ContentSecurityPolicyMiddleware(page)(rf.get("/"))
    nonces = [f"'nonce-{nonce}'" for nonce in asked]
    assert response["Content-Security-Policy"] == " ".join(["script-src 'self'", *nonces])
    assert all(type(name) is str for name, _ in response.items()), "WSGI servers want str"
    response = HttpResponse()
    response._csp_config = {"default-src": [CSP.NONE]}
    own = ContentSecurityPolicyMiddleware(lambda request: response)(rf.get("/"))
    assert own["Content-Security-Policy"] == "default-src 'none'"


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_SSL_REDIRECT=False)
def test_hsts_is_sent_over_https(client):
    response = client.get("/concepts/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_session_cookie_is_http_only_and_same_site(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-9"})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_login_is_throttled_per_account_with_a_clear_message(client, alice):
    for _ in range(5):
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-9"})
    assert response.status_code == 429
    assert "Too many attempts" in response.text and "15 minutes" in response.text
    assert "_auth_user_id" not in client.session


def test_login_is_throttled_per_address_across_accounts(client):
    for n in range(20):
        client.post("/accounts/login/", {"username": f"nobody{n}", "password": "x"})
    response = client.post("/accounts/login/", {"username": "someone-else", "password": "x"})
    assert response.status_code == 429


def test_a_successful_login_clears_the_account_counter(client, alice):
    for _ in range(4):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert (
        client.post(
            "/accounts/login/", {"username": "alice", "password": "correct-horse-9"}
        ).status_code
        == 302
    )
    client.post("/accounts/logout/")
    for _ in range(4):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert (
        client.post(
            "/accounts/login/", {"username": "alice", "password": "correct-horse-9"}
        ).status_code
        == 302
    )


def test_signup_is_throttled_per_address(client):
    for n in range(10):
        client.post(
            "/accounts/signup/",
            {"username": f"u{n}", "email": "bad", "password1": "x", "password2": "y"},
        )
    good = {
        "username": "late",
        "email": "late@example.com",
        "password1": "a-long-unusual-pass-88",
        "password2": "a-long-unusual-pass-88",
    }
    response = client.post("/accounts/signup/", good)
    assert response.status_code == 429 and "Too many attempts" in response.text
    assert not get_user_model().objects.filter(username="late").exists()


def test_autosave_is_rate_limited_per_user(client, alice):
    doc = DesignDoc.objects.create(owner=alice, title="Busy")
    client.force_login(alice)
    from apps.accounts import throttle

    for _ in range(throttle.AUTOSAVES_PER_USER.limit):
        throttle.AUTOSAVES_PER_USER.hit(str(alice.pk))
    response = client.post(
        f"/docs/{doc.pk}/answers/business_goal/",
        {"business_goal": "x", "version_business_goal": "0"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 429
    assert "Not saved yet" in response.text and "stays in the field" in response.text
    assert 1 <= int(response["Retry-After"]) <= throttle.AUTOSAVES_PER_USER.window
    assert not Answer.objects.filter(doc=doc).exists()


def test_each_request_logs_one_structured_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="mlsd.requests"):
        client.get("/concepts/tcp/")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mlsd.requests"]
    assert len(lines) == 1
    assert lines[0]["path"] == "/concepts/tcp/" and lines[0]["status"] == 200
    assert lines[0]["ms"] >= 0 and lines[0]["user"] is None


@pytest.mark.parametrize("in_memory", [4 * 1024 * 1024, 1])  # the second spills to disk
def test_export_all_docs_as_one_archive(client, alice, bob, monkeypatch, in_memory):
    from apps.designdocs import views

    monkeypatch.setattr(views, "ZIP_IN_MEMORY", in_memory)
    mine = DesignDoc.objects.create(owner=alice, title="Mine")
    mine.save_answer(Prompt.objects.get(key="business_goal"), "My goal", 0)
    DesignDoc.objects.create(owner=bob, title="Not mine")
    trashed = DesignDoc.objects.create(owner=alice, title="Trashed")
    trashed.move_to_trash()
    client.force_login(alice)
    response = client.get("/docs/export.zip")
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="mlsd-design-docs.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert names == [f"{mine.pk:05d}-mine.md"]
    assert "My goal" in archive.read(names[0]).decode()


def test_deleting_the_account_deletes_all_its_data(client, alice, bob):
    doc = DesignDoc.objects.create(owner=alice, title="Private")
    doc.save_answer(Prompt.objects.get(key="business_goal"), "secret", 0)
    DesignDoc.objects.create(owner=bob, title="Bob's")
    client.force_login(alice)
    assert client.get("/accounts/delete/").status_code == 200
    response = client.post("/accounts/delete/", {"password": "wrong"})
    assert "not your password" in response.text
    assert get_user_model().objects.filter(username="alice").exists()
    response = client.post("/accounts/delete/", {"password": "correct-horse-9"})
    assert response.status_code == 302
    assert not get_user_model().objects.filter(username="alice").exists()
    assert not DesignDoc.objects.filter(pk=doc.pk).exists()
    assert not Answer.objects.filter(doc_id=doc.pk).exists()
    assert not Entry.objects.filter(kind="doc", object_id=doc.pk).exists()
    assert DesignDoc.objects.filter(owner=bob).exists()
    assert "Create a free account" in client.get("/docs/").text, "signed out: the landing page"
