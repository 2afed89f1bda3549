"""``manage.py worker``: catch up on what a killed worker left, then run tasks (db_worker)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.core.worker import worker_starting


class Command(BaseCommand):
    help = "Run background tasks (django-tasks-db's db_worker) after catching up on any lost."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then exit.")
        parser.add_argument("--interval", type=float, default=0.2, help="Seconds between polls.")

    def handle(self, *args, batch: bool, interval: float, **options):
        for receiver, enqueued in worker_starting.send(sender=self.__class__):
            if enqueued:
                self.stdout.write(f"{receiver.__module__}: {enqueued} tasks enqueued to catch up")
        worker_args = ["--interval", str(interval), "--no-startup-delay", "--no-reload"]
        call_command("db_worker", *worker_args, *(["--batch"] if batch else []))
