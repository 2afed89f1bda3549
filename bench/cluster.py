"""Faults on the cluster (make cluster): nothing a reader asks for fails, nothing saved is lost.

    python -m bench.cluster [--seconds 20] [--clients 16]
    python -m bench.cluster --short          (the CI form, about a minute with the cluster's start)

Runs against nginx on 127.0.0.1:8080, starting the cluster with deploy/cluster.sh when it is not
running (and stopping it again afterwards, also when a check or the start fails, or the run is
interrupted). Loopback only; every phase is bounded.

1. Replica kill: signed-in clients read and autosave through nginx (the soak test's clients) and
   anonymous readers read concept pages; one replica gets kill -9 (its whole process group) at
   a quarter of the run, the other once the first is back (five eighths in, at the earliest).
   No GET may fail (nginx retries it on the other replica). An autosave in flight on the killed
   replica may get a 502 (nginx does not repeat a POST), which the client retries with its
   version, as the page does; every autosave answered 200 must be in the database. Each
   replica must be back within 10 s and serve again.
2. Across replicas: an autosave through one replica is on the step page through the other at
   once, both ways, twenty times.
3. Redis restart under the same load: nothing fails, nobody is signed out (a 302 to the sign-in
   page would show it), every acknowledged save is in the database.
4. Task worker kill under the same load: it restarts, and the last acknowledged text of every
   answer is found by the owner's search within 10 s of the load ending (the worker indexes it).
5. Throughput (wrk, 3 s a run, 5 rounds): each kind of page right after the static file it is
   judged against (one of the concept page's size served by nginx, or one served by a
   replica), so that each ratio compares two runs seconds apart; the median ratio of the
   rounds must reach the issue's goals (the anonymous concept page at least half nginx's
   rate, each signed-in page a quarter of the replica's), checked like the faults. Then the
   autosaves.

--short: 8 clients, 10 s phases: one replica killed (phase 1 with web1 alone), phase 2, then
the worker killed and Redis restarted under one load (phases 3 and 4 together), no throughput;
and, when it started the cluster, that nothing is left listening on the cluster's ports.

The machine is shared: numbers are noisy, compare ratios. The exit status is 1 when a check
fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import wrk
from bench.soak import (
    TIMEOUT,
    Account,
    Check,
    Client,
    Gate,
    HealthMonitor,
    Outcome,
    Run,
    SiteMap,
    _version_in,
    acknowledged_saves_check,
    seed,
)

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / ".cluster"
HOST = "127.0.0.1"
NGINX = f"http://{HOST}:8080"
REPLICAS = {"web1": 8001, "web2": 8002}
REDIS_PORT = 6379
RECOVERY_LIMIT = 10.0  # seconds for a killed replica to answer /healthz again
CROSS_ROUNDS = 20
ANONYMOUS_READERS = 2


# --- The cluster ---------------------------------------------------------------------------------


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def start_cluster() -> None:
    """deploy/cluster.sh start; SystemExit when it fails (the caller stops whatever started)."""
    print("cluster: not running; deploy/cluster.sh start")
    if subprocess.run([str(ROOT / "deploy" / "cluster.sh"), "start"], cwd=ROOT).returncode:
        raise SystemExit("cluster: deploy/cluster.sh start failed; see .cluster/*.log")


def stop_cluster() -> None:
    subprocess.run([str(ROOT / "deploy" / "cluster.sh"), "stop"], cwd=ROOT, check=False)


def still_listening(ports: list[int]) -> list[int]:
    """The ports among ``ports`` that something on the loopback still accepts connections on."""
    import socket

    busy = []
    for port in ports:
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex((HOST, port)) == 0:
                busy.append(port)
    return busy


def site_environment() -> dict[str, str]:
    """What the replicas run with (deploy/cluster.sh writes it), for seeding and checking."""
    env = {}
    for line in (RUN / "site.env").read_text().splitlines():
        name, _, value = line.partition("=")
        env[name] = value
    return env


def replica_pid(name: str) -> int | None:
    try:
        return int((RUN / f"{name}.pid").read_text())
    except (OSError, ValueError):
        return None


@dataclass
class Kill:
    name: str
    pid: int
    at: float  # monotonic
    back: float | None = None  # /healthz 200 from the restarted replica
    new_pid: int | None = None


def kill_replica(name: str, started: float) -> Kill:
    """kill -9 the replica's process group (gunicorn's master and workers), and wait for the
    supervisor to bring it back."""
    pid = replica_pid(name)
    if pid is None:
        raise SystemExit(f"cluster: no pid for {name} in {RUN}")
    print(f"cluster: kill -9 {name} (process group {pid}) at t={time.monotonic() - started:.1f} s")
    kill = Kill(name, pid, time.monotonic())
    os.killpg(pid, signal.SIGKILL)
    deadline = kill.at + RECOVERY_LIMIT + 10
    url = f"http://{HOST}:{REPLICAS[name]}/healthz"
    while time.monotonic() < deadline:
        new_pid = replica_pid(name)
        if new_pid not in (None, pid) and answers(url):
            kill.back, kill.new_pid = time.monotonic(), new_pid
            print(f"cluster: {name} back as pid {new_pid} after {kill.back - kill.at:.1f} s")
            break
        time.sleep(0.1)
    return kill


def served_since_start(port: int) -> float:
    """Requests a replica answered since it (re)started, health checks and scrapes aside: from
    its Prometheus numbers, which start again with the process."""
    text = httpx.get(f"http://{HOST}:{port}/internal/metrics", timeout=5, trust_env=False).text
    total = 0.0
    for match in re.finditer(r"^mlsd_request_duration_seconds_count\{(.*)\} (\S+)$", text, re.M):
        labels, value = match.groups()
        if 'view="core:healthz"' not in labels and 'view="core:prometheus"' not in labels:
            total += float(value)
    return total


# --- Redis ---------------------------------------------------------------------------------------


def redis_cli(*args: str) -> subprocess.CompletedProcess:
    command = ["redis-cli", "-h", HOST, "-p", str(REDIS_PORT), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)


def redis_up() -> bool:
    return redis_cli("ping").stdout.strip() == "PONG"


def restart_redis() -> tuple[bool, str]:
    """Stop Redis and start it again with the settings it ran with (its data goes: the cluster
    keeps nothing in Redis that is not also in PostgreSQL). The cluster's own Redis comes back
    by its supervisor; the machine's is started again here."""
    config = {}
    for name in ("bind", "dir", "save", "appendonly"):
        lines = redis_cli("config", "get", name).stdout.splitlines()
        config[name] = lines[1] if len(lines) > 1 else ""
    supervised = (RUN / "redis.supervisor.pid").exists()
    redis_cli("shutdown", "nosave")
    deadline = time.monotonic() + 10
    while redis_up() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not supervised:
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(REDIS_PORT),
                "--bind",
                *config["bind"].split(),
                "--dir",
                config["dir"] or "/tmp",
                "--save",
                config["save"],
                "--appendonly",
                config["appendonly"] or "no",
                "--daemonize",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=10,
        )
    deadline = time.monotonic() + 10
    while not redis_up():
        if time.monotonic() > deadline:
            return False, "Redis did not answer within 10 s"
        time.sleep(0.05)
    return True, "restarted" + (" by the cluster's supervisor" if supervised else "")


