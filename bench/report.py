"""The results: the machine, one table per measurement, the targets marked PASS or MISS."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.weight import FirstLoad
from bench.wrk import Result

RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"


@dataclass
class Section:
    """A heading, a table and a note: printed aligned, written as Markdown."""

    heading: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    ok: bool
    gap: str = ""

    @property
    def verdict(self) -> str:
        return "PASS" if self.ok else "MISS"


def machine(postgres: str, django: str) -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores (nproc)": str(os.cpu_count()),
        "CPU": cpu,
        "RAM": f"{memory / 1024 / 1024:.1f} GiB",
        "PostgreSQL": postgres,
        "Python": platform.python_version(),
        "Django": django,
    }


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def table(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    """A table as Markdown, or aligned for the terminal."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


LOAD_HEADERS = ["scenario", "conns", "req/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "errors"]
LOAD_HEADERS += ["KB/resp", "static req/s", "× static", "per process", "target", "result"]


def errors(r: Result) -> str:
    """A cell such as 0 / 4,700, or 240 / 3,450 (answer 200, read 40): which kind of error."""
    cell = f"{r.errors:,} / {r.requests:,}"
    if r.error_kinds:
        cell += " (" + ", ".join(f"{k} {n:,}" for k, n in sorted(r.error_kinds.items())) + ")"
    return cell


def per_process(r: Result) -> str:
    """Requests per worker process, as shares: "100 %" is every one in one process."""
    total = sum(r.per_process)
    if not total:
        return "–"
    return " / ".join(f"{n / total:.0%}".replace("%", " %") for n in r.per_process)


def load_rows(results: list[Result], verdicts: dict[str, str]) -> list:
    rows = []
    for r in results:
        ms = r.latency_ms
        rows.append(
            [
                r.scenario.name, str(r.scenario.connections), f"{r.rps:,.0f}",
                f"{ms['p50']:.1f}", f"{ms['p90']:.1f}", f"{ms['p95']:.1f}", f"{ms['p99']:.1f}",
                errors(r), f"{r.bytes_per_response / 1024:.1f}",
                f"{r.static_rps:,.0f}" if r.static_rps else "–",
                f"{r.ratio:.2f}" if r.static_rps else "–",
                per_process(r), r.scenario.target or "", verdicts.get(r.scenario.name, ""),
            ]
        )  # fmt: skip
    return rows


QUERY_HEADERS = ["page", "queries, small", "queries, at scale", "SQL ms, small"]
QUERY_HEADERS += ["SQL ms, at scale", "request ms, at scale", "queries when cached", "status"]
QUERY_HEADERS += ["result"]


def query_rows(small: dict, scale: dict) -> list[list[str]]:
    rows = []
    for page, counts in scale.items():
        before = small.get(page, {})
        warm = counts["warm"]
        rows.append(
            [
                page, str(before.get("cold")), str(counts["cold"]),
                f"{before.get('ms', 0):.0f}", f"{counts['ms']:.0f}",
                f"{counts['request_ms']:.0f}", "–" if warm is None else str(warm),
                str(counts["status"]),
                "PASS" if before.get("cold") == counts["cold"] else "MISS",
            ]
        )  # fmt: skip
    return rows


WEIGHT_HEADERS = ["file", "bytes on the wire", "encoding", "Cache-Control"]


def weight_rows(load: FirstLoad) -> list[list[str]]:
    return [
        [d.url.split("://", 1)[-1].split("/", 1)[-1], f"{d.bytes:,}", d.encoding, d.cache_control]
        for d in [load.page, *load.assets]
    ]


TARGET_HEADERS = ["target", "goal", "measured", "result", "gap"]


def target_rows(targets: list[Target]) -> list[list[str]]:
    return [[t.name, t.goal, t.measured, t.verdict, t.gap] for t in targets]


def printable(sections: list[Section]) -> str:
    parts = []
    for section in sections:
        parts += ["", section.heading, "", table(section.headers, section.rows, markdown=False)]
        if section.note:
            parts += ["", section.note]
    return "\n".join(parts)


def write(sections: list[Section], path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = ["# MLSD Handbook benchmark: latest run", ""]
    for section in sections:
        parts += [f"## {section.heading}", "", table(section.headers, section.rows, markdown=True)]
        parts += ["", section.note, ""] if section.note else [""]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
