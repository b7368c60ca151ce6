# upgrader — developer entry points. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install test unit integration e2e lint clean demo

$(BIN)/upgrader: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/upgrader

# Every tier: unit (pure logic), integration (real files, processes, signals), e2e (the
# installed command). tests/provision.sh starts whatever the tiers need that is not running.
test: install
	bash tests/provision.sh
	$(BIN)/pytest $(PYTEST_ARGS) tests/unit tests/integration tests/e2e

unit: install
	$(BIN)/pytest $(PYTEST_ARGS) tests/unit

integration: install
	$(BIN)/pytest $(PYTEST_ARGS) tests/integration

e2e: install
	bash tests/provision.sh
	$(BIN)/pytest $(PYTEST_ARGS) tests/e2e

# A sample server installed at 1.0.0 and upgraded to 1.1.0 with the live view (see README).
demo: install
	bash tests/provision.sh
	$(BIN)/python tests/rig/demo.py

lint: install
	$(BIN)/ruff check upgrader tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .demo