# --- Load ----------------------------------------------------------------------------------------


@dataclass
class AnonymousReader:
    """Reads concept pages without a cookie, as most readers do: nginx's cache answers most."""

    concepts: list[str]
    deadline: float
    stop: threading.Event
    outcomes: list[Outcome] = field(default_factory=list)

    def run(self) -> None:
        with httpx.Client(base_url=NGINX, timeout=TIMEOUT, trust_env=False) as http:
            index = 0
            while time.monotonic() < self.deadline and not self.stop.is_set():
                path = self.concepts[index % len(self.concepts)]
                index += 1
                start, status, error = time.monotonic(), None, ""
                try:
                    status = http.get(path).status_code
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                self.outcomes.append(Outcome("anonymous", start, time.monotonic(), status, error))


@dataclass
class Load:
    run: Run
    readers: list[AnonymousReader]

    @property
    def outcomes(self) -> list[Outcome]:
        return (
            self.run.outcomes
            + self.run.health.outcomes
            + [o for r in self.readers for o in r.outcomes]
        )


def under_load(
    accounts: list[Account], site: SiteMap, seconds: float, faults: list[tuple[float, callable]]
) -> tuple[Load, list]:
    """Clients and readers through nginx for ``seconds``; each fault runs at its fraction."""
    stop, gate = threading.Event(), Gate()
    started = time.monotonic()
    deadline = started + seconds
    clients = [Client(NGINX, a, site, deadline, stop, gate) for a in accounts]
    health = HealthMonitor(NGINX, deadline, stop, gate)
    readers = [AnonymousReader(site.concepts[i::ANONYMOUS_READERS], deadline, stop)
               for i in range(ANONYMOUS_READERS)]  # fmt: skip
    threads = [threading.Thread(target=w.run, daemon=True) for w in [health, *clients, *readers]]
    results = []
    try:
        for thread in threads:
            thread.start()
        for at, fault in faults:
            time.sleep(max(0.0, started + seconds * at - time.monotonic()))
            results.append(fault(started))
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()) + TIMEOUT.read + 10)
    finally:
        stop.set()
    run = Run(clients, health, started, [], time.time() - time.monotonic())
    return Load(run, readers), results


