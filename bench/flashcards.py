"""``python -m bench.flashcards``: flashcard review at scale, measured against the server's
static ceiling. See README.md, "Flashcards".

A fresh PostgreSQL database with the content and a thousand users' review histories
(``manage.py generate_reviews``), then 16 signed-in reviewers at once, each on its own wrk
connection, asking for the next card and grading it, in turn, as the review page does with
HTMX. The issue's bar: at most 5 SQL queries per request, p99 ≤ 50 ms.

``python -m bench.flashcards probe`` is the part that runs inside Django (the query counts, the
reviewers' sessions, the static file); the run starts it with the site's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path

import psycopg

from bench import report, wrk
from bench.__main__ import Run, run_measured
from bench.database import (
    PG_URL,
    StepFailed,
    create_database,
    flush_redis,
    loading_environment,
    postgres_version,
    run_step,
    site_environment,
    vacuum,
)
from bench.server import Gunicorn, WorkerConfig

DATABASE = "mlsd_bench_cards"
# Not python -m bench's Redis database (13): the two may run at the same time.
REDIS_DB = 14
REVIEWERS = 16
USERS = 1000
QUICK_USERS = 50
REVIEW = "/practice/cards/review/"
GRADE = "/practice/cards/review/grade/"
DECK = "family-ranking"  # for the query count of a review limited to one deck
CEILING = "mlsd-bench-cards/ceiling.html"
MAX_QUERIES = 5
MAX_P99_MS = 50
STATIC = "static ceiling"
SCENARIO = f"next card and grade, {REVIEWERS} reviewers back to back"
# A reviewer reads the card before showing the answer and reads the answer before grading: no
# person sends more than a request every half second or so. The target is measured at that
# pace (wrk's delay after each answer, 0.5 to 1 s at random); back to back, the same
# reviewers measure capacity.
PAUSE_MS = 500
PACED = f"next card and grade, {REVIEWERS} reviewers at a reader's pace"
RESULTS = report.RESULTS.with_name("flashcards.md")

# One reviewer per connection (and wrk thread). A GET is the review page's card fragment, as
# HTMX fetches it after each grade; the POST grades the card that GET showed, with the reviews
# it said the card had, so every grade is a real one (a stale one would be dropped by the app).
# A grade answers 302 to the next card; anything else, a grade sent to the sign-in page, or a
# card page with no card to grade counts as an error.
REVIEW_SCRIPT = r"""
local cookies = {%(cookies)s}
local tokens = {%(tokens)s}
local ratings = {3, 3, 4, 3, 2, 3, 1, 3, 3, 4}

