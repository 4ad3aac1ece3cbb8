# cat4: two commands do all set-up on a machine with Python 3.11 and make.
#   make run    set up, start PostgreSQL + Redis (embedded unless DATABASE_URL / REDIS_URL
#               are set), migrate, load demo data, run web + Celery worker + beat
#   make test   the same set-up, then the whole test suite
#   make bench  reference-scale tenant + benchmark in database cat4_bench (docs/benchmarks.md);
#               BENCH_ARGS="generate --reset" or BENCH_ARGS="run --repeat 9" for one step

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m cat4.devservers run

# One pytest-xdist worker per core, each file's tests on one worker (they share the
# personas built once per module); XDIST= runs the suite in one process.
XDIST ?= -n auto --dist loadfile

test: $(STAMP)
	$(BIN)/python -m cat4.devservers test $(XDIST) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m cat4.devservers bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) staticfiles