def describe(outcomes: list[Outcome]) -> str:
    counts: dict[tuple, int] = {}
    for o in outcomes:
        counts[(o.kind, o.status, o.error)] = counts.get((o.kind, o.status, o.error), 0) + 1
    return ", ".join(
        f"{k} {s or ''} {e} ×{n}".replace("  ", " ") for (k, s, e), n in counts.items()
    )


# A response cut off after nginx had begun forwarding it: the replica died between gunicorn's
# write of the headers and of the body (two writes; under load the GIL can pass between them).
# No proxy can retry that: the reader already has part of the page.
CUT_SHORT = {"RemoteProtocolError", "ReadError"}


def load_checks(load: Load, phase: str, saves_may_fail: bool, kills: bool = False) -> list[Check]:
    outcomes = load.outcomes
    gets = [o for o in outcomes if o.kind != "autosave"]
    saves = [o for o in outcomes if o.kind == "autosave"]
    cut = [o for o in gets if kills and o.status is None and o.error in CUT_SHORT]
    failed_gets = [o for o in gets if o.failed and o not in cut]
    failed_saves = [o for o in saves if o.failed]
    acknowledged = sum(1 for o in saves if o.status == 200)
    conflicts = sum(1 for o in saves if o.status == 409)
    gets_detail = f"{len(failed_gets)} of {len(gets)} failed"
    if failed_gets:
        gets_detail += f" ({describe(failed_gets)})"
    if kills:
        gets_detail += (
            f"; {len(cut)} cut short mid-body by a kill (nginx had begun them: unretryable)"
        )
    checks = [
        Check(
            f"{phase}: no GET failed that nginx could retry",
            bool(gets) and not failed_gets,
            gets_detail,
        ),
        Check(
            f"{phase}: nobody signed out, no odd answer",
            not [o for o in outcomes if o.unexpected],
            describe([o for o in outcomes if o.unexpected]) or "none",
        ),
        acknowledged_saves_check(load.run),
    ]
    checks[-1].name = f"{phase}: {checks[-1].name}"
    saves_detail = (
        f"{acknowledged} of {len(saves)} answered 200, {conflicts} 409 (a client's first save of"
        f" an answer written before it started), {len(failed_saves)} failed"
    )
    if failed_saves:
        saves_detail += f" ({describe(failed_saves)}; the client retried with its version)"
    checks.append(
        Check(
            f"{phase}: autosaves",
            bool(acknowledged) and (saves_may_fail or not failed_saves),
            saves_detail,
        )
    )
    return checks


