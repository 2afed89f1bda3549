"""``manage.py worker``: catch up on what a killed worker left, then run tasks (db_worker)."""

import os
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import OperationalError, connections

from apps.core import monitoring
from apps.core.worker import close_orphaned_tasks, default_worker_id, worker_starting

RETRY_SECONDS = 1.0
NICENESS = 10  # added to the worker's nice value: the scheduler prefers the web processes


class Command(BaseCommand):
    help = "Run background tasks (django-tasks-db's db_worker) after catching up on any lost."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then exit.")
        parser.add_argument("--interval", type=float, default=0.2, help="Seconds between polls.")
        parser.add_argument(
            "--worker-id",
            default=default_worker_id(),
            help="This worker's name, the same after a restart and different from every other "
            "running worker's (default: the host's name).",
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            help="Serve the task queue's depth and age for Prometheus on ADDRESS:PORT/metrics.",
        )
        parser.add_argument(
            "--metrics-address",
            default="127.0.0.1",
            help="Where --metrics-port listens (127.0.0.1; 0.0.0.0 on a private network only).",
        )

    def handle(
        self,
        *args,
        batch: bool,
        interval: float,
        worker_id: str,
        metrics_port: int | None,
        metrics_address: str,
        **options,
    ):
        if not batch:  # a long-lived worker; --batch runs inside scripts and tests
            # Background work yields the CPU to requests: a writer waiting on a save matters
            # more than how soon search catches up (it has seconds; the save, milliseconds).
            os.nice(NICENESS)
        if metrics_port:
            monitoring.serve_task_queue(metrics_port, metrics_address)
        worker_id = worker_id[:64]  # db_worker's limit
        worker_args = ["--interval", str(interval), "--no-startup-delay", "--no-reload",
                       "--worker-id", worker_id]  # fmt: skip
        while True:
            try:
                self.catch_up(worker_id)
                call_command("db_worker", *worker_args, *(["--batch"] if batch else []))
                return
            except OperationalError as exc:
                # The database went away (a restart, a failover): db_worker stops on that. Wait,
                # reconnect, catch up on whatever the interrupted task left, and go on.
                self.stderr.write(f"worker: the database is unavailable ({exc}); retrying")
                connections.close_all()
                time.sleep(RETRY_SECONDS)

    def catch_up(self, worker_id: str) -> None:
        if closed := close_orphaned_tasks(worker_id):
            self.stdout.write(f"worker: {closed} tasks this worker was running when it stopped")
        # A row per finished task (one per burst of saves) is history nobody reads after a
        # day: without this the table grows for ever and the queue gauges scan it.
        call_command("prune_db_task_results", "--queue-name", "*", "--min-age-days", "1",
                     verbosity=0)  # fmt: skip
        for receiver, enqueued in worker_starting.send(sender=self.__class__):
            if enqueued:
                self.stdout.write(f"{receiver.__module__}: {enqueued} tasks enqueued to catch up")