function init(args)
  card, reps, grading, n = nil, nil, false, id
  local cookie = cookies[id]
  fetch = {["Cookie"] = cookie, ["HX-Request"] = "true"}
  post = {
    ["Cookie"] = cookie, ["HX-Request"] = "true", ["X-CSRFToken"] = tokens[id],
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
end

function request()
  grading = card ~= nil
  if not grading then
    return wrk.format("GET", "%(review)s", fetch)
  end
  n = n + 1
  local body = "card=" .. card .. "&reps=" .. reps .. "&rating=" .. ratings[n %% #ratings + 1]
  card = nil
  return wrk.format("POST", "%(grade)s", post, body)
end

function response(status, headers, body)
  if grading then
    local location = headers["Location"] or ""
    if status ~= 302 or string.find(location, "login", 1, true) then non200 = non200 + 1 end
    return
  end
  count(status)
  card = string.match(body or "", 'name="card" value="(%%d+)"')
  reps = string.match(body or "", 'name="reps" value="(%%d+)"')
  if status == 200 and not card then non200 = non200 + 1 end
end
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.flashcards", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_USERS} users, 4 s: a trial")
    parser.add_argument("--seconds", type=float, help="measured seconds (10; 4 with --quick)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds (2; 1 with --quick)")
    parser.add_argument(
        "--static-seconds", type=float, help="each static ceiling run (4; 2 with --quick)"
    )
    parser.add_argument("--workers", type=int, default=WorkerConfig().workers)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (4 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    args.static_seconds = args.static_seconds or (2 if args.quick else 4)
    return args


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["probe"]:
        return probe(sys.argv[2:])
    return run_measured(Run(parse_args(argv)), measure, "bench.flashcards")


def measure(run: Run) -> None:
    load_before = report.load_average()
    import django

    about = report.machine(postgres_version(), django.get_version())
    probed = prepare(run)
    config = WorkerConfig(workers=run.args.workers)
    results, grades, used = load(run, config, probed)
    load_after = report.load_average()
    about["load average (1, 5, 15 min) before / after"] = f"{load_before} / {load_after}"
    busy = float(load_before.split()[0]) > 0.5 or float(load_after.split()[0]) > 3
    note = (
        "Other processes were using the CPU: compare runs by the ratio to static." if busy else ""
    )
    sections = present(run, results, grades, used, probed, config, about, note)
    print(report.printable(sections), flush=True)
    run.log(f"wrote {report.write(sections, run.args.results)}")


def prepare(run: Run) -> dict:
    """A fresh database through the real setup commands, the review histories, then the query
    counts, the reviewers' sessions and the static file, from inside Django."""
    args = run.args
    env = site_environment(args.database)
    if "REDIS_URL" in env:
        env["REDIS_URL"] = env["REDIS_URL"].rsplit("/", 1)[0] + f"/{REDIS_DB}"
    run.env = env
    filling = loading_environment(env)
    run.log(f"fresh database {args.database}")
    create_database(args.database)
    run.database_created = True
    flush_redis(env)
    run.step("migrate", filling, "migrate", "--noinput")
    run.step("collectstatic", env, "collectstatic", "--noinput")
    run.step("load_content", filling, "load_content")
    users = QUICK_USERS if args.quick else USERS
    made = run.step("generate_reviews", filling, "generate_reviews", f"--users={users}")
    run.log(f"  {made.strip()}")
    run.log("VACUUM (ANALYZE)")
    tick = time.monotonic()
    vacuum(args.database)
    run.timings["VACUUM (ANALYZE)"] = time.monotonic() - tick
    run.log("query counts, sessions, static file…")
    output, run.timings["probe"] = run_step(env, "-m", "bench.flashcards", "probe")
    line = next((x for x in output.splitlines() if x.startswith("PROBE_RESULT ")), None)
    if line is None:
        raise StepFailed(f"the probe printed no result:\n{output[-2000:]}")
    probed = json.loads(line.removeprefix("PROBE_RESULT "))
    run.ceiling = Path(probed["ceiling"]["path"])
    flush_redis(env)  # the load starts with nothing cached but the sessions it makes
    return probed


def reviewing(reviewers: list[dict], paced: bool = False) -> wrk.Scenario:
    def strings(values) -> str:
        return ", ".join(f'"{value}"' for value in values)

    pace = wrk.paced(PAUSE_MS) if paced else ""
    script = (
        wrk.COMMON
        + pace
        + REVIEW_SCRIPT
        % {
            "cookies": strings(r["cookie"] for r in reviewers),
            "tokens": strings(r["csrf"] for r in reviewers),
            "review": REVIEW,
            "grade": GRADE,
        }
    )
    return wrk.Scenario(
        PACED if paced else SCENARIO, REVIEW, len(reviewers), script, threads=len(reviewers),
        target=f"p99 ≤ {MAX_P99_MS} ms" if paced else "",
    )  # fmt: skip


def load(
    run: Run, config: WorkerConfig, probed: dict
) -> tuple[list[wrk.Result], int, dict[str, float]]:
    """The static ceiling, the review load (after its warm-up), the static ceiling again: the
    ratio compares runs a few seconds apart, which other work on the machine moves alike."""
    args = run.args
    reviewers = probed["reviewers"]
    run.log(f"gunicorn ({config})")
    static = probed["ceiling"]["url"]
    with Gunicorn(env=run.env, config=config) as server:
        # Also reads each session from PostgreSQL into Redis, as a returning reviewer's first
        # request does.
        check_reviewers(server.url, reviewers)
        scenario = reviewing(reviewers)
        run.log(f"{STATIC}: {args.static_seconds:.0f} s")
        before = wrk.run(
            server.url, wrk.get(f"{STATIC}, before", static, REVIEWERS), args.static_seconds
        )
        server.settle()
        if args.warmup:
            run.log(f"warm-up: {args.warmup:.0f} s")
            wrk.run(server.url, scenario, args.warmup)
            server.settle()
        seconds = args.seconds * wrk.PACED_LONGER
        run.log(f"{PACED}: {seconds:.0f} s")
        paced = wrk.run(server.url, reviewing(reviewers, paced=True), seconds)
        server.settle()
        logs = review_logs(args.database)
        used = cpu_seconds(server, args.database)
        run.log(f"{SCENARIO}: {args.seconds:.0f} s")
        result = wrk.run(server.url, scenario, args.seconds)
        if (waited := server.settle()) > 1:
            run.log(f"  the server took {waited:.0f} s to finish what was left in flight")
        used = {k: v - used.get(k, 0.0) for k, v in cpu_seconds(server, args.database).items()}
        grades = review_logs(args.database) - logs
        run.log(f"{STATIC}: {args.static_seconds:.0f} s")
        after = wrk.run(
            server.url, wrk.get(f"{STATIC}, after", static, REVIEWERS), args.static_seconds
        )
        errors = server.errors()
    if any(mark in errors for mark in ("Traceback", "WORKER TIMEOUT", " ERROR ")):
        print(f"gunicorn's error log ends:\n{errors}", file=sys.stderr)
    result.static_rps = paced.static_rps = wrk.combine(STATIC, [before, after]).rps  # mean
    return [before, paced, result, after], grades, used


def check_reviewers(base_url: str, reviewers: list[dict]) -> None:
    """Every reviewer's session must show a card to grade (a redirect is a broken session)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    for reviewer in reviewers:
        headers = {"Cookie": reviewer["cookie"], "HX-Request": "true"}
        request = urllib.request.Request(base_url + REVIEW, headers=headers)
        try:
            with opener.open(request, timeout=30) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, ""
        if status != 200 or 'name="card"' not in body:
            raise RuntimeError(f"{reviewer['username']}: {REVIEW} gave {status} and no card")


def cpu_seconds(server: Gunicorn, database: str) -> dict[str, float]:
    """CPU seconds used so far by gunicorn (master and workers) and by the PostgreSQL backends
    connected to ``database``: their difference over the run, divided by the requests, is the
    CPU a request costs, which other work on the machine moves far less than its latency."""
    workers = {server.process.pid, *server.worker_pids()} if server.process else set()
    used = {"gunicorn": 0.0, "PostgreSQL": 0.0}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if int(entry.name) in workers:
            kind = "gunicorn"
        elif command.startswith("postgres: ") and f" {database} " in command:
            kind = "PostgreSQL"
        else:
            continue
        used[kind] += (int(stat[11]) + int(stat[12])) / tick  # utime + stime
    return used


def review_logs(database: str) -> int:
    with psycopg.connect(f"{PG_URL}/{database}") as conn:
        return conn.execute("SELECT count(*) FROM practice_reviewlog").fetchone()[0]


def present(run, results, grades, used, probed, config, about, busy) -> list[report.Section]:
    args = run.args
    before, paced, result, after = results
    p99 = paced.latency_ms["p99"]
    queries = probed["queries"]
    most = max(q["queries"] for q in queries.values())
    targets = [
        report.Target(
            f"next card and grade p99, {REVIEWERS} reviewers at a reader's pace",
            f"≤ {MAX_P99_MS} ms", f"{p99:.1f} ms ({paced.rps:,.0f} req/s, {paced.errors} errors)",
            p99 <= MAX_P99_MS and not paced.errors,
            "" if p99 <= MAX_P99_MS else f"{p99 - MAX_P99_MS:.1f} ms over",
        ),
        report.Target(
            f"capacity, {REVIEWERS} reviewers back to back", "0 errors",
            f"{result.rps:,.0f} req/s, p99 {result.latency_ms['p99']:.1f} ms "
            f"({result.errors} errors)", not result.errors, "",
        ),
        report.Target(
            "SQL queries per request (next card, grade)", f"≤ {MAX_QUERIES}",
            ", ".join(f"{label} {q['queries']}" for label, q in queries.items()),
            most <= MAX_QUERIES, "" if most <= MAX_QUERIES else f"{most - MAX_QUERIES} too many",
        ),
    ]  # fmt: skip
    verdict = "PASS" if targets[0].ok else "MISS"
    rates = [before.rps, after.rps]
    spread = (max(rates) - min(rates)) / max(rates) if max(rates) else 0.0
    load_note = (
        f"gunicorn `{config}` on 127.0.0.1, DEBUG off, PostgreSQL with persistent connections, "
        f"Redis for the cache and sessions; wrk on the same machine, {args.seconds:.0f} s after "
        f"{args.warmup:.0f} s of warm-up. Each of the {REVIEWERS} connections is one signed-in "
        f"reviewer: GET {REVIEW} (the card fragment, with `HX-Request`), then POST {GRADE} for "
        f"that card, and again; latencies pool both. At a reader's pace (run "
        f"{wrk.PACED_LONGER} times as long) each waits {PAUSE_MS} to "
        f"{2 * PAUSE_MS} ms (at random) after each answer before its next request; back to "
        f"back it does not. {grades:,} real "
        f"grades were stored during the back-to-back run. The static ceiling "
        f"({probed['ceiling']['bytes']:,} bytes, the card "
        f"fragment as a static file, whitenoise through the same gunicorn) ran "
        f"{args.static_seconds:.0f} s before and after, {spread:.0%} apart; “× static” divides "
        "by their mean. Errors: a GET not 200 or without a card, a grade not 302 or sent to "
        "the sign-in page (“answer”), and wrk's socket errors (connect, read, write, timeout)."
    )
    query_note = (
        "Counted in-process with Django's test client and CaptureQueriesContext, for a "
        "generated reviewer, each request once before it is counted (the session is then "
        "cached, as in production). “request ms” is the whole request alone in one process."
    )
    query_rows = [
        [label, str(q["queries"]), f"{q['sql_ms']:.1f}", f"{q['request_ms']:.1f}", str(q["status"])]
        for label, q in queries.items()
    ]
    cpu_rows = [
        [kind, f"{seconds:.2f} s", f"{1000 * seconds / result.requests:.2f}"]
        for kind, seconds in used.items()
        if result.requests
    ]
    cpu_note = (
        f"CPU time (user + system, from /proc) of gunicorn's master and workers and of the "
        f"PostgreSQL backends of {args.database} during the measured run, divided by its "
        f"{result.requests:,} requests (next card and grade together). Latency on a shared "
        "machine moves with everything else running; this moves much less."
    )
    timings = [[k, f"{v:.1f} s"] for k, v in run.timings.items()]
    return [
        report.Section("Targets", report.TARGET_HEADERS, report.target_rows(targets)),
        report.Section(
            "Load", report.LOAD_HEADERS, report.load_rows(results, {PACED: verdict}), load_note
        ),
        report.Section("CPU per request", ["process", "CPU", "ms per request"], cpu_rows, cpu_note),
        report.Section(
            "SQL queries per request",
            ["request", "queries", "SQL ms", "request ms", "status"],
            query_rows,
            query_note,
        ),
        report.Section(
            "Data", ["rows", "count"], [[k, f"{v:,}"] for k, v in probed["counts"].items()]
        ),
        report.Section("Setup steps", ["step", "took"], timings),
        report.Section("Machine", ["", ""], [[k, v] for k, v in about.items()], busy),
    ]


# --- Inside Django: python -m bench.flashcards probe ---------------------------------------------


def probe(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flashcards probe")
    parser.add_argument("--reviewers", type=int, default=REVIEWERS)
    args = parser.parse_args(argv)

    import django  # only now: the settings read the environment the caller set

    django.setup()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.utils import timezone

    from apps.practice.management.commands.generate_reviews import USERNAME_PREFIX
    from apps.practice.models import CardState
    from bench.probe import session_of

    generated = get_user_model().objects.filter(username__startswith=f"{USERNAME_PREFIX}-")
    # The generated users with the most cards studied, each of which comes due now (below): a
    # reviewer who runs out of cards mid-run gets "nothing due" pages, which count as errors
    # and cost less than a card. At 400-600 requests a second each reviewer grades 150-200
    # cards in the warm-up, the paced run and the run back to back. Chosen by cards due
    # instead, as until 3 Dec, the fewest among them had too few studied: 51-801 "nothing
    # due" pages in four of six runs.
    studied = Count("card_states")
    people = list(
        generated.annotate(studied=studied).order_by("-studied", "-pk")[: args.reviewers + 1]
    )
    if len(people) <= args.reviewers:
        raise SystemExit(f"probe: {args.reviewers + 1} generated reviewers needed")
    counter, reviewers = people[0], people[1:]
    # Every card they have studied comes due now: a few hundred each.
    CardState.objects.filter(user__in=reviewers).update(due=timezone.now() - timedelta(hours=1))
    result = {
        "queries": count_queries(counter),
        "reviewers": [{**session_of(user), "username": user.username} for user in reviewers],
        "counts": data_counts(generated)
        | {"cards studied (so due) by the reviewer with the fewest": reviewers[-1].studied},
        "ceiling": write_ceiling(reviewers[0]),
    }
    print("PROBE_RESULT " + json.dumps(result))
    return 0


def count_queries(user) -> dict[str, dict]:
    """The queries of the next card (as HTMX asks for it, and as a whole page) and of a grade,
    each after one untimed request of the same kind."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.probe import client

    browser = client()
    browser.force_login(user)
    hx = {"HX-Request": "true"}

    def shown(response) -> dict:
        card = re.search(r'name="card" value="(\d+)"', response.text)
        reps = re.search(r'name="reps" value="(\d+)"', response.text)
        if not (card and reps):
            raise SystemExit(f"probe: {REVIEW} shows {user.username} no card to grade")
        return {"card": card[1], "reps": reps[1], "rating": "3"}

    def measured(request) -> dict:
        with CaptureQueriesContext(connection) as queries:
            tick = time.perf_counter()
            response = request()
            spent = time.perf_counter() - tick
        return {
            "queries": len(queries),
            "sql_ms": sum(float(q["time"]) for q in queries.captured_queries) * 1000,
            "request_ms": spent * 1000,
            "status": response.status_code,
        }

    counts = {}
    for label, url, headers in [
        ("next card (HTMX fragment)", REVIEW, hx),
        ("next card (whole page)", REVIEW, {}),
        ("next card in one deck (HTMX)", f"{REVIEW}?deck={DECK}", hx),
    ]:
        browser.get(url, headers=headers)
        counts[label] = measured(partial(browser.get, url, headers=headers))
    browser.post(GRADE, shown(browser.get(REVIEW, headers=hx)), headers=hx)
    card = shown(browser.get(REVIEW, headers=hx))  # not counted: the page before the grade
    counts["grade"] = measured(partial(browser.post, GRADE, card, headers=hx))
    return counts


def data_counts(generated) -> dict[str, int]:
    from django.utils import timezone

    from apps.practice.models import Card, CardState, ReviewLog

    states = CardState.objects.filter(user__in=generated)
    return {
        "users with review histories": generated.count(),
        "active cards": Card.objects.active().count(),
        "card states": states.count(),
        "card states due now": states.filter(due__lte=timezone.now()).count(),
        "review logs": ReviewLog.objects.count(),
    }


def write_ceiling(user) -> dict:
    """Save a reviewer's card fragment as a static file: the same bytes, served by whitenoise."""
    from django.conf import settings

    from bench.probe import client

    browser = client()
    browser.force_login(user)
    html = browser.get(REVIEW, headers={"HX-Request": "true"}).content
    path = Path(settings.STATIC_ROOT) / CEILING
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(html)
    return {"path": str(path), "url": settings.STATIC_URL + CEILING, "bytes": len(html)}


if __name__ == "__main__":
    sys.exit(main())
