"""Soak test: signed-in clients read and autosave while PostgreSQL restarts, twice.

    python -m bench.soak [--seconds 60] [--clients 32]      (the CI form: --seconds 45)
    python -m bench.soak --cluster [--seconds 60]           (through nginx to make cluster)

It builds a scratch database (mlsd_soak) on 127.0.0.1:5432, serves the site under gunicorn with
production settings (DEBUG off, persistent health-checked connections) and runs the clients
until the deadline. PostgreSQL restarts half way through under full load, and again at three
quarters with the clients held back until it is up: under load every worker meets the outage
and drops its connection, so only the quiet restart leaves each worker holding a connection the
restart killed, which CONN_HEALTH_CHECKS must replace. Then it checks that

- the site recovered: a request succeeded, and /healthz said 200, within 10 s of each restart;
- no request failed (5xx, no response) before the first restart, after the site recovered from
  it, or after the quiet restart;
- no request got an answer the site never gives a signed-in user (a 403, a 302 to sign in…);
- every autosave the site acknowledged (200) is in the database: per doc and prompt, the last
  acknowledged value is the stored one, with the version the site returned.

Errors during the outage are counted, not failed. The exit status is 1 when a check fails.

Sessions are written straight to the session store, so throttling on the sign-in view cannot
interfere; every client request carries its session, so every request needs the database
(pages cached for anonymous readers would hide the outage).

--cluster: the same load and checks through nginx to the two replicas and the worker of
deploy/cluster.sh (database mlsd_cluster), starting the cluster when it is not running and
stopping it afterwards; the seeded users are deleted at the end instead of the database.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from bench.server import TaskWorker
from bench.soak_lib import (
    HOST,
    Restart,
    Server,
    count_gunicorn_alarms,
    create_database,
    drop_database,
    logged_errors,
    other_sessions,
)

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "mlsd_soak"
RECOVERY_LIMIT = 10.0  # seconds from the restart completing
# When PostgreSQL restarts, as fractions of the run: under full load, then with the clients held
# back until it is up again, so that every gunicorn worker keeps a connection the restart killed.
LOADED_RESTART_AT, QUIET_RESTART_AT = 0.5, 0.75
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
KEYS_PER_CLIENT = 4  # few prompts per doc, so acknowledged values get overwritten often
# Relative weights of what a client does next.
ACTIONS = {"concept": 25, "metric": 20, "search": 10, "doc_list": 10, "step": 10, "autosave": 25}
# Answers a signed-in owner can get; anything else below 500 means the soak or the site broke.
EXPECTED = {"search": {200, 302}, "autosave": {200, 409}}


# --- Setting the site up -------------------------------------------------------------------------


def site_environment(port: int) -> dict[str, str]:
    """Production settings on plain HTTP: what gunicorn and the setup commands run with."""
    return os.environ | {
        "DATABASE_URL": f"postgres://postgres@{HOST}:{port}/{DATABASE}",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "CONN_MAX_AGE": "600",  # the default, stated: the point is persistent connections
        "DJANGO_SETTINGS_MODULE": "mlsd_site.settings",
    }


def manage(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "manage.py", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise SystemExit(f"soak: manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


@dataclass
class Account:
    """A signed-in user with one design doc: the cookies and token its client sends."""

    index: int
    doc: int
    cookie: str
    csrf: str


@dataclass
class SiteMap:
    """What the clients visit, read from the loaded content."""

    concepts: list[str]
    metrics: list[str]
    terms: list[str]
    steps: list[str]
    prompts: dict[str, str]  # text and Markdown prompts: key -> its step's slug


def seed(count: int, prefix: str = "soak") -> tuple[list[Account], SiteMap]:
    """Users (``<prefix><n>``), their docs and sessions, written with the site's own models."""
    import django  # only now: the settings read the environment that main() has just set

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the site's LOGGING logs at INFO
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.db import connections
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.urls import reverse
    from django.utils.crypto import get_random_string

    from apps.concepts.models import Concept
    from apps.designdocs.models import DesignDoc, Prompt, Step
    from apps.metrics.models import Metric

    session_store = importlib.import_module(settings.SESSION_ENGINE).SessionStore
    accounts = []
    for index in range(count):
        user = get_user_model()(username=f"{prefix}{index}", email=f"{prefix}{index}@example.com")
        user.set_unusable_password()  # no hashing: nobody signs in through the form
        user.save()
        doc = DesignDoc.objects.create(owner=user, title=f"Soak doc {index}")
        doc.record_revision("Created")
        session = session_store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        csrf = get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)
        # SESSION_COOKIE_SECURE keeps cookie jars from sending them over HTTP: send them as is.
        cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
        cookie += f"{settings.CSRF_COOKIE_NAME}={csrf}"
        accounts.append(Account(index, doc.pk, cookie, csrf))
    titles = list(Concept.objects.values_list("title", flat=True))
    site = SiteMap(
        concepts=[reverse("concepts:detail", args=[s]) for s in _slugs(Concept)],
        metrics=[reverse("metrics:detail", args=[s]) for s in _slugs(Metric)],
        terms=sorted({word.lower() for t in titles for word in t.split() if len(word) > 3}),
        steps=list(Step.objects.order_by("order").values_list("slug", flat=True)),
        # Prompts a new doc is asked (a conditional prompt waits for its condition, and is not
        # on its step page until then), written as text.
        prompts=dict(
            Prompt.objects.counted()
            .filter(kind__in=[Prompt.Kind.TEXT, Prompt.Kind.MARKDOWN])
            .values_list("key", "step__slug")
        ),
    )
    if not (site.concepts and site.metrics and site.terms and site.steps and site.prompts):
        raise SystemExit(f"soak: the loaded content is missing pages to visit: {site}")
    connections.close_all()  # PostgreSQL restarts under this process too
    return accounts, site