# --- Phases --------------------------------------------------------------------------------------


def replica_kill_phase(
    accounts: list[Account],
    site: SiteMap,
    seconds: float,
    names: tuple[str, ...] = ("web1", "web2"),
) -> list[Check]:
    """kill -9 each of ``names`` in turn: the first a quarter in, the next once the one before
    is back (five eighths in, at the earliest)."""
    faults = [(at, lambda s, name=name: kill_replica(name, s))
              for at, name in zip((1 / 4, 5 / 8), names, strict=False)]  # fmt: skip
    load, kills = under_load(accounts, site, seconds, faults)
    checks = load_checks(load, "replica kill", saves_may_fail=True, kills=True)
    rejoin_probe(accounts[0])
    for kill in kills:
        back = kill.back - kill.at if kill.back else None
        checks.append(
            Check(
                f"replica kill: {kill.name} restarted and healthy",
                back is not None and back <= RECOVERY_LIMIT,
                f"pid {kill.pid} → {kill.new_pid}, /healthz 200 after {back:.1f} s"
                if back is not None
                else "never came back",
            )
        )
        served = served_since_start(REPLICAS[kill.name]) if back is not None else 0
        checks.append(
            Check(
                f"replica kill: {kill.name} rejoined (served requests through nginx)",
                served > 0,
                f"{served:.0f} requests since its restart",
            )
        )
    return checks


def rejoin_probe(account: Account, requests: int = 40) -> None:
    """Signed-in reads through nginx (never cached) after the load, spread over both replicas,
    so that a replica that came back late still has a chance to show it serves again."""
    headers = {"Cookie": account.cookie}
    with httpx.Client(base_url=NGINX, headers=headers, timeout=TIMEOUT, trust_env=False) as http:
        for _ in range(requests):
            http.get("/docs/")


def cross_replica_phase(account: Account, site: SiteMap) -> Check:
    key = sorted(site.prompts)[0]
    step = site.prompts[key]
    headers = {"Cookie": account.cookie}
    replicas = [
        httpx.Client(base_url=f"http://{HOST}:{port}", headers=headers, timeout=TIMEOUT,
                     trust_env=False)
        for port in REPLICAS.values()
    ]  # fmt: skip
    misses = []
    try:
        version = _version_in(replicas[1].get(f"/docs/{account.doc}/steps/{step}/").text, key)
        for round_ in range(CROSS_ROUNDS):
            writer, reader = replicas[round_ % 2], replicas[1 - round_ % 2]
            value = f"Across replicas {round_}: {secrets.token_hex(6)}"
            saved = writer.post(
                f"/docs/{account.doc}/answers/{key}/",
                data={key: value, f"version_{key}": str(version)},
                headers={"HX-Request": "true", "X-CSRFToken": account.csrf},
            )
            if saved.status_code != 200:
                misses.append(f"round {round_}: the save answered {saved.status_code}")
                break
            version = _version_in(saved.text, key)
            page = reader.get(f"/docs/{account.doc}/steps/{step}/")
            if value not in page.text or _version_in(page.text, key) != version:
                misses.append(f"round {round_}: {reader.base_url} showed an older answer")
    finally:
        for client in replicas:
            client.close()
    return Check(
        "an autosave through one replica is on the other's page at once",
        not misses,
        "; ".join(misses[:3]) or f"{CROSS_ROUNDS} of {CROSS_ROUNDS} rounds, both directions",
    )


@dataclass
class Fault:
    """Something done to the cluster ``at`` a fraction of a load phase, and its checks."""

    at: float
    act: Callable[[float], object]  # given the phase's start (monotonic); returns a result
    judge: Callable[[object, Load], list[Check]]  # the result, and the load it happened under


def redis_restart(at: float) -> Fault:
    def act(started: float) -> tuple[bool, str, float]:
        print(f"cluster: restarting Redis at t={time.monotonic() - started:.1f} s")
        began = time.monotonic()
        ok, detail = restart_redis()
        return ok, detail, time.monotonic() - began

    def judge(result, load: Load) -> list[Check]:
        ok, detail, took = result
        return [Check("Redis restart: restarted", ok, f"{detail} in {took:.1f} s")]

    return Fault(at, act, judge)


