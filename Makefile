.PHONY: setup demo lint test test-fast lock bench

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/clipfactory process --sample

# ruff and mypy (their rules in pyproject.toml; the import contract runs in the tests).
lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy

test: lint
	.venv/bin/python -m pytest -q

# While working: pure functions and small media, no pipelines in subprocesses, no bot
# round trips, no PostgreSQL (about 2 minutes on 2 cores). Tests marked slow are left out.
test-fast: setup
	.venv/bin/python -m pytest -q -m "not slow"

# constraints.txt from .venv, the environment the tests passed in (scripts/lock.py).
lock:
	.venv/bin/python scripts/lock.py

bench: setup
	.venv/bin/python bench/bench_pipeline.py