def _slugs(model) -> list[str]:
    return list(model.objects.values_list("slug", flat=True))


# --- The load ------------------------------------------------------------------------------------


class Gate:
    """Lets requests through while open; closing it waits for those in flight to finish."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._open = True
        self._inside = 0

    @contextmanager
    def passage(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self._open)
            self._inside += 1
        try:
            yield
        finally:
            with self._changed:
                self._inside -= 1
                self._changed.notify_all()

    def close(self, timeout: float) -> bool:
        """Close and wait for quiet; False when requests were still in flight at the timeout."""
        with self._changed:
            self._open = False
            return self._changed.wait_for(lambda: self._inside == 0, timeout)

    def open(self) -> None:
        with self._changed:
            self._open = True
            self._changed.notify_all()


@dataclass
class Outcome:
    """One request: its timing on the monotonic clock and what came back."""

    kind: str
    start: float
    end: float
    status: int | None  # None: no response (refused, reset, timed out)
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 500

    @property
    def unexpected(self) -> bool:
        if self.error.startswith("unexpected"):
            return True
        return not self.failed and self.status not in EXPECTED.get(self.kind, {200})


@dataclass
class Ack:
    value: str
    version: int


@dataclass
class Client:
    """One signed-in user: reads pages and autosaves answers of its own doc, one at a time."""

    base_url: str
    account: Account
    site: SiteMap
    deadline: float
    stop: threading.Event
    gate: Gate
    outcomes: list[Outcome] = field(default_factory=list)
    acks: dict[str, Ack] = field(default_factory=dict)  # the last acknowledged save per key
    # Values sent after the last acknowledgement whose fate is unknown (500, no response):
    # the save may have committed, so the stored value may be one of these.
    unsure: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.random = random.Random(self.account.index)
        keys = sorted(self.site.prompts)
        self.keys = self.random.sample(keys, min(KEYS_PER_CLIENT, len(keys)))
        self.versions: dict[str, int | None] = dict.fromkeys(self.keys, 0)  # a new doc: none
        self.sent = 0

    def run(self) -> None:
        headers = {"Cookie": self.account.cookie}
        with httpx.Client(
            base_url=self.base_url, headers=headers, timeout=TIMEOUT, trust_env=False
        ) as http:
            while time.monotonic() < self.deadline and not self.stop.is_set():
                action = self.random.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
                getattr(self, action)(http)

    def request(
        self, http: httpx.Client, kind: str, method: str, url: str, **kwargs
    ) -> httpx.Response | None:
        response, error = None, ""
        with self.gate.passage():
            start = time.monotonic()
            try:
                response = http.request(method, url, **kwargs)
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            end = time.monotonic()
        status = response.status_code if response is not None else None
        self.outcomes.append(Outcome(kind, start, end, status, error))
        if status is None or status >= 500:
            time.sleep(0.05)  # failures come back at once: do not spin
        return response

    def concept(self, http: httpx.Client) -> None:
        self.request(http, "concept", "GET", self.random.choice(self.site.concepts))

    def metric(self, http: httpx.Client) -> None:
        self.request(http, "metric", "GET", self.random.choice(self.site.metrics))

    def search(self, http: httpx.Client) -> None:
        term = self.random.choice(self.site.terms)
        self.request(http, "search", "GET", "/search/", params={"q": term})

    def doc_list(self, http: httpx.Client) -> None:
        self.request(http, "doc_list", "GET", "/docs/")

    def step(self, http: httpx.Client, slug: str | None = None) -> httpx.Response | None:
        slug = slug or self.random.choice(self.site.steps)
        return self.request(http, "step", "GET", f"/docs/{self.account.doc}/steps/{slug}/")

    def autosave(self, http: httpx.Client) -> None:
        """POST one answer as the wizard's HTMX does, with the version the site last gave."""
        key = self.random.choice(self.keys)
        if self.versions[key] is None and not self.reload_version(http, key):
            return
        self.sent += 1
        value = f"Soak {self.account.index}.{self.sent}: {secrets.token_hex(8)}"
        response = self.request(
            http,
            "autosave",
            "POST",
            f"/docs/{self.account.doc}/answers/{key}/",
            data={key: value, f"version_{key}": str(self.versions[key])},
            headers={"HX-Request": "true", "X-CSRFToken": self.account.csrf},
        )
        status = response.status_code if response is not None else None
        if status == 200:
            version = _version_in(response.text, key)
            if version is None:
                self.outcomes[-1].error = "unexpected: no version in the saved fragment"
                self.versions[key] = None
                return
            self.acks[key] = Ack(value, version)
            self.unsure[key].clear()
            self.versions[key] = version
        elif status == 409:
            self.versions[key] = None  # saved by an earlier try that did not answer: read it
        else:
            self.unsure[key].append(value)
            self.versions[key] = None

    def reload_version(self, http: httpx.Client, key: str) -> bool:
        """After an unclear outcome, read the answer's version from its step page."""
        response = self.step(http, self.site.prompts[key])
        if response is None or response.status_code != 200:
            return False
        version = _version_in(response.text, key)
        if version is None:
            self.outcomes[-1].error = "unexpected: no version field on the step page"
            return False
        self.versions[key] = version
        return True


