"""Lighthouse on two content pages, served as in production, in Debian's Chromium.

    python -m bench.lighthouse [--pg-port 5432] [--keep-database]

It builds a scratch PostgreSQL database (mlsd_lighthouse on 127.0.0.1:5432, user postgres, trust
auth; dropped at the end), runs migrate, collectstatic and load_content with production settings
on plain HTTP (DEBUG off, a random SECRET_KEY, no SSL redirect, no HSTS), serves the site under
gunicorn on a free port of 127.0.0.1, and runs Lighthouse with the desktop preset and with its
default (mobile, simulated slow 4G and CPU throttling) on each page in PAGES. Each run writes
``bench/results/lighthouse/<page>-<preset>.report.json`` and ``.report.html``; the four category
scores are printed per page and preset, with the audits that cost points, and saved in
``summary.json`` and ``summary.md`` beside the reports.

Lighthouse itself is not a project dependency. Install it outside the repository:

    mkdir -p /tmp/lh && cd /tmp/lh && npm init -y && npm install lighthouse@12.2.3

and the script finds ``/tmp/lh/node_modules/.bin/lighthouse``; set ``LIGHTHOUSE`` to use another
CLI (a path to the executable). Chromium is ``CHROME_PATH`` (default ``/usr/bin/chromium``).

Audits that Lighthouse itself failed to run are listed with score "error". With Lighthouse
12.2.3 and a recent Chromium (156 here) the trace engine it bundles cannot read Chromium's
PipelineReporter events ("reading 'frame_sequence'"), so the weight-0 diagnostics built on it
(layout-shifts, render-blocking-resources, largest-contentful-paint-element, lcp-lazy-loaded,
non-composited-animations, prioritize-lcp-image) come back as errors; the scored metrics,
CLS included, are computed elsewhere and are unaffected.

Only 127.0.0.1 is contacted. Lighthouse counts http://127.0.0.1 as a secure origin, so
``is-on-https`` passes and ``redirects-http`` is not applicable here: neither says anything about
the deployed site, which redirects to HTTPS and sends HSTS (both switched off for this run).
Exit status: 0 when every run produced a report, 1 when a run failed, 2 when Lighthouse or
Chromium is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.soak_lib import HOST, Server, create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "lighthouse"
DATABASE = "mlsd_lighthouse"
DEFAULT_LIGHTHOUSE = Path("/tmp/lh/node_modules/.bin/lighthouse")
INSTALL_HINT = (
    "Install it outside the repository:\n"
    "    mkdir -p /tmp/lh && cd /tmp/lh && npm init -y && npm install lighthouse@12.2.3\n"
    "or point LIGHTHOUSE at a lighthouse executable."
)
PAGES = {"concepts-kafka": "/concepts/kafka/", "metrics-precision": "/metrics/precision/"}
PRESETS = {"desktop": ["--preset=desktop"], "mobile": []}  # mobile is Lighthouse's default
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Audits that fail because the run is on http://127.0.0.1, not because of the site.
LOCAL_ARTEFACTS = {
    "is-on-https": "plain HTTP on loopback; production redirects to HTTPS (SECURE_SSL_REDIRECT)",
    "redirects-http": "no TLS locally, so nothing to redirect to; production redirects",
}


# --- Tools ---------------------------------------------------------------------------------------


def find_lighthouse() -> Path | None:
    named = os.environ.get("LIGHTHOUSE", "")
    if named:
        path = Path(named) if os.sep in named else Path(shutil.which(named) or named)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    return DEFAULT_LIGHTHOUSE if DEFAULT_LIGHTHOUSE.is_file() else None


def find_chrome() -> Path | None:
    path = Path(os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    return path if path.is_file() and os.access(path, os.X_OK) else None


# --- The site ------------------------------------------------------------------------------------


def site_environment(pg_port: int) -> dict[str, str]:
    """Production settings on plain HTTP, as the Dockerfile runs them but without TLS."""
    return os.environ | {
        "DATABASE_URL": f"postgres://postgres@{HOST}:{pg_port}/{DATABASE}",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "REQUEST_LOG": "false",
        "DJANGO_SETTINGS_MODULE": "mlsd_site.settings",
    }


def manage(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "manage.py", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise SystemExit(
            f"lighthouse: manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
        )


def warm_up(base: str) -> None:
    """Fetch each page (and fail early on a non-200) so Lighthouse measures a warm server."""
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as http:
        for path in PAGES.values():
            for _ in range(2):
                response = http.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"lighthouse: GET {path} answered {response.status_code}")


# --- Lighthouse ----------------------------------------------------------------------------------


@dataclass
class Run:
    page: str
    preset: str
    url: str
    scores: dict[str, int | None]
    failing: list[dict]
    error: str = ""

    @property
    def name(self) -> str:
        return f"{self.page}-{self.preset}"


def failing_audits(report: dict) -> list[dict]:
    """Audits that count towards a category and scored below 1, per category."""
    audits = report["audits"]
    failing = []
    for category_id in CATEGORIES:
        category = report["categories"].get(category_id)
        if not category:
            continue
        for ref in category["auditRefs"]:
            audit = audits[ref["id"]]
            score = audit.get("score")
            mode = audit.get("scoreDisplayMode")
            if mode == "error":  # Lighthouse could not run it: say so rather than hide it
                error = audit.get("errorMessage", "")
                failing.append(
                    {
                        "category": category_id,
                        "id": ref["id"],
                        "weight": ref.get("weight", 0),
                        "score": None,
                        "title": audit.get("title", ""),
                        "display": f"Lighthouse error: {error[:240]}",
                        "local_artefact": "",
                    }
                )
                continue
            if mode in {"notApplicable", "manual", "informative"} or score is None:
                continue
            if score < 1:
                failing.append(
                    {
                        "category": category_id,
                        "id": ref["id"],
                        "weight": ref.get("weight", 0),
                        "score": score,
                        "title": audit.get("title", ""),
                        "display": audit.get("displayValue", ""),
                        "local_artefact": LOCAL_ARTEFACTS.get(ref["id"], ""),
                    }
                )
    return failing


def run_lighthouse(lighthouse: Path, chrome: Path, url: str, page: str, preset: str) -> Run:
    output = RESULTS / f"{page}-{preset}"
    command = [
        str(lighthouse),
        url,
        *PRESETS[preset],
        "--output=json",
        "--output=html",
        f"--output-path={output}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={' '.join(CHROME_FLAGS)}",
        "--quiet",
    ]
    env = os.environ | {"CHROME_PATH": str(chrome)}
    with tempfile.TemporaryDirectory(prefix="mlsd-lh-") as tmp:
        env["TMPDIR"] = tmp  # chrome-launcher's profile goes here and goes away with it
        try:
            done = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
            )
        except subprocess.TimeoutExpired:
            return Run(page, preset, url, {}, [], "Lighthouse took over 300 s")
    report_path = output.with_name(output.name + ".report.json")
    if done.returncode or not report_path.exists():
        message = (done.stderr or done.stdout).strip()[-2000:]
        return Run(page, preset, url, {}, [], f"exit {done.returncode}: {message}")
    report = json.loads(report_path.read_text())
    if report.get("runtimeError"):
        return Run(page, preset, url, {}, [], str(report["runtimeError"]))
    scores = {}
    for category_id in CATEGORIES:
        score = report["categories"].get(category_id, {}).get("score")
        scores[category_id] = None if score is None else round(score * 100)
    return Run(page, preset, url, scores, failing_audits(report))


# --- Reporting -----------------------------------------------------------------------------------


def _cell(score: int | None) -> str:
    return "n/a" if score is None else str(score)


def table(runs: list[Run]) -> str:
    header = ["page", "preset", *CATEGORIES]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for run in runs:
        cells = [PAGES[run.page], run.preset]
        if run.error:
            cells += ["error"] * len(CATEGORIES)
        else:
            cells += [_cell(run.scores.get(c)) for c in CATEGORIES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def failures(runs: list[Run]) -> str:
    lines = []
    tool_errors: dict[str, list[str]] = {}
    for run in runs:
        if run.error:
            lines.append(f"- {run.name}: Lighthouse failed: {run.error}")
            continue
        for audit in run.failing:
            if audit["score"] is None:
                tool_errors.setdefault(audit["id"], []).append(run.name)
                continue
            note = (
                f" [local artefact: {audit['local_artefact']}]" if audit["local_artefact"] else ""
            )
            display = f" ({audit['display']})" if audit["display"] else ""
            lines.append(
                f"- {run.name} · {audit['category']} · {audit['id']} "
                f"score {audit['score']:.2f}, weight {audit['weight']}{display}: "
                f"{audit['title']}{note}"
            )
    if not lines:
        lines.append("- none: every scored audit passed")
    for audit_id, names in tool_errors.items():
        where = "every run" if len(names) == len(runs) else ", ".join(names)
        message = next(
            audit["display"] for run in runs for audit in run.failing if audit["id"] == audit_id
        )
        lines.append(f"- {audit_id}: not run ({where}); {message}")
    return "\n".join(lines)


def write_summary(runs: list[Run], lighthouse_version: str, chrome_version: str) -> None:
    summary = {
        "lighthouse": lighthouse_version,
        "chrome": chrome_version,
        "chrome_flags": CHROME_FLAGS,
        "runs": [
            {
                "page": PAGES[run.page],
                "preset": run.preset,
                "scores": run.scores,
                "failing_audits": run.failing,
                "error": run.error,
                "reports": [f"{run.name}.report.json", f"{run.name}.report.html"],
            }
            for run in runs
        ],
    }
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = (
        f"# {lighthouse_version}, {chrome_version}\n\n"
        "Production settings on http://127.0.0.1 (gunicorn, DEBUG off, PostgreSQL); "
        "`python -m bench.lighthouse`.\n\n"
        f"{table(runs)}\n\n## Audits below 1, or that Lighthouse could not run\n\n"
        f"{failures(runs)}\n"
    )
    (RESULTS / "summary.md").write_text(text)


def _version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "unknown"


# --- Main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pg-port", type=int, default=5432, help="PostgreSQL on 127.0.0.1")
    parser.add_argument(
        "--keep-database", action="store_true", help=f"leave {DATABASE} behind for inspection"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lighthouse = find_lighthouse()
    if lighthouse is None:
        where = os.environ.get("LIGHTHOUSE") or DEFAULT_LIGHTHOUSE
        print(f"lighthouse: no Lighthouse CLI at {where}.\n{INSTALL_HINT}", file=sys.stderr)
        return 2
    chrome = find_chrome()
    if chrome is None:
        print(
            "lighthouse: no Chromium at CHROME_PATH (default /usr/bin/chromium); "
            "install it with: apt-get install -y chromium",
            file=sys.stderr,
        )
        return 2
    lighthouse_version = "Lighthouse " + _version([str(lighthouse), "--version"])
    chrome_version = _version([str(chrome), "--version"])
    RESULTS.mkdir(parents=True, exist_ok=True)

    env = site_environment(args.pg_port)
    create_database(args.pg_port, DATABASE)
    runs: list[Run] = []
    try:
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"], ["load_content"]):
            print(f"lighthouse: manage.py {' '.join(command)}", flush=True)
            manage(env, *command)
        with tempfile.TemporaryDirectory(prefix="mlsd-lh-log-") as tmp:
            server = Server(ROOT, env, Path(tmp) / "gunicorn.log")
            try:
                server.start()
                print(f"lighthouse: gunicorn on {server.url}", flush=True)
                warm_up(server.url)
                for page, path in PAGES.items():
                    for preset in PRESETS:
                        print(f"lighthouse: {path} ({preset})", flush=True)
                        runs.append(
                            run_lighthouse(lighthouse, chrome, server.url + path, page, preset)
                        )
            finally:
                server.stop()
    finally:
        if not args.keep_database:
            drop_database(args.pg_port, DATABASE)

    write_summary(runs, lighthouse_version, chrome_version)
    print(f"\n{lighthouse_version}, {chrome_version}\n")
    print(table(runs))
    print("\nAudits below 1, or that Lighthouse could not run (category, id, score, weight):")
    print(failures(runs))
    print(f"\nReports in {RESULTS.relative_to(ROOT)}/")
    return 1 if any(run.error for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
