"""The soak test's machinery: a scratch PostgreSQL database, a server restart, gunicorn.

Kept apart from ``bench.soak`` so that the test itself reads as load, restart and checks.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

HOST = "127.0.0.1"


# --- PostgreSQL ---------------------------------------------------------------------------------


def _admin(port: int) -> psycopg.Connection:
    return psycopg.connect(
        host=HOST, port=port, user="postgres", dbname="postgres", autocommit=True, connect_timeout=5
    )


def create_database(port: int, name: str) -> None:
    """A fresh, empty database ``name`` (an old one left by a killed run is dropped first)."""
    drop_database(port, name)
    with _admin(port) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(port: int, name: str) -> None:
    with _admin(port) as conn:
        query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        conn.execute(query)


def other_sessions(port: int, database: str) -> Counter:
    """Connections to other databases on the server, which a restart will cut: per database."""
    with _admin(port) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_stat_activity WHERE backend_type = 'client backend'"
            " AND pid <> pg_backend_pid() AND datname IS DISTINCT FROM %s",
            [database],
        ).fetchall()
    return Counter(name for (name,) in rows)


@dataclass
class Restart:
    """How to restart the PostgreSQL server on ``port``, found by asking the server itself."""

    command: list[str]
    how: str

    @classmethod
    def for_server(cls, port: int) -> Restart:
        """The Debian cluster tools when they manage the server, else its own pg_ctl.

        CI may run a throwaway cluster started with pg_ctl (see .ci/run), which pg_ctlcluster
        does not know; pg_ctl restart reuses the options of the running server (postmaster.opts).
        """
        with _admin(port) as conn:
            datadir = conn.execute("SHOW data_directory").fetchone()[0]
            major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
        cluster = _debian_cluster(datadir)
        if cluster:
            version, name = cluster
            command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart"]
            return cls(command, f"Debian cluster {version}/{name}")
        pg_ctl = Path(f"/usr/lib/postgresql/{major}/bin/pg_ctl")
        pg_ctl_path = str(pg_ctl) if pg_ctl.exists() else shutil.which("pg_ctl")
        if pg_ctl_path is None:
            raise SystemExit(f"soak: no pg_ctl for PostgreSQL {major} to restart {datadir}")
        log = str(Path(datadir) / "log")  # the server's output must not go to our pipes
        command = [pg_ctl_path, "-D", datadir, "-l", log, "-m", "fast", "-w", "-t", "60", "restart"]
        owner = Path(datadir).owner()
        if os.geteuid() == 0 and owner != "root":
            command = ["runuser", "-u", owner, "--", *command]
        return cls(command, f"pg_ctl cluster in {datadir}")

    def run(self) -> tuple[bool, str]:
        """Restart and wait until the server accepts connections again; (succeeded, output)."""
        # A file, not a pipe: a server started by the command must not hold our pipe open.
        with tempfile.TemporaryFile("w+") as out:
            try:
                done = subprocess.run(
                    self.command, stdout=out, stderr=subprocess.STDOUT, timeout=120, check=False
                )
                ok = done.returncode == 0
            except (OSError, subprocess.TimeoutExpired) as exc:
                out.write(f"\n{exc}")
                ok = False
            out.seek(0)
            return ok, out.read().strip()


def _debian_cluster(datadir: str) -> tuple[str, str] | None:
    if not shutil.which("pg_lsclusters"):
        return None
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    for line in listing.splitlines():
        columns = line.split()
        if len(columns) >= 6 and os.path.realpath(columns[5]) == os.path.realpath(datadir):
            return columns[0], columns[1]
    return None


# --- gunicorn -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """The site under gunicorn, configured like the Dockerfile's CMD, logging to ``log``."""

    root: Path
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 60) -> None:
        workers = self.env.get("WEB_CONCURRENCY", "3")
        command = [
            sys.executable, "-m", "gunicorn", "mlsd_site.wsgi:application",
            "--bind", f"{HOST}:{self.port}", "--workers", workers, "--forwarded-allow-ips=*",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"soak: gunicorn exited at start; see the log:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2, trust_env=False).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"soak: gunicorn did not answer /healthz in {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


# --- The server's log -------------------------------------------------------------------------

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (\w+) (\S+) ")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")


@dataclass
class LoggedError:
    at: float  # epoch seconds
    message: str
    exception: str
    text: str


def logged_errors(log: Path) -> list[LoggedError]:
    """Django's ERROR records (a 500's traceback is one) in the log, with their time.

    The site logs in its TIME_ZONE, which Django also applied to this process at setup, so the
    stamps convert with local time here.
    """
    records: list[list[str]] = []
    for line in log.read_text(errors="replace").splitlines():
        if _STAMP.match(line):
            records.append([line])
        elif records:
            records[-1].append(line)
    errors = []
    for lines in records:
        head = _STAMP.match(lines[0])
        stamp, level, _logger = head.groups()
        if level not in {"ERROR", "CRITICAL"}:
            continue
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        message = lines[0][head.end() :]
        raised = [line for line in lines[1:] if _EXCEPTION.match(line)]
        exception = raised[-1] if raised else message
        errors.append(LoggedError(at, message, exception[:200], "\n".join(lines)))
    return errors


def count_gunicorn_alarms(log: Path) -> Counter:
    """gunicorn's own complaints: worker timeouts, workers killed or failing to boot."""
    alarms: Counter = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if "[CRITICAL]" in line or "[ERROR]" in line:
            alarms[re.sub(r"^\[[^]]*\] \[\d+\] ", "", line)[:120]] += 1
    return alarms
