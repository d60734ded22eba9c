# sqjz: `make demo` runs the whole system, `make test` runs every check. Both set up first.
.PHONY: setup demo test lint typecheck pytest bench vectors fuzz

setup:
	@./.ci/setup

demo: setup
	.venv/bin/sqjz demo

test: setup lint typecheck pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy

pytest:
	.venv/bin/pytest

bench: setup
	.venv/bin/sqjz bench

vectors: setup
	.venv/bin/python -m protocol.gen_vectors

fuzz: setup
	.venv/bin/pip install -q atheris
	.venv/bin/python tests/fuzz/fuzz_frame.py -atheris_runs=1000000 -print_final_stats=1 build/fuzz-corpus