def _version_in(html: str, key: str) -> int | None:
    match = re.search(rf'id="version-{re.escape(key)}" value="(\d+)"', html)
    return int(match.group(1)) if match else None


@dataclass
class HealthMonitor:
    """Polls /healthz (no session) every 0.1 s: when the site says it is healthy again."""

    base_url: str
    deadline: float
    stop: threading.Event
    gate: Gate
    outcomes: list[Outcome] = field(default_factory=list)

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=5.0, trust_env=False) as http:
            while time.monotonic() < self.deadline and not self.stop.is_set():
                status, error = None, ""
                with self.gate.passage():
                    start = time.monotonic()
                    try:
                        status = http.get("/healthz").status_code
                    except httpx.HTTPError as exc:
                        error = type(exc).__name__
                    end = time.monotonic()
                self.outcomes.append(Outcome("healthz", start, end, status, error))
                time.sleep(0.1)


@dataclass
class RestartRecord:
    name: str
    began: float
    done: float
    ok: bool
    output: str
    recovered: float | None = None  # the first success after it, set by the checks


@dataclass
class Run:
    clients: list[Client]
    health: HealthMonitor
    started: float
    restarts: list[RestartRecord]
    wall_offset: float  # epoch = monotonic + wall_offset

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for c in self.clients for o in c.outcomes]


def run_load(
    url: str, accounts: list[Account], site: SiteMap, seconds: float, restart: Restart
) -> Run:
    """The clients run for ``seconds``; PostgreSQL restarts under load, then in a quiet moment."""
    stop, gate = threading.Event(), Gate()
    started = time.monotonic()
    deadline = started + seconds
    clients = [Client(url, a, site, deadline, stop, gate) for a in accounts]
    health = HealthMonitor(url, deadline, stop, gate)
    workers = [health, *clients]
    threads = [threading.Thread(target=w.run, name="soak", daemon=True) for w in workers]
    restarts = []
    try:
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, started + seconds * LOADED_RESTART_AT - time.monotonic()))
        restarts.append(_restart(restart, "restart under load", started))
        time.sleep(max(0.0, started + seconds * QUIET_RESTART_AT - time.monotonic()))
        quiet = gate.close(timeout=TIMEOUT.read + 1)
        try:
            name = "quiet restart" if quiet else "quiet restart (requests still in flight)"
            restarts.append(_restart(restart, name, started))
        finally:
            gate.open()
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()) + TIMEOUT.read + 10)
    finally:
        stop.set()
        gate.open()
    wall_offset = time.time() - time.monotonic()
    return Run(clients, health, started, restarts, wall_offset)


