"""``python -m bench``: the site as it runs in production, measured against the same server's
ceiling (a static file the size of a concept page, served by whitenoise). See README.md.

The control flow, top to bottom: a fresh database, the real setup commands, scale data, query
counts before and after it, gunicorn, wrk scenarios, the report. Whatever it started (gunicorn,
the static file, the database, the Redis cache) is cleaned up on success, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench import pages, report, weight, wrk
from bench.database import (
    StepFailed,
    create_database,
    drop_database,
    flush_redis,
    loading_environment,
    manage,
    postgres_version,
    run_step,
    site_environment,
    vacuum,
)
from bench.lag import Lag, LagProbe
from bench.server import WORKER_CLASSES, Gunicorn, TaskWorker, WorkerConfig

STATIC = "static ceiling"
NOISY = 0.25  # the static ceiling's runs differ by more than this: ratios are not to be trusted
READ_CONNECTIONS = 8  # one per thread of the two 4-thread workers: none waits for work
SEARCH_CONNECTIONS = 2  # one per core: p95 is the query's own time, not queueing behind others
AUTOSAVE_CONNECTIONS = 16
# static/js/autosave.js saves 800 ms after the last keystroke: the most one writer sends is a
# save per 800 ms plus the round trip. 16 writers at that pace (800 to 1,600 ms, at random, so
# that they drift apart as people do) is "16 concurrent writers"; back to back, the same 16
# connections measure what the server can absorb (about 5 times that load).
AUTOSAVE_PAUSE_MS = 800
PACED = "at the browser's pace"
BACK_TO_BACK = "back to back"
FULL = {"concepts": ["--count", "10000"], "docs": ["--users", "1000", "--docs", "100000"]}
QUICK = {"concepts": ["--quick"], "docs": ["--quick"]}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, short runs: a trial")
    parser.add_argument("--seconds", type=float, help="measured seconds per scenario (10; 4)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per scenario (2; 1)")
    parser.add_argument(
        "--static-seconds", type=float, help="static ceiling before each scenario (4; 2)"
    )
    default = WorkerConfig()
    parser.add_argument(
        "--worker-class", choices=list(WORKER_CLASSES), default=default.worker_class
    )
    parser.add_argument("--workers", type=int, default=default.workers)
    parser.add_argument("--threads", type=int, default=default.threads, help="per threaded worker")
    parser.add_argument("--database", default="mlsd_bench")
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reindex",
        action="store_true",
        help="index search with `manage.py reindex` at full scale too (15 to 50 minutes)",
    )
    parser.add_argument("--results", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (4 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    args.static_seconds = args.static_seconds or (2 if args.quick else 4)
    return args


@dataclass
class Run:
    """What a run started, so that it can be undone whatever happens."""

    args: argparse.Namespace
    started: float = field(default_factory=time.monotonic)
    env: dict[str, str] = field(default_factory=dict)
    ceiling: Path | None = None
    database_created: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:5.0f} s] {message}", flush=True)

    def step(self, label: str, env: dict[str, str], *args: str, probe: bool = False):
        self.log(f"{label}…")
        if probe:
            output, seconds = run_step(env, "-m", "bench.probe", *args)
        else:
            output, seconds = manage(env, *args)
        self.timings[label] = seconds
        if not probe:
            return output
        line = next((x for x in output.splitlines() if x.startswith("PROBE_RESULT ")), None)
        if line is None:
            raise StepFailed(f"the probe ({' '.join(args)}) printed no result:\n{output[-2000:]}")
        return json.loads(line.removeprefix("PROBE_RESULT "))

    def clean_up(self) -> None:
        if self.ceiling is not None:
            self.ceiling.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # not empty: somebody else's files
                self.ceiling.parent.rmdir()
        if self.env:
            try:
                flush_redis(self.env)
            except Exception as exc:  # cleaning up must go on
                print(f"bench: could not flush the Redis cache: {exc}", file=sys.stderr)
        if self.database_created and not self.args.keep_db:
            try:
                drop_database(self.args.database)
            except Exception as exc:
                print(f"bench: could not drop {self.args.database}: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    return run_measured(Run(parse_args(argv)), measure, "bench")


def run_measured(run: Run, measure_run, name: str) -> int:
    """``measure_run(run)`` with wrk checked first and ``run`` cleaned up whatever happens;
    the exit status: 0, 1 on a failed step, 130 on Ctrl-C."""
    # SIGTERM (make killed, CI timeout) unwinds like Ctrl-C, through the clean-up below.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        ensure_wrk()
        measure_run(run)
    except KeyboardInterrupt:
        print(f"\n{name}: interrupted; cleaning up", file=sys.stderr)
        return 130
    except (StepFailed, RuntimeError, OSError, subprocess.SubprocessError, psycopg.Error) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    finally:
        run.clean_up()
    run.log(f"done in {(time.monotonic() - run.started) / 60:.1f} min")
    return 0


def ensure_wrk() -> None:
    if wrk.installed():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: installing wrk (apt-get install -y wrk)", flush=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
    if not wrk.installed():
        raise RuntimeError("wrk is missing: apt-get install -y wrk")


def measure(run: Run) -> None:
    """Prepare the data, load the server, report."""
    load_before = report.load_average()
    import django

    about = report.machine(postgres_version(), django.get_version())
    small, index, at_scale = prepare(run)
    config = WorkerConfig(run.args.worker_class, run.args.workers, run.args.threads)
    results, static, first_load, server_errors, lag, spread = load(run, config, at_scale)
    load_after = report.load_average()

    targets, verdicts = evaluate(results, small["queries"], at_scale, first_load, lag)
    sections = present(
        run, [static, *results], targets, verdicts, small, at_scale, first_load, index, config
    )
    about |= {"load average (1, 5, 15 min) before / after": f"{load_before} / {load_after}"}
    busy = float(load_before.split()[0]) > 0.5 or float(load_after.split()[0]) > 3
    about |= {"static ceiling, slowest vs fastest run": f"{spread:.0%} apart"}
    note = "Other processes were using the CPU: compare runs by ratios." if busy else ""
    if spread > NOISY:
        note = (
            f"NOISY RUN: the static ceiling varied by {spread:.0%} (more than {NOISY:.0%}) "
            "between scenarios, so something else was using the machine; read no result off "
            "this run."
        )
        sections.insert(0, report.Section("Noisy run", ["", ""], [["verdict", note]]))
    rows = [[k, v] for k, v in about.items()]
    sections.append(report.Section("Machine", ["", ""], rows, note))
    if any(mark in server_errors for mark in ("Traceback", "WORKER TIMEOUT", " ERROR ")):
        tail = [[line] for line in server_errors.splitlines()[-15:]]
        sections.append(report.Section("Gunicorn error log (tail)", ["line"], tail))
    print(report.printable(sections), flush=True)
    run.log(f"wrote {report.write(sections, run.args.results)}")


def prepare(run: Run) -> tuple[dict, dict, dict]:
    """A fresh database through the real setup commands, then the data at scale; the query
    counts before and after, the search index, the users the load runs as."""
    args = run.args
    scale = QUICK if args.quick else FULL
    run.env = env = site_environment(args.database)
    filling = loading_environment(env)

    run.log(f"fresh database {args.database}")
    create_database(args.database)
    run.database_created = True
    flush_redis(env)
    run.step("migrate", filling, "migrate", "--noinput")
    run.step("collectstatic", env, "collectstatic", "--noinput")
    run.step("load_content", filling, "load_content")
    small = run.step("query counts, small scale", filling, "small", probe=True)
    run.step("generate_concepts", filling, "generate_concepts", *scale["concepts"])
    run.step("generate_docs", filling, "generate_docs", *scale["docs"])
    if args.quick or args.reindex:
        run.step("reindex", filling, "reindex")
        index = {"method": "manage.py reindex", "seconds": run.timings["reindex"]}
    else:
        index = run.step("search index, in bulk", filling, "index", probe=True)
        index["method"] = "bulk (bench/search_index.py), sample checked against the app's"
    run.log("VACUUM (ANALYZE)")
    tick = time.monotonic()
    vacuum(args.database)
    run.timings["VACUUM (ANALYZE)"] = time.monotonic() - tick
    # A third warm up, a third write at the browser's pace, a third back to back; one probes lag.
    writers = 3 * AUTOSAVE_CONNECTIONS + 1
    at_scale = run.step(
        "query counts at scale", filling, "scale", f"--writers={writers}", probe=True
    )
    run.ceiling = Path(at_scale["ceiling"]["path"])
    flush_redis(env)  # the load starts with no cached page
    return small, index, at_scale


def load(run: Run, config: WorkerConfig, at_scale: dict):
    """Each scenario right after a run of the static ceiling, so that each ratio compares two
    runs a few seconds apart: other work on the machine moves both the same way."""
    args = run.args
    run.log(f"gunicorn ({config}) and a task worker")
    with Gunicorn(env=run.env, config=config) as server, TaskWorker(run.env):
        plan = scenarios(at_scale)
        check_pages(server.url, [scenario for scenario, _ in plan])
        first_load = weight.first_load(server.url + pages.ANONYMOUS["concept page"])
        ceiling = wrk.get(STATIC, at_scale["ceiling"]["url"], READ_CONNECTIONS)
        wrk.run(server.url, ceiling, args.warmup)
        results, statics, lag = [], [], Lag()
        for scenario, warmup in plan:
            run.log(f"{scenario.name}: {args.seconds:.0f} s after {args.warmup:.0f} s of warm-up")
            statics.append(wrk.run(server.url, ceiling, args.static_seconds))
            server.settle()
            if args.warmup:
                wrk.run(server.url, warmup or scenario, args.warmup)
                server.settle()
            probe = None
            if scenario.name.endswith(BACK_TO_BACK):
                # Index lag under the autosave load: its own writer, beside the measured ones.
                probe = LagProbe(server.url, at_scale["writers"][-1], args.seconds)
                probe.start()
            longer = wrk.PACED_LONGER if scenario.name.endswith(PACED) else 1
            mark = server.access_mark()
            result = wrk.run(server.url, scenario, args.seconds * longer)
            if probe is not None:
                probe.join(args.seconds + 60)
                lag = probe.result
            result.static_rps = statics[-1].rps
            results.append(result)
            if (waited := server.settle()) > 1:
                run.log(f"  the server took {waited:.0f} s to finish what was left in flight")
            result.per_process = server.per_process(mark)
        server_errors = server.errors()
    static = wrk.combine(f"{STATIC} ({len(statics)} runs)", statics)
    rates = [s.rps for s in statics]
    spread = (max(rates) - min(rates)) / max(rates) if rates and max(rates) else 0.0
    return results, static, first_load, server_errors, lag, spread


def scenarios(at_scale: dict) -> list[tuple[wrk.Scenario, wrk.Scenario | None]]:
    """Each scenario, with the one that warms up for it when it must not warm up itself."""
    reader = {"Cookie": at_scale["reader"]["cookie"]}
    anonymous = pages.ANONYMOUS
    read = READ_CONNECTIONS

    def autosave(writers: list[dict], paced: bool) -> wrk.Scenario:
        pause = AUTOSAVE_PAUSE_MS if paced else 0
        script = wrk.autosave_script(
            pages.PROMPT, [wrk.Writer(**w) for w in writers], *pages.AUTOSAVE_TEXTS, pause
        )
        how = PACED if paced else BACK_TO_BACK
        return wrk.Scenario(
            f"autosave (signed in), {len(writers)} writers {how}", "/docs/", len(writers), script,
            threads=len(writers), method="POST", target="p99 ≤ 50 ms" if paced else "",
        )  # fmt: skip

    calculator = wrk.post_script(calculator_body(), "application/json", many_clients=True)
    writers = at_scale["writers"]
    plan = [
        wrk.get("concept page", anonymous["concept page"], read, target="≥ 0.6× static"),
        wrk.get("concept list", anonymous["concept list"], read),
        wrk.get("metric page", anonymous["metric page"], read, target="≥ 0.6× static"),
        wrk.Scenario("calculator API, 1,000 points, many clients", pages.CALCULATOR, read,
                     calculator, method="POST"),
        autosave(writers[:AUTOSAVE_CONNECTIONS], paced=True),
        autosave(writers[2 * AUTOSAVE_CONNECTIONS : 3 * AUTOSAVE_CONNECTIONS], paced=False),
    ]  # fmt: skip
    for label, path in pages.signed_in(at_scale["reader"]["doc"]).items():
        plan.append(wrk.get(label, path, read, reader, target="≥ 0.25× static"))
    for label in ("search “latency budget”", "search typo “kafak”"):
        plan.append(
            wrk.get(label, anonymous[label], SEARCH_CONNECTIONS, threads=1, target="p95 ≤ 30 ms")
        )
    # Autosave must not warm up on its own writers: the versions they hold would go stale.
    warm_autosave = autosave(writers[AUTOSAVE_CONNECTIONS : 2 * AUTOSAVE_CONNECTIONS], False)
    return [(s, warm_autosave if s.name.startswith("autosave") else None) for s in plan]


def calculator_body(points: int = 1000) -> str:
    rng = random.Random(7)
    y_true = [rng.randint(0, 1) for _ in range(points)]
    y_score = [round(min(1.0, max(0.0, rng.gauss(0.35 + 0.3 * t, 0.2))), 3) for t in y_true]
    return json.dumps({"y_true": y_true, "y_score": y_score, "threshold": 0.5})


def check_pages(base_url: str, plan: list[wrk.Scenario]) -> None:
    """Every page must answer 200 before it is measured; a redirect is a broken setup."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    for scenario in plan:
        if scenario.method != "GET":
            continue
        request = urllib.request.Request(base_url + scenario.path, headers=scenario.headers)
        try:
            status = opener.open(request, timeout=30).status
        except urllib.error.HTTPError as exc:
            status = exc.code
        if status != 200:
            raise RuntimeError(f"{scenario.name}: {scenario.path} answered {status}, not 200")