def worker_kill(at: float) -> Fault:
    """kill -9 the worker; after the load, every acknowledged save must be found by search
    within RECOVERY_LIMIT seconds (the restarted worker indexes it)."""

    def judge(result, load: Load) -> list[Check]:
        pid, new_pid, took = result
        looked_for, lost = findable(load.run, RECOVERY_LIMIT)
        return [
            Check(
                "worker kill: the worker restarted",
                new_pid is not None,
                f"pid {pid} → {new_pid} after {took:.1f} s" if new_pid else "never came back",
            ),
            Check(
                f"worker kill: each acknowledged save found by search in {RECOVERY_LIMIT:.0f} s",
                looked_for > 0 and not lost,
                f"{looked_for - len(lost)} of {looked_for} found"
                + (f"; not: {lost[:3]}" if lost else ""),
            ),
        ]

    return Fault(at, kill_worker, judge)


def fault_phase(
    phase: str, accounts: list[Account], site: SiteMap, seconds: float, faults: list[Fault]
) -> list[Check]:
    """The load for ``seconds`` with ``faults`` done under it: no request may fail, nobody be
    signed out, no acknowledged save be lost; then each fault's own checks."""
    if any(f.act is kill_worker for f in faults) and not (RUN / "worker.supervisor.pid").exists():
        return [Check(phase, True, "skipped: the cluster runs no task worker")]
    load, results = under_load(accounts, site, seconds, [(f.at, f.act) for f in faults])
    checks = load_checks(load, phase, saves_may_fail=False)
    for fault, result in zip(faults, results, strict=True):
        checks += fault.judge(result, load)
    return checks


def kill_worker(started: float) -> tuple[int, int | None, float | None]:
    """kill -9 the task worker's process group; (old pid, new pid, seconds until restarted)."""
    pid = replica_pid("worker")
    print(f"cluster: kill -9 the task worker (pid {pid}) at t={time.monotonic() - started:.1f} s")
    killed = time.monotonic()
    os.killpg(pid, signal.SIGKILL)
    while time.monotonic() < killed + RECOVERY_LIMIT:
        new_pid = replica_pid("worker")
        if new_pid not in (None, pid):
            return pid, new_pid, time.monotonic() - killed
        time.sleep(0.1)
    return pid, None, None


def findable(run: Run, limit: float) -> tuple[int, list[str]]:
    """Search, as each owner, for the last acknowledged text of each answer until every one is
    found or ``limit`` seconds pass; (how many were looked for, those never found)."""
    wanted = {}
    for client in run.clients:
        for key, ack in client.acks.items():
            if not client.unsure[key]:  # else a later unanswered save may have replaced it
                token = ack.value.rsplit(" ", 1)[-1]
                wanted[(client.account.index, key)] = (client.account, token)
    deadline = time.monotonic() + limit
    missing = dict(wanted)
    while missing and time.monotonic() < deadline:
        for item, (account, token) in list(missing.items()):
            page = httpx.get(
                f"{NGINX}/search/",
                params={"q": token, "all": "1"},
                headers={"Cookie": account.cookie},
                timeout=TIMEOUT,
                trust_env=False,
            )
            if f"/docs/{account.doc}/" in page.text:
                del missing[item]
        time.sleep(0.2)
    return len(wanted), [unfound(a.doc, t) for a, t in missing.values()]


