"""Load from wrk: a Lua script per kind of request; its ``done()`` prints the percentiles.

Every script counts the responses that are not 200 (a lost session shows up as fast 302s to the
sign-in page, which would otherwise look like a great result), and ``done()`` prints one line,
``WRK_RESULT {json}``, which :func:`run` reads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from urllib.parse import quote_plus

COMMON = r"""
local threads = {}
local created = 0

function setup(thread)
  created = created + 1
  thread:set("id", created)
  table.insert(threads, thread)
end

-- LuaJIT starts every wrk thread's generator from the same seed, so without a seed of its own
-- each connection would draw the same numbers: paced writers would all send at once, in
-- lockstep, and "many clients" would be a few addresses. Seeded by the thread's number.
local seeded = false
function random(low, high)
  if not seeded then math.randomseed(id) seeded = true end
  return math.random(low, high)
end

non200 = 0

function count(status)
  if status ~= 200 then non200 = non200 + 1 end
end

local function total(name)
  local sum = 0
  for _, thread in ipairs(threads) do sum = sum + (tonumber(thread:get(name)) or 0) end
  return sum
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, "connect": %.0f, ' ..
    '"read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f, "non200": %.0f, ' ..
    '"p50": %.0f, "p90": %.0f, "p95": %.0f, "p99": %.0f, "max": %.0f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, total("non200"), latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max))
end
"""

GET = r"""
function response(status, headers, body) count(status) end
"""

POST = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
wrk.body = [==[{body}]==]
function response(status, headers, body) count(status) end
"""

# Each thread has one connection and its own signed-in writer and doc, and it alternates between
# two texts: every request changes the stored answer and is based on the version the previous
# response returned, so every request is a real save. A 409 (someone else saved) carries the
# stored version in its "Keep my text" button; the thread picks it up and goes on.
AUTOSAVE = r"""
local docs = {{{docs}}}
local versions = {{{versions}}}
local cookies = {{{cookies}}}
local tokens = {{{tokens}}}
local texts = {{[==[{text_a}]==], [==[{text_b}]==]}}

function init(args)
  doc, version, turn = docs[id], versions[id], 1
  headers = {{
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["HX-Request"] = "true",
    ["Cookie"] = cookies[id],
    ["X-CSRFToken"] = tokens[id],
  }}
end

function request()
  turn = 3 - turn
  local body = "{key}=" .. texts[turn] .. "&version_{key}=" .. version
  return wrk.format("POST", "/docs/" .. doc .. "/answers/{key}/", headers, body)
end

function response(status, headers, body)
  count(status)
  local pattern = status == 200 and 'name="version_{key}"[^>]*value="(%d+)"' or "keep=(%d+)"
  local seen = string.match(body or "", pattern)
  if seen then version = seen end
end
"""


@dataclass
class Writer:
    """A signed-in user and the doc whose answer it saves."""

    doc: int
    version: int
    cookie: str
    csrf: str


@dataclass
class Scenario:
    name: str
    path: str
    connections: int
    script: str
    threads: int = 2
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    target: str = ""


def get(name: str, path: str, connections: int, headers: dict | None = None, **kw) -> Scenario:
    """A GET of ``path``, with ``headers`` (e.g. a session cookie) on every request."""
    lines = [f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items()]
    script = COMMON + "\n".join(lines) + GET
    return Scenario(name, path, connections, script, headers=headers or {}, **kw)


@dataclass
class Result:
    scenario: Scenario
    requests: int
    seconds: float
    bytes: int
    errors: int  # responses other than 200, and socket errors
    latency_ms: dict[str, float] = field(default_factory=dict)
    # The errors by kind, those that occurred: "answer" (the script's check of a response) and
    # wrk's socket errors ("connect", "read", "write", "timeout").
    error_kinds: dict[str, int] = field(default_factory=dict)
    static_rps: float = 0.0  # the static ceiling, measured just before this run
    per_process: list[int] = field(default_factory=list)  # requests each worker answered
    note: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ratio(self) -> float:
        """Requests per second as a share of the static ceiling's."""
        return self.rps / self.static_rps if self.static_rps else 0.0

    @property
    def bytes_per_response(self) -> float:
        return self.bytes / self.requests if self.requests else 0.0


