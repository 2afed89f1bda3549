"""Benchmarks of MLSD Handbook as it runs in production. ``python -m bench``: see README.md."""
