"""The task worker's start: what each app must catch up on before it takes new work.

A worker killed mid-task leaves that task marked running, and django-tasks-db does not run it
again. Apps connect to :data:`worker_starting` and re-enqueue whatever such a task left undone
(their tasks are idempotent), so restarting the worker is all a crash needs.
"""

from django.dispatch import Signal

# Sent by `manage.py worker` before it takes the first task; receivers return how many tasks
# they enqueued.
worker_starting = Signal()