def _restart(restart: Restart, name: str, started: float) -> RestartRecord:
    print(f"soak: {name} of PostgreSQL ({restart.how}) at t={time.monotonic() - started:.1f} s")
    began = time.monotonic()
    ok, output = restart.run()
    done = time.monotonic()
    print(f"soak: restart completed at t={done - started:.1f} s (took {done - began:.1f} s)")
    return RestartRecord(name, began, done, ok, output)


# --- Checks --------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _first_success(outcomes: Iterable[Outcome], after: float, statuses: range) -> float | None:
    return min((o.end for o in outcomes if o.start >= after and o.status in statuses), default=None)


def recovery_checks(run: Run) -> list[Check]:
    """How long after each restart the site served again; sets each one's recovery point."""
    checks = []
    for restart in run.restarts:
        request = _first_success(run.outcomes, restart.done, range(200, 400))
        healthz = _first_success(run.health.outcomes, restart.done, range(200, 201))
        output = "; ".join(restart.output.splitlines()[-4:]) or "no output"
        checks.append(Check(f"{restart.name}: PostgreSQL restarted", restart.ok, output))
        for what, at in (("first successful request", request), ("first /healthz 200", healthz)):
            name = f"{restart.name}: {what}"
            if at is None:
                checks.append(Check(name, False, "never happened"))
                continue
            after = at - restart.done
            detail = f"{after:.2f} s after the restart completed (limit {RECOVERY_LIMIT:.0f} s)"
            checks.append(Check(name, after <= RECOVERY_LIMIT, detail))
        points = [t for t in (request, healthz) if t is not None]
        restart.recovered = min(points) if points else None
    return checks


PHASES = ("before restart", "outage", "after recovery", "after quiet restart")


def phase_of(start: float, end: float, run: Run) -> str:
    """The outage runs from the restart under load to the first success after it.

    Requests in flight when it began belong to it; nothing is sent during the quiet restart,
    so everything after it must succeed: a worker's stale connection would fail there.
    """
    loaded, quiet = run.restarts
    if end < loaded.began:
        return "before restart"
    if loaded.recovered is None or start < loaded.recovered:
        return "outage"
    return "after recovery" if start < quiet.began else "after quiet restart"


def request_checks(run: Run) -> tuple[list[Check], str]:
    """Failures per phase (the outage's are allowed), and a table of what happened."""
    everything = run.outcomes + run.health.outcomes
    by_phase: dict[str, list[Outcome]] = {p: [] for p in PHASES}
    for outcome in everything:
        by_phase[phase_of(outcome.start, outcome.end, run)].append(outcome)
    columns = ("requests", "ok", "409", "5xx", "no resp", "odd", "p50 ms", "p95 ms", "max ms")
    rows = [f"{'phase':<20}" + "".join(f"{c:>9}" for c in columns)]
    for phase, outcomes in by_phase.items():
        statuses = Counter(o.status for o in outcomes)
        latencies = sorted(1000 * (o.end - o.start) for o in outcomes)
        cells = (
            len(outcomes),
            sum(1 for o in outcomes if not o.failed),
            statuses[409],
            sum(1 for o in outcomes if o.status and o.status >= 500),
            statuses[None],
            sum(1 for o in outcomes if o.unexpected),
            _percentile(latencies, 50),
            _percentile(latencies, 95),
            latencies[-1] if latencies else 0,
        )
        rows.append(f"{phase:<20}" + "".join(f"{c:>9.0f}" for c in cells))
    errors = Counter(o.error for o in everything if o.error)
    if errors:
        rows.append("client-side errors: " + ", ".join(f"{e} ×{n}" for e, n in errors.items()))
    checks = []
    for phase in PHASES:
        if phase == "outage":
            continue
        outcomes = by_phase[phase]
        failed = [o for o in outcomes if o.failed]
        detail = _describe(failed) if failed else f"0 of {len(outcomes)}"
        checks.append(Check(f"no request failed {phase}", not failed and bool(outcomes), detail))
    odd = [o for o in everything if o.unexpected]
    checks.append(Check("no unexpected answer (403, 302 to sign in…)", not odd, _describe(odd)))
    return checks, "\n".join(rows)


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100)[percent - 1]


