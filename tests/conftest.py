"""Shared fixtures: named users, the real content, and a real browser.

alice owns things, bob is a stranger to them, and staff edits content — the same cast in every
test file, so cross-user tests read the same everywhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.tasks import task_backends

from apps.concepts.content import ConceptKind

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _sqlite_test_database() -> Path | None:
    """Give this run its own SQLite test database file, so two runs never share one."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("sqlite3"):
        return None
    name = Path(settings.BASE_DIR) / f".test-db-{os.getpid()}.sqlite3"
    database.setdefault("TEST", {})["NAME"] = name
    return name


SQLITE_TEST_DATABASE = _sqlite_test_database()


def pytest_collection_modifyitems(config, items):
    # Browser tests run against a live server, whose transactional tests empty the database
    # afterwards; running them last keeps the session's loaded content for everyone else.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    """The test database, with the real knowledge base loaded once per session.

    pytest-django's own fixture creates only the databases that the selected tests mark with
    ``django_db``; a run of browser tests alone marks none, and would then reach the
    development database. This one always creates the test database.
    """
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        config = setup_databases(verbosity=verbosity, interactive=False, aliases={"default"})
        call_command("load_content", verbosity=0)
    yield
    with django_db_blocker.unblock():
        teardown_databases(config, verbosity=verbosity)
    if SQLITE_TEST_DATABASE is not None:
        # Django removes the database file; SQLite's write-ahead log files stay behind.
        for suffix in ("-wal", "-shm"):
            Path(f"{SQLITE_TEST_DATABASE}{suffix}").unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2's cost is the point in production and only slowness in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Cached pages and rate-limit counters never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def same_minute(monkeypatch):
    """The doc list is stored per minute ("edited 5 minutes ago"): a test that loads it twice
    to see the second served stored must not see a new minute begin in between."""
    from apps.designdocs import views

    now = time.time()
    monkeypatch.setattr(views, "time", SimpleNamespace(time=lambda: now))


@pytest.fixture
def database_tasks(settings):
    """Enqueue into the database (django-tasks-db), as production does, instead of running tasks
    at once as the rest of the suite does (tests/environment.py)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    _forget_backends()
    yield
    _forget_backends()


def _forget_backends():
    task_backends.__dict__.pop("settings", None)  # a cached_property of the handler
    for alias in list(task_backends.settings):
        with contextlib.suppress(AttributeError):
            delattr(task_backends._connections, alias)


@pytest.fixture
def levels(db):
    ConceptKind().prepare()


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", "alice@example.com", "correct-horse-9")


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", "bob@example.com", "battery-staple-7")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "sam", "sam@example.com", "editor-pass-42", is_staff=True, is_superuser=True
    )


# --- Browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if os.environ.get("SKIP_BROWSER_TESTS") == "1":
        pytest.skip("SKIP_BROWSER_TESTS=1: browser tests ran in the PostgreSQL pass")
    from playwright.sync_api import Error, sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the ORM calls that
    # pytest-django makes around live-server tests are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # Debian's chromium when it is there (make test installs it), else Playwright's own build.
    executable = CHROMIUM if shutil.which(CHROMIUM) else None
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Error:
            pytest.fail(
                f"No Chromium for the browser tests: {CHROMIUM} is missing and Playwright has no "
                "browser. Run make test (it installs one), or apt-get install -y chromium."
            )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def site(django_db_setup, django_db_blocker):
    """One live server for all browser tests, over the session's test database.

    The browser tests run last and outside per-test transactions: the server's threads and the
    test share committed data, and the knowledge base is loaded once (load_content is
    idempotent), instead of emptying and reloading the database for every test.
    """
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    with django_db_blocker.unblock():
        call_command("load_content", verbosity=0)
        server = LiveServerThread("localhost", StaticFilesHandler, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        try:
            yield SimpleNamespace(
                url=f"http://localhost:{server.port}", unblock=django_db_blocker.unblock
            )
        finally:
            server.terminate()
            _close_other_sessions()


def _close_other_sessions() -> None:
    """The live server's keep-alive request threads may still hold PostgreSQL connections,
    which would stop the test database from being dropped."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def site_user(site):
    """Make a user the live server can see (committed, not inside a test transaction)."""
    created = []

    def make(username: str, password: str = "a-long-unusual-pass-88"):
        with site.unblock():
            user = get_user_model().objects.create_user(
                username, f"{username}@example.com", password
            )
        created.append(user)
        return user

    yield make
    with site.unblock():
        for user in created:
            _delete_after_last_request(user)


def _delete_after_last_request(user, attempts: int = 20):
    """Delete ``user``; a page closed a moment ago may still send its last save (a beacon),
    which can add a revision between the cascade's reads and its deletes."""
    from django.db import IntegrityError

    for attempt in range(attempts):
        try:
            user.delete()
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def assert_no_axe_violations(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    assert violations == [], f"axe-core on {page.url}:\n" + results.generate_report()


class LateResponse:
    """The first response to a request matching ``pattern`` (whose URL passes ``first``),
    fetched from the server when the page asks and handed over only on :meth:`deliver`: a slow
    answer on demand, for what the page does while it waits. Later requests pass through."""

    def __init__(self, page, pattern: str, first=lambda url: True) -> None:
        self.page, self.held = page, []

        def hold(route) -> None:
            if self.held or not first(route.request.url):
                route.continue_()
            else:  # answered now, from what is saved now, and delivered late
                self.held.append((route, route.fetch()))

        page.route(pattern, hold)

    def wait(self) -> None:
        for _ in range(200):  # Playwright runs the route handler while the page waits
            if self.held:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError("the page made no request to hold")

    def deliver(self) -> None:
        route, response = self.held[0]
        with contextlib.suppress(Exception):  # the page may have given that request up
            route.fulfill(response=response)