def unfound(doc_id: int, token: str) -> str:
    """Why search did not find ``token`` in the doc: whether the answer, the search entry and
    the doc's refresh bookkeeping have it, to tell a lost refresh from a search miss."""
    from django.db import connections
    from django.db.models import Max
    from django_tasks_db.models import DBTaskResult

    from apps.designdocs.models import Answer, DesignDoc
    from apps.search.models import Entry

    connections.close_all()  # a Redis or PostgreSQL fault may have left this one stale
    fields = ("refresh_pending", "refreshed_at", "changes", "refreshed_changes")
    doc = DesignDoc.objects.filter(pk=doc_id).values(*fields).first()
    if doc is None:
        return f"doc {doc_id}: {token} (the doc is gone)"
    stored = Answer.objects.filter(doc_id=doc_id, value__contains=token).exists()
    indexed = Entry.objects.filter(kind="doc", object_id=doc_id, body__contains=token).exists()
    saved = Answer.objects.filter(doc_id=doc_id).aggregate(last=Max("updated_at"))["last"]
    tasks = DBTaskResult.objects.filter(
        task_path="apps.designdocs.tasks.refresh_doc", args_kwargs__args=[doc_id]
    )
    waiting = tasks.filter(status__in=["READY", "RUNNING"]).count()
    return (
        f"doc {doc_id}: {token} (answer has it: {stored}; search entry has it: {indexed};"
        f" refresh_pending {doc['refresh_pending']}, last refresh began"
        f" {doc['refreshed_at']:%H:%M:%S.%f}, last answer saved {saved:%H:%M:%S.%f};"
        f" changes {doc['changes']}, of which refreshed {doc['refreshed_changes']};"
        f" refresh tasks ready or running: {waiting})"
    )


# --- Throughput ----------------------------------------------------------------------------------


@dataclass
class Paired:
    """A kind of request, each run right after the static file it is judged against: the two
    runs a few seconds apart see the same machine (other work, CPU steal), so their ratio
    is steady where the rates are not."""

    base_url: str
    scenario: wrk.Scenario
    ceiling: str  # "nginx" or "replica": which static file it is judged against
    goal: float | None = None  # the floor for the ratio, when it sets one
    runs: list[tuple[float, wrk.Result]] = field(default_factory=list)  # (ceiling req/s, run)

    @property
    def ratios(self) -> list[float]:
        return [run.rps / ceiling for ceiling, run in self.runs if ceiling]


def judge(kind: Paired) -> Check:
    """Met when the median of the rounds' ratios reaches the goal and no run had an error (a
    lost session answers fast 302s, which would look like a great rate)."""
    ratios, errors = kind.ratios, sum(run.errors for _, run in kind.runs)
    median = statistics.median(ratios) if ratios else 0.0
    return Check(
        f"{kind.scenario.name} ≥ {kind.goal}× a static file served by {kind.ceiling}",
        bool(ratios) and median >= kind.goal and not errors,
        f"median {median:.3f}× over {len(ratios)} paired rounds"
        + (f" ({min(ratios):.3f}–{max(ratios):.3f})" if ratios else "")
        + f", {errors} errors",
    )