def _describe(outcomes: list[Outcome]) -> str:
    if not outcomes:
        return "none"
    counts = Counter((o.kind, o.status, o.error) for o in outcomes)
    return ", ".join(
        f"{k} {s or ''} {e} ×{n}".replace("  ", " ") for (k, s, e), n in counts.items()
    )


def refreshes_check(run: Run, limit: float = 20.0) -> Check:
    """The worker catches up after the load: within ``limit`` seconds every doc written to is
    refreshed (Markdown rendered, snapshot kept, search entry indexed) after its last save."""
    from django.db import connections

    from apps.designdocs.models import DesignDoc

    docs = [c.account.doc for c in run.clients]
    behind = DesignDoc.objects.filter(pk__in=docs).behind()
    started, waiting = time.monotonic(), len(docs)
    while time.monotonic() - started < limit:
        connections.close_all()  # the restart killed this process's connection
        try:
            waiting = behind.count()
        except Exception:  # the database is still coming back
            waiting = len(docs)
        if not waiting:
            took = time.monotonic() - started
            return Check("the task worker caught up", True, f"all {len(docs)} docs in {took:.1f} s")
        time.sleep(0.5)
    return Check(
        "the task worker caught up", False, f"{waiting} docs still behind after {limit:.0f} s"
    )


def acknowledged_saves_check(run: Run) -> Check:
    """Every acknowledged autosave is in the database: the last one per doc and prompt."""
    from django.db import connections

    from apps.designdocs.models import Answer

    connections.close_all()  # this process's connection died with the restart
    docs = [c.account.doc for c in run.clients]
    stored = {
        (doc, key): (value, version)
        for doc, key, value, version in Answer.objects.filter(doc__in=docs).values_list(
            "doc_id", "prompt__key", "value", "version"
        )
    }
    connections.close_all()
    checked, landed_later, wrong = 0, 0, []
    for client in run.clients:
        for key, ack in client.acks.items():
            checked += 1
            value, version = stored.get((client.account.doc, key), (None, None))
            if (value, version) == (ack.value, ack.version):
                continue
            if value in client.unsure[key]:
                landed_later += 1  # a later save that never answered committed after all
                continue
            stored_as = f"{value!r} v{version}" if value is not None else "nothing"
            wrong.append(f"doc {client.account.doc} {key}: acknowledged {ack}, stored {stored_as}")
    total = sum(1 for o in run.outcomes if o.kind == "autosave" and o.status == 200)
    detail = (
        f"{total} saves acknowledged; last per (doc, prompt): {checked} checked, "
        f"{len(wrong)} missing, {landed_later} overwritten by a later unanswered save"
    )
    if wrong:
        detail += "\n      " + "\n      ".join(wrong[:10])
    return Check(
        "every acknowledged autosave is in the database", checked > 0 and not wrong, detail
    )


def server_errors(log: Path, run: Run) -> str:
    """What the site logged: exceptions per phase, and tracebacks from outside the outage."""
    lines = []
    by_phase: dict[str, Counter] = defaultdict(Counter)
    unexplained = []
    for error in logged_errors(log):
        at = error.at - run.wall_offset
        phase = phase_of(at, at, run)
        if phase == "outage":
            by_phase[phase][error.exception[:150]] += 1
        else:
            by_phase[phase][f"{error.message[:60]} → {error.exception[:150]}"] += 1
            unexplained.append(error)
    for phase in PHASES:
        for what, count in by_phase[phase].most_common(8):
            lines.append(f"  {phase}: {count} × {what}")
    for alarm, count in count_gunicorn_alarms(log).most_common(8):
        lines.append(f"  gunicorn: {count} × {alarm}")
    for error in unexplained[:3]:
        text = error.text.splitlines()
        if len(text) > 30:  # the request line, then the innermost frames and the exception
            text = [*text[:1], "    …", *text[-24:]]
        lines.append("  --- logged outside the outage ---\n" + "\n".join(text))
    return "\n".join(lines) or "  nothing logged at ERROR"


