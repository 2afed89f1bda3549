"""The task worker's start: what each app must catch up on before it takes new work.

A worker killed mid-task leaves that task marked running, and django-tasks-db does not run it
again. Apps connect to :data:`worker_starting` and re-enqueue whatever such a task left undone
(their tasks are idempotent), so restarting the worker is all a crash needs. The rows such a
worker left running are closed as failed when it starts again under the same id, so the queue's
gauges count only tasks a live worker holds.
"""

import socket

from django.dispatch import Signal
from django_tasks_db.models import DBTaskResult

# Sent by `manage.py worker` before it takes the first task; receivers return how many tasks
# they enqueued.
worker_starting = Signal()


class WorkerStopped(Exception):
    """What a task left running by a killed worker is closed with (its work was re-enqueued)."""


def default_worker_id() -> str:
    """The host's name: one worker per host (a container, a machine) keeps its id across
    restarts, which is how it knows the running tasks of its earlier self."""
    return f"worker-{socket.gethostname()}"


def close_orphaned_tasks(worker_id: str) -> int:
    """Mark failed the tasks a worker called ``worker_id`` was running when it stopped: it is
    starting again, so none of them is still running. Returns how many."""
    closed = 0
    for task in DBTaskResult.objects.running():
        if task.worker_ids and task.worker_ids[-1] == worker_id:
            task.set_failed(WorkerStopped(f"{worker_id} stopped while running this task"))
            closed += 1
    return closed