def throughput(
    accounts: list[Account], site: SiteMap, seconds: float, rounds: int
) -> tuple[list[str], list[Check]]:
    """req/s of each kind of request through nginx, each as a share of the static file it is
    judged against, run just before it: a static file the size of the concept page served by
    nginx, or the collected static file nearest that size served by a replica (whitenoise).
    ``rounds`` rounds; a ratio is the median of its rounds, and a goal is met when that
    median reaches it. The autosaves run once, after the rounds (they change what they save)."""
    if not wrk.installed():
        return ["throughput: skipped, wrk is not installed (apt-get install wrk)"], []
    concept = site.concepts[0]
    size = len(httpx.get(f"{NGINX}{concept}", trust_env=False, timeout=10).content)
    static_root = ROOT / "staticfiles"
    ceiling_file = static_root / "bench-ceiling.html"
    ceiling_file.write_bytes(b"x" * size)
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    nearest = min(manifest.values(), key=lambda p: abs((static_root / p).stat().st_size - size))
    replica = f"http://{HOST}:{REPLICAS['web1']}"
    account = accounts[0]
    signed_in = {"Cookie": account.cookie}
    step = f"/docs/{account.doc}/steps/{site.steps[0]}/"
    ceilings = {
        "nginx": (NGINX, wrk.get("static file, nginx", "/static/bench-ceiling.html", 8)),
        "replica": (
            replica,
            wrk.get("static file, a replica (whitenoise)", f"/static/{nearest}", 8),
        ),
    }

    def page(name: str, path: str, headers: dict | None = None) -> wrk.Scenario:
        return wrk.get(name, path, 8, headers)

    kinds = [
        Paired(NGINX, page("anonymous concept page, nginx", concept), "nginx", 0.5),
        Paired(NGINX, page("anonymous metric page, nginx", site.metrics[0]), "nginx"),
        Paired(replica, page("anonymous concept page, a replica", concept), "replica"),
        Paired(NGINX, page("signed-in doc list, nginx", "/docs/", signed_in), "replica", 0.25),
        Paired(NGINX, page("signed-in wizard step, nginx", step, signed_in), "replica", 0.25),
        Paired(NGINX, page("signed-in concept page, nginx", concept, signed_in), "replica", 0.25),
    ]
    statics: dict[str, list[float]] = {"nginx": [], "replica": []}
    try:
        for _ in range(rounds):
            for kind in kinds:
                base_url, static = ceilings[kind.ceiling]
                ceiling = wrk.run(base_url, static, seconds).rps
                statics[kind.ceiling].append(ceiling)
                time.sleep(0.5)
                kind.runs.append((ceiling, wrk.run(kind.base_url, kind.scenario, seconds)))
                time.sleep(0.5)
        autosave = wrk.run(NGINX, autosave_scenario(accounts, site), seconds)
    finally:
        ceiling_file.unlink(missing_ok=True)
    header = (
        f"{'scenario':<40}{'req/s':>9}{'× static':>10}{'range':>15}{'goal':>7}"
        f"{'p99 ms':>9}{'errors':>7}"
    )
    lines, checks = [header], []
    for name, rates in statics.items():
        lines.append(
            f"{ceilings[name][1].name:<40}{statistics.median(rates):>9,.0f}{1:>10}"
            f"{f'{min(rates):,.0f}–{max(rates):,.0f}':>15}"
        )
    for kind in kinds:
        ratios, runs = kind.ratios, [run for _, run in kind.runs]
        median = statistics.median(ratios)
        p99 = statistics.median(run.latency_ms["p99"] for run in runs)
        lines.append(
            f"{kind.scenario.name:<40}{statistics.median(r.rps for r in runs):>9,.0f}"
            f"{median:>10.3f}{f'{min(ratios):.2f}–{max(ratios):.2f}':>15}"
            f"{f'≥ {kind.goal}' if kind.goal else '':>7}{p99:>9.1f}"
            f"{sum(r.errors for r in runs):>7}"
        )
        if kind.goal is not None:
            checks.append(judge(kind))
    lines.append(
        f"{autosave.scenario.name:<40}{autosave.rps:>9,.0f}{'':>10}{'':>15}{'':>7}"
        f"{autosave.latency_ms['p99']:>9.1f}{autosave.errors:>7}"
    )
    replica_size = (static_root / nearest).stat().st_size
    lines.append(
        f"(× static: the median, over {rounds} rounds, of req/s over the static file's run just"
        f" before (nginx's for nginx's cache, a replica's otherwise); concept page and nginx's"
        f" static file {size:,} bytes, the replica's {nearest} {replica_size:,} bytes;"
        f" {seconds:.0f} s a run, 8 connections, wrk on the same cores)"
    )
    return lines, checks


def autosave_scenario(accounts: list[Account], site: SiteMap) -> wrk.Scenario:
    """Every wrk connection a signed-in writer saving one answer of its doc over and over."""
    key = sorted(site.prompts)[0]
    step = site.prompts[key]
    writers = []
    for account in accounts[:8]:
        page = httpx.get(
            f"{NGINX}/docs/{account.doc}/steps/{step}/",
            headers={"Cookie": account.cookie},
            timeout=TIMEOUT,
            trust_env=False,
        )
        version = _version_in(page.text, key) or 0
        writers.append(wrk.Writer(account.doc, version, account.cookie, account.csrf))
    script = wrk.autosave_script(key, writers, "Throughput text A.", "Throughput text B.")
    return wrk.Scenario(
        f"autosave, nginx ({len(writers)} writers)",
        "/",
        len(writers),
        script,
        threads=len(writers),
        method="POST",
    )


