"""Site-wide behaviour: settings from the environment, health, home page, admin preview."""

import os
import subprocess
import sys
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError

ROOT = settings.BASE_DIR


def boot_settings(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import mlsd_site.settings"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_settings_boot_with_no_environment():
    assert boot_settings().returncode == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "false"}, "SECRET_KEY must be set when DEBUG is off"),
        ({"CONN_MAX_AGE": "ten"}, "CONN_MAX_AGE='ten' is not a whole number"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL is malformed"),
        ({"CSRF_TRUSTED_ORIGINS": "example.com"}, "must start with http:// or https://"),
    ],
)
def test_malformed_settings_fail_loudly(env, message):
    result = boot_settings(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_use_persistent_connections_and_manifest_storage():
    result = boot_settings(
        DEBUG="false",
        SECRET_KEY="x" * 50,
        DATABASE_URL="postgres://u@127.0.0.1:5432/db",
    )
    assert result.returncode == 0, result.stderr
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import mlsd_site.settings as s; d = s.DATABASES['default'];"
            "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'],"
            " s.STORAGES['staticfiles']['BACKEND'])",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "DATABASE_URL": "postgres://u@127.0.0.1:5432/db",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == [
        "600",
        "True",
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
    ]


@pytest.mark.django_db
def test_healthz_reports_a_working_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_unreachable(client):
    with mock.patch(
        "django.db.backends.base.base.BaseDatabaseWrapper.cursor",
        side_effect=OperationalError("connection refused"),
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


@pytest.mark.django_db
def test_home_page_has_navigation_skip_link_and_csrf_header(client, alice):
    response = client.get("/")
    text = response.text
    assert response.status_code == 200
    assert 'class="skip-link" href="#main"' in text
    assert '<nav class="site-nav" aria-label="Main">' in text
    # The four parts of the handbook, each a card linking to its start.
    cards = text.split('aria-label="What is here"')[1].split("</section>")[0]
    for url, name in [("/concepts/", "Concepts"), ("/metrics/", "Metrics"),
                      ("/docs/", "Design docs"), ("/practice/", "Practice")]:  # fmt: skip
        assert f'<h2><a href="{url}">{name}</a></h2>' in cards, name
    # Anonymous pages are cached for everyone, so they carry no CSRF token; a signed-in
    # reader's HTMX requests send it from <body>.
    assert "X-CSRFToken" not in text
    client.force_login(alice)
    assert 'hx-headers=\'{"X-CSRFToken": "' in client.get("/").text
    assert "htmx" in text and "<script>" not in text
    assert ' style="' not in text


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get("/concepts/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.django_db
def test_markdown_preview_is_for_staff_only(client, alice, staff):
    url = "/preview/markdown/"
    assert client.post(url, {"body": "# Hi"}).status_code == 403
    client.force_login(alice)
    assert client.post(url, {"body": "# Hi"}).status_code == 403
    client.force_login(staff)
    response = client.post(url, {"body": "See [[tcp]] and [[nowhere]].\n\n$x^2$"})
    assert response.status_code == 200
    assert 'href="/concepts/tcp/"' in response.text
    assert "Broken links: nowhere" in response.text
    assert "<math" in response.text
    assert client.get(url).status_code == 405


@pytest.mark.django_db
def test_admin_concept_pages_offer_preview_and_list_filters(client, staff):
    client.force_login(staff)
    listing = client.get("/admin/concepts/concept/?level__id__exact=1")
    assert listing.status_code == 200
    change = client.get("/admin/concepts/concept/add/")
    assert 'hx-post="/preview/markdown/"' in change.text
    assert 'id="markdown-preview"' in change.text


def add_concept_in_admin(client, **fields):
    from apps.concepts.models import Level

    data = {
        "title": "Probe",
        "slug": "probe",
        "level": Level.objects.get(slug="foundations").pk,
        "order": 1,
        "summary": "A probe.",
        "body": "Body.",
        **fields,
    }
    return client.post("/admin/concepts/concept/add/", data, follow=True)


@pytest.mark.django_db
def test_admin_warns_about_broken_links_on_save(client, staff):
    from apps.concepts.models import Concept

    client.force_login(staff)
    response = add_concept_in_admin(
        client,
        body="Links to [[missing-page]].",
        aliases="probe one\nprobe two",
        references="RFC 9110, HTTP Semantics, 2022 | https://www.rfc-editor.org/rfc/rfc9110",
    )
    assert response.status_code == 200
    assert "links to pages that do not exist: missing-page" in response.text
    probe = Concept.objects.get(slug="probe")
    assert probe.aliases == ["probe one", "probe two"]
    assert probe.references == [
        {"title": "RFC 9110, HTTP Semantics, 2022", "url": "https://www.rfc-editor.org/rfc/rfc9110"}
    ]


@pytest.mark.django_db
def test_admin_rejects_a_javascript_reference_url(client, staff):
    from apps.concepts.models import Concept

    client.force_login(staff)
    response = add_concept_in_admin(client, references="Evil | javascript:alert(1)")
    assert response.status_code == 200
    assert "is not an http:// or https:// URL" in response.text
    assert not Concept.objects.filter(slug="probe").exists()


@pytest.mark.django_db
def test_head_requests_and_robots_txt(client):
    assert client.head("/concepts/kafka/").status_code == 200
    assert client.head("/metrics/precision/").status_code == 200
    robots = client.get("/robots.txt")
    assert robots["Content-Type"].startswith("text/plain")
    assert "Disallow: /docs/" in robots.text