def installed() -> bool:
    return shutil.which("wrk") is not None


# Each request from another client address, as nginx forwards them (the server trusts the
# loopback as its proxy: bench.database.site_environment): a per-address quota (the API's 120
# requests a minute) would otherwise refuse all but the first second of a run with 429.
MANY_CLIENTS = r"""
function request()
  wrk.headers["X-Forwarded-For"] = "10." .. random(0, 255) .. "." .. random(0, 255)
    .. "." .. random(1, 254)
  return wrk.format()
end
"""


def post_script(body: str, content_type: str, *, many_clients: bool = False) -> str:
    script = COMMON + POST.format(body=body, content_type=content_type)
    return script + MANY_CLIENTS if many_clients else script


# A paced run sends about one request per connection per second: 10 s of it is ~160 requests,
# whose p99 is the second-worst. Paced runs last this many times longer, for a steadier tail.
PACED_LONGER = 3


def paced(pause_ms: int) -> str:
    """wrk's delay before each request: between ``pause_ms`` and twice that, at random, so that
    the connections drift apart as people do instead of arriving in lockstep."""
    return f"\nfunction delay() return random({pause_ms}, {2 * pause_ms}) end\n"


def autosave_script(
    key: str, writers: list[Writer], text_a: str, text_b: str, pause_ms: int = 0
) -> str:
    """Each writer saves, waits for the answer, then at least ``pause_ms`` before the next (see
    :func:`paced`): 0 is back to back, the server's capacity; the page's debounce is the
    browser's pace."""

    def strings(values) -> str:
        return ", ".join(f'"{value}"' for value in values)

    pace = paced(pause_ms) if pause_ms else ""
    return (
        COMMON
        + pace
        + AUTOSAVE.format(
            key=key,
            docs=", ".join(str(w.doc) for w in writers),
            versions=", ".join(str(w.version) for w in writers),
            cookies=strings(w.cookie for w in writers),
            tokens=strings(w.csrf for w in writers),
            text_a=quote_plus(text_a),
            text_b=quote_plus(text_b),
        )
    )


def run(base_url: str, scenario: Scenario, seconds: float, timeout: float = 30) -> Result:
    """Drive ``scenario`` for ``seconds`` with its fixed connections; wrk stops at the end.

    A response slower than ``timeout`` counts as an error and leaves no latency; the default is
    gunicorn's worker timeout, so a slow page is measured rather than dropped."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="mlsd-bench-") as script:
        script.write(scenario.script)
        script.flush()
        command = [
            "wrk",
            f"--threads={min(scenario.threads, scenario.connections)}",
            f"--connections={scenario.connections}",
            f"--duration={max(1, round(seconds))}s",
            f"--timeout={timeout:.0f}s",
            f"--script={script.name}",
            base_url + scenario.path,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_RESULT ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk failed for {scenario.name}:\n{done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("WRK_RESULT "))
    socket_kinds = {k: data[k] for k in ("connect", "read", "write", "timeout")}
    sockets = sum(socket_kinds.values())
    kinds = {"answer": data["non200"], **socket_kinds}
    return Result(
        scenario=scenario,
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        bytes=int(data["bytes"]),
        errors=int(data["non200"] + sockets),
        latency_ms={p: data[p] / 1000 for p in ("p50", "p90", "p95", "p99", "max")},
        error_kinds={kind: int(n) for kind, n in kinds.items() if n},
    )


def combine(name: str, runs: list[Result]) -> Result:
    """Several runs of one scenario as one row: their totals, and the median run's latencies."""
    by_rate = sorted(runs, key=lambda r: r.rps)
    median = by_rate[len(by_rate) // 2]
    return Result(
        scenario=replace(median.scenario, name=name),
        requests=sum(r.requests for r in runs),
        seconds=sum(r.seconds for r in runs),
        bytes=sum(r.bytes for r in runs),
        errors=sum(r.errors for r in runs),
        latency_ms=median.latency_ms,
        error_kinds={
            kind: sum(r.error_kinds.get(kind, 0) for r in runs)
            for kind in {kind for r in runs for kind in r.error_kinds}
        },
        note=f"{by_rate[0].rps:,.0f} to {by_rate[-1].rps:,.0f} req/s",
    )
