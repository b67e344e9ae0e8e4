# Quick start: `make demo` (install + run the embedded demo), `make test` (install + run the tests).
# `make docs` builds the site (docs/, mkdocs.yml) into site/, strictly: a broken link or include fails it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test lint docs install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# One stamp per set of extras, so a second `make` does not reinstall.
$(VENV)/.stamp-demo: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e '.[torch,demo,report]'
	touch $@

$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e '.[torch,demo,report,openvino,dev]'
	touch $@ $(VENV)/.stamp-demo

$(VENV)/.stamp-docs: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e '.[docs]'
	touch $@

install: $(VENV)/.stamp-demo

demo: $(VENV)/.stamp-demo
	$(BIN)/zoobench demo -o demo-run

# Branch coverage of src/zoobench (docs/development.md says how to read it): the run fails below COV_FLOOR, and
# unless every line and branch of the TensorRT session ran (against the stand-ins in tests/runtimes/trt_fake.py).
# The tests run on TEST_WORKERS pytest-xdist workers (measured on 2 cores: benchmarks/RESULTS.md); --dist loadfile
# keeps each file's tests on one worker, so a module fixture is made once.
COV_FLOOR ?= 88.5
TEST_WORKERS ?= 3
# mypy runs beside pytest (a cold cache takes ~10 s of one core); its output is printed after pytest's, and either
# failing fails the target. The suite starts ~150 Python processes that import zoobench (CLI runs, LoadGen children,
# decode and Ray workers): it keeps their compiled bytecode (the usual, gitignored __pycache__) even where
# PYTHONDONTWRITEBYTECODE is set, which otherwise recompiles zoobench in each and pytest's rewritten test modules
# in each worker.
test: export PYTHONDONTWRITEBYTECODE :=
test: $(VENV)/.stamp-test
	$(BIN)/ruff check src tests benchmarks
	@$(BIN)/mypy src/zoobench > $(VENV)/mypy.log 2>&1 & mypy=$$!; \
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15 --cov=zoobench --cov-branch \
		--cov-report=term:skip-covered --cov-fail-under=$(COV_FLOOR) || rc=$$?; \
	wait $$mypy || rc_mypy=$$?; echo "mypy src/zoobench:"; cat $(VENV)/mypy.log; \
	[ -z "$$rc_mypy" ] || { echo "make test: mypy failed" >&2; exit 1; }; exit $${rc:-0}
	$(BIN)/coverage report --include='*/zoobench/runtimes/tensorrt.py' --fail-under=100 --show-missing

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/zoobench

docs: $(VENV)/.stamp-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) demo-run site .pytest_cache .ruff_cache .mypy_cache .coverage htmlcov