# --- Main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=60, help="length of the load (60)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent users (32)")
    parser.add_argument("--pg-port", type=int, default=5432, help="PostgreSQL port (5432)")
    parser.add_argument(
        "--cluster", action="store_true", help="through nginx to make cluster's replicas"
    )
    args = parser.parse_args(argv)
    if args.cluster and args.pg_port != 5432:
        parser.error("--cluster: deploy/cluster.sh runs on PostgreSQL's 5432")
    if args.seconds < 30:
        parser.error("--seconds must be at least 30: two restarts and their recoveries fit in")
    if args.clients < 1:
        parser.error("--clients must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens in CI logs
    began = time.monotonic()
    restart = Restart.for_server(args.pg_port)  # before anything: fail early if we cannot
    database = "mlsd_cluster" if args.cluster else DATABASE
    if others := other_sessions(args.pg_port, database):
        cut = ", ".join(f"{name} ×{count}" for name, count in others.items())
        print(f"soak: warning: the restarts will cut other connections to this server ({cut})")
    soak = soak_cluster if args.cluster else soak_server
    checks = soak(args, restart, began)
    for check in checks:
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    failed = [c for c in checks if not c.ok]
    print(f"\nsoak: {'FAILED' if failed else 'passed'} in {time.monotonic() - began:.0f} s")
    return 1 if failed else 0


def soak_server(args: argparse.Namespace, restart: Restart, began: float) -> list[Check]:
    """One gunicorn and a task worker over a scratch database, dropped afterwards."""
    env = site_environment(args.pg_port)
    os.environ.update(env)  # this process seeds and checks through the site's models
    create_database(args.pg_port, DATABASE)
    try:
        print(f"soak: database {DATABASE}: migrate, collectstatic, load_content")
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        manage(env, "load_content")
        accounts, site = seed(args.clients)
        with tempfile.TemporaryDirectory(prefix="mlsd-soak-") as scratch:
            log = Path(scratch) / "gunicorn.log"
            server = Server(ROOT, env, log)
            try:
                # The task worker too, as in production: it lives through the restarts.
                with TaskWorker(env):
                    server.start()
                    print(
                        f"soak: set up in {time.monotonic() - began:.0f} s; {args.clients} "
                        f"clients for {args.seconds:.0f} s against {server.url}",
                    )
                    run = run_load(server.url, accounts, site, args.seconds, restart)
                    caught_up = refreshes_check(run)
            finally:
                server.stop()
            return run_checks(run, caught_up, log)
    finally:
        from django.db import connections

        connections.close_all()
        try:
            drop_database(args.pg_port, DATABASE)
        except psycopg.Error as exc:
            print(f"soak: could not drop {DATABASE}: {exc}", file=sys.stderr)


def soak_cluster(args: argparse.Namespace, restart: Restart, began: float) -> list[Check]:
    """Through nginx to deploy/cluster.sh's replicas and worker; the cluster is started when it
    is not running, and then stopped again on every way out."""
    from bench import cluster

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind through the clean-up
    ours = not cluster.answers(f"{cluster.NGINX}/healthz")
    prefix = f"soakcluster{int(time.time())}-"
    logs = [cluster.RUN / f"{name}.log" for name in cluster.REPLICAS]
    seeded = False
    try:
        if ours:
            cluster.start_cluster()
        os.environ.update(cluster.site_environment())
        seeded = True
        accounts, site = seed(args.clients, prefix)
        # The replicas' logs from here on are this soak's.
        offsets = [log.stat().st_size if log.exists() else 0 for log in logs]
        print(
            f"soak: set up in {time.monotonic() - began:.0f} s; {args.clients} clients for "
            f"{args.seconds:.0f} s against {cluster.NGINX} (two replicas, the cluster's worker)"
        )
        run = run_load(cluster.NGINX, accounts, site, args.seconds, restart)
        caught_up = refreshes_check(run)
        with tempfile.TemporaryDirectory(prefix="mlsd-soak-") as scratch:
            log = Path(scratch) / "replicas.log"
            with log.open("w") as merged:
                for replica_log, offset in zip(logs, offsets, strict=True):
                    with replica_log.open(errors="replace") as source:
                        source.seek(offset)
                        merged.write(source.read())
            return run_checks(run, caught_up, log)
    finally:
        if seeded:
            cluster.forget_accounts(prefix)
        if ours:
            cluster.stop_cluster()


def run_checks(run: Run, caught_up: Check, log: Path) -> list[Check]:
    """Every check of a soak, with the table of requests and the server log printed."""
    checks = recovery_checks(run)  # first: it sets the recovery points
    requests, table = request_checks(run)
    checks += [*requests, acknowledged_saves_check(run), caught_up]
    print(f"\n{table}\n\nserver log:\n{server_errors(log, run)}\n")
    return checks


if __name__ == "__main__":
    sys.exit(main())
