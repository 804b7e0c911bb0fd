.PHONY: setup demo test bench

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/clipfactory process --sample

test: setup
	.venv/bin/python -m pytest -q

bench: setup
	.venv/bin/python bench/bench_pipeline.py
