"""The benchmark's own PostgreSQL database and the production environment the site runs with."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PG_URL = f"postgres://postgres@{HOST}:5432"
# A Redis database of its own: db 0 may hold another instance's pages under the same keys
# ("page:<encoding>:<path>"), which this fresh database would then serve. Flushed at start and end.
REDIS_DB = 13


class StepFailed(RuntimeError):
    """A setup command failed; the message carries its output."""


def settings_reads(name: str) -> bool:
    """Whether ``mlsd_site/settings.py`` reads the environment variable ``name`` (checked at
    run time: the settings change while the benchmark is being written)."""
    source = (ROOT / "mlsd_site" / "settings.py").read_text(encoding="utf-8")
    return re.search(rf"""["']{re.escape(name)}["']""", source) is not None


def site_environment(database: str) -> dict[str, str]:
    """Production settings on plain HTTP: what gunicorn and every setup command run with."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "PGOPTIONS", "DEBUG"}
    }
    env |= {
        "DATABASE_URL": f"{PG_URL}/{database}",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "DJANGO_SETTINGS_MODULE": "mlsd_site.settings",
        # wrk stands where nginx would: the calculator run sends each request from another
        # address (bench.wrk.MANY_CLIENTS), as many readers behind a proxy do.
        "TRUSTED_PROXIES": "127.0.0.1/32",
    }
    if settings_reads("REDIS_URL"):
        env["REDIS_URL"] = f"redis://{HOST}:6379/{REDIS_DB}"
    return env


def loading_environment(env: dict[str, str]) -> dict[str, str]:
    """For the commands that fill the database (never for the server being measured): no wait
    for the disk on each commit, which only matters if the machine crashes mid-load."""
    return env | {"PGOPTIONS": "-c synchronous_commit=off"}


def create_database(name: str) -> None:
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def vacuum(name: str) -> None:
    """VACUUM (ANALYZE) after the bulk load, as autovacuum would have done on a live database:
    the planner needs the row counts, and scans need the visibility map. Then a CHECKPOINT,
    so that writing the load's dirty pages to disk is not part of any measured run."""
    with psycopg.connect(f"{PG_URL}/{name}", autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")


def drop_database(name: str) -> None:
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_version() -> str:
    with psycopg.connect(f"{PG_URL}/postgres") as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def flush_redis(env: dict[str, str]) -> None:
    """Empty the benchmark's Redis database, if the settings use Redis."""
    if "REDIS_URL" not in env:
        return
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()


def run_step(env: dict[str, str], *args: str, timeout: float = 900) -> tuple[str, float]:
    """Run ``python <args>`` in the project; returns its output and how long it took."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        tail = "\n".join(f"{done.stdout}{done.stderr}".strip().splitlines()[-25:])
        raise StepFailed(f"`{' '.join(args)}` failed ({done.returncode}); its output ends:\n{tail}")
    return done.stdout, time.monotonic() - started


def manage(env: dict[str, str], *args: str, timeout: float = 900) -> tuple[str, float]:
    return run_step(env, "manage.py", *args, timeout=timeout)