def evaluate(results, small_queries, at_scale, first_load, lag: Lag):
    """The issue's targets, each PASS or MISS with how far off it is."""
    by_name = {r.scenario.name: r for r in results}
    targets, verdicts = [], {}

    def add(target: report.Target, *rows: str) -> None:
        targets.append(target)
        for row in rows:
            verdicts[row] = target.verdict

    for name, minimum in [
        ("concept page", 0.6),
        ("metric page", 0.6),
        ("doc list (signed in)", 0.25),
        ("wizard step (signed in)", 0.25),
        ("concept page (signed in)", 0.25),
    ]:
        r = by_name[name]
        ratio = r.ratio
        gap = "" if ratio >= minimum else f"needs {minimum * r.static_rps - r.rps:,.0f} more req/s"
        if r.errors:
            gap = f"{r.errors} errors; " + gap
        add(
            report.Target(
                f"{name}: req/s vs static", f"≥ {minimum}×", f"{ratio:.2f}× ({r.rps:,.0f} req/s)",
                ratio >= minimum and not r.errors, gap,
            ),
            name,
        )  # fmt: skip

    autosave = next(r for r in results if r.scenario.name.endswith(PACED))
    flat_out = next(r for r in results if r.scenario.name.endswith(BACK_TO_BACK))
    p99 = autosave.latency_ms["p99"]
    add(
        report.Target(
            f"autosave p99, {autosave.scenario.connections} writers {PACED}", "≤ 50 ms",
            f"{p99:.1f} ms ({autosave.rps:,.0f} saves/s, {autosave.errors} not 200)",
            p99 <= 50 and not autosave.errors, "" if p99 <= 50 else f"{p99 - 50:.1f} ms over",
        ),
        autosave.scenario.name,
    )  # fmt: skip
    add(
        report.Target(
            f"autosave capacity, {flat_out.scenario.connections} connections {BACK_TO_BACK}",
            "0 errors", f"{flat_out.rps:,.0f} saves/s, p99 {flat_out.latency_ms['p99']:.1f} ms "
            f"({flat_out.errors} not 200)", not flat_out.errors, "",
        ),
        flat_out.scenario.name,
    )  # fmt: skip
    for name in ("search “latency budget”", "search typo “kafak”"):
        r = by_name[name]
        p95 = r.latency_ms["p95"]
        add(
            report.Target(
                # Two kept-alive connections: whether they shared one process says much.
                f"{name} p95 at scale", "≤ 30 ms",
                f"{p95:.1f} ms (requests per process: {report.per_process(r)})",
                p95 <= 30 and not r.errors, "" if p95 <= 30 else f"{p95 - 30:.1f} ms over",
            ),
            name,
        )  # fmt: skip

    p99 = lag.percentile(99)
    ok = bool(lag.samples) and p99 <= 2 and not lag.lost
    add(
        report.Target(
            "index lag: autosave → found by search, under the autosave load", "p99 ≤ 2 s",
            f"p50 {lag.percentile(50):.2f} s, p99 {p99:.2f} s ({len(lag.samples)} saves, "
            f"{lag.lost} never found, {len(lag.errors)} errors)",
            ok, "" if ok else (lag.errors[:1] or [f"{p99 - 2:.2f} s over"])[0],
        )
    )  # fmt: skip

    changed = [
        f"{page}: {small_queries.get(page, {}).get('cold')} → {counts['cold']}"
        for page, counts in at_scale["queries"].items()
        if small_queries.get(page, {}).get("cold") != counts["cold"]
    ]
    add(
        report.Target(
            "SQL queries per page, small vs at scale", "unchanged",
            "unchanged" if not changed else f"{len(changed)} pages changed", not changed,
            "; ".join(changed),
        )
    )  # fmt: skip
    total = first_load.total_bytes / 1024
    cached = "far-future" if first_load.assets_cached_far_future else "NOT far-future"
    add(
        report.Target(
            "concept page first load (HTML + CSS + JS, compressed)", "≤ 60 KB",
            f"{total:.1f} KB (HTML {first_load.page.bytes / 1024:.1f} KB); static {cached}",
            total <= 60, "" if total <= 60 else f"{total - 60:.1f} KB over",
        )
    )  # fmt: skip
    return targets, verdicts