# --- Main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cluster", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--short", action="store_true", help="the CI form: one replica kill, 10 s phases"
    )
    parser.add_argument("--seconds", type=float, help="each load phase (20; --short 10)")
    parser.add_argument("--clients", type=int, help="signed-in clients (16; --short 8)")
    parser.add_argument("--wrk-seconds", type=float, default=3, help="each throughput run (3)")
    parser.add_argument("--rounds", type=int, default=5, help="throughput rounds (5)")
    parser.add_argument("--no-throughput", action="store_true", help="faults only")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (10 if args.short else 20)
    args.clients = args.clients or (8 if args.short else 16)
    # A kill a quarter in, and for the full form a second one five eighths in, must fit.
    shortest = 8 if args.short else 12
    if not shortest <= args.seconds <= 30:
        parser.error(f"--seconds must be between {shortest} and 30: the kills fit in")
    if args.clients < 1:
        parser.error("--clients must be at least 1")
    if not 1 <= args.rounds <= 20 or not 1 <= args.wrk_seconds <= 30:
        parser.error("--rounds must be 1 to 20 and --wrk-seconds 1 to 30")
    return args


def run_faults(args: argparse.Namespace, accounts: list[Account], site: SiteMap) -> list[Check]:
    if args.short:
        checks = replica_kill_phase(accounts, site, args.seconds, names=("web1",))
        checks.append(cross_replica_phase(accounts[0], site))
        both = [worker_kill(1 / 4), redis_restart(1 / 2)]
        return checks + fault_phase(
            "worker kill and Redis restart", accounts, site, args.seconds, both
        )
    checks = replica_kill_phase(accounts, site, args.seconds)
    checks.append(cross_replica_phase(accounts[0], site))
    checks += fault_phase("Redis restart", accounts, site, args.seconds, [redis_restart(1 / 2)])
    return checks + fault_phase("worker kill", accounts, site, args.seconds, [worker_kill(1 / 3)])


def forget_accounts(prefix: str) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connections

    connections.close_all()
    try:
        get_user_model().objects.filter(username__startswith=prefix).delete()
    except Exception as exc:  # reported, never in the way of stopping the cluster
        print(f"cluster: could not delete the {prefix}* accounts: {exc}", file=sys.stderr)
    connections.close_all()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    # A CI timeout's SIGTERM unwinds like Ctrl-C, through the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.monotonic()
    ours = not answers(f"{NGINX}/healthz")  # else someone's cluster: use it, leave it running
    prefix = f"fault{int(time.time())}-"
    checks: list[Check] = []
    lines: list[str] = []
    seeded = False
    try:
        if ours:
            start_cluster()
        os.environ.update(site_environment())
        seeded = True
        accounts, site = seed(args.clients, prefix)
        print(f"cluster: {args.clients} clients, {args.seconds:.0f} s per load phase via {NGINX}")
        checks += run_faults(args, accounts, site)
        if not (args.no_throughput or args.short):
            lines, judged = throughput(accounts, site, args.wrk_seconds, args.rounds)
            checks += judged
    finally:
        if seeded:
            forget_accounts(prefix)
        if ours:
            stop_cluster()
    if ours:
        ports = [8080, 8081, *REPLICAS.values(), 8003]
        left = still_listening(ports)
        checks.append(
            Check(
                "the cluster stopped: nothing listens on its ports",
                not left,
                f"still listening: {left}" if left else f"{ports} free",
            )
        )
    print()
    for check in checks:
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    if lines:
        print("\n" + "\n".join(lines))
    failed = [c for c in checks if not c.ok]
    print(f"\ncluster: {'FAILED' if failed else 'passed'} in {time.monotonic() - began:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
