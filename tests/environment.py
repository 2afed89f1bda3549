"""Loaded with ``-p tests.environment`` (pyproject's addopts), before pytest-django reads the
settings: the environment every test run starts from."""

import os

# Tasks run inside the request that enqueues them, so a save is findable as soon as it answers;
# tests/test_tasks.py runs the database backend and its worker on purpose.
os.environ.setdefault("TASKS_BACKEND", "immediate")