def present(run, results, targets, verdicts, small, at_scale, first_load, index, config):
    """The report's sections, in reading order: the verdicts first, then the evidence."""
    args = run.args
    Section = report.Section
    load_note = (
        f"gunicorn `{config}` on 127.0.0.1, DEBUG off, PostgreSQL with persistent connections; "
        f"wrk on the same machine, {args.seconds:.0f} s per scenario after {args.warmup:.0f} s "
        f"of warm-up. Reads at {READ_CONNECTIONS} connections, searches at "
        f"{SEARCH_CONNECTIONS} (one per core), autosave at {AUTOSAVE_CONNECTIONS} (one signed-in "
        f"writer each, every request a real save; {PACED}, run {wrk.PACED_LONGER} times as "
        f"long: {AUTOSAVE_PAUSE_MS} to "
        f"{2 * AUTOSAVE_PAUSE_MS} ms, at random, between a writer's answer and its next save: "
        "static/js/autosave.js waits 800 ms after the last keystroke). Before each "
        "scenario the static ceiling runs "
        f"for {args.static_seconds:.0f} s: the concept page's HTML as a static file "
        f"({at_scale['ceiling']['bytes']:,} bytes) served by whitenoise through the same "
        "gunicorn and middleware; “× static” divides by that run, a few seconds apart, and the "
        f"first row pools them ({results[0].note}). Errors are responses other than 200 "
        "(“answer”), plus wrk's socket errors (connect, read, write, timeout)."
    )
    reader_docs = at_scale["counts"]["docs of the signed-in reader"]
    timings = run.timings.items()
    counts = at_scale["counts"].items()
    index_rows = [[label, _fmt(index[key])] for key, label in INDEX_LABELS.items() if key in index]
    index_rows += [["differs", m] for m in index.get("mismatches", [])]
    return [
        Section("Targets", report.TARGET_HEADERS, report.target_rows(targets)),
        Section("Load", report.LOAD_HEADERS, report.load_rows(results, verdicts), load_note),
        Section(
            "SQL queries per page (cold: nothing cached)",
            report.QUERY_HEADERS,
            report.query_rows(small["queries"], at_scale["queries"]),
            "Counted in-process with Django's test client and CaptureQueriesContext, the cache "
            "cleared first; “small” is the loaded content only (a reader with 3 docs), “at "
            f"scale” a generated user with {reader_docs} docs. “request ms” is the whole request, "
            "alone in one process (after one untimed request); SQL ms as the connection "
            "measured it, to the millisecond. Together they say what a page costs before any "
            "contention.",
        ),
        Section(
            "Concept page, first load",
            report.WEIGHT_HEADERS,
            report.weight_rows(first_load),
            f"Total {first_load.total_bytes / 1024:.1f} KB (1 KB = 1,024 bytes), requested with "
            "`Accept-Encoding: gzip, br`.",
        ),
        Section("Data at scale", ["rows", "count"], [[k, f"{v:,}"] for k, v in counts]),
        Section("Search index", ["", ""], index_rows),
        Section("Setup steps", ["step", "took"], [[k, f"{v:.1f} s"] for k, v in timings]),
    ]


INDEX_LABELS = {
    "method": "built with",
    "entries": "entries",
    "seconds": "took (s)",
    "rows_seconds": "rows read, built and copied (s)",
    "vector_seconds": "search vectors computed (s)",
    "sample": "sample indexed again with the app's functions",
    "mismatch_count": "of which the app indexed differently",
    "app_ms_per_doc": "the app's index_doc (ms per doc)",
    "app_ms_per_page": "the app's index_page (ms per page)",
    "reindex_estimate_seconds": "manage.py reindex at this scale, estimated (s)",
}


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


if __name__ == "__main__":
    sys.exit(main())
