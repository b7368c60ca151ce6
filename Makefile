# upgrader — developer entry points. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install install-system test unit integration e2e lint clean demo validators bench reliability collection

$(BIN)/upgrader: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/upgrader

# A production install, where `pip install .` is refused (Debian 12, Ubuntu 24.04: the system
# Python is "externally-managed-environment", PEP 668): a venv in $(PREFIX) made (or updated)
# from this checkout, upgrader installed into it as a copy (not editable: the checkout may go),
# and $(BINDIR)/upgrader a link to its command. As root: sudo make install-system (needs
# python3-venv). Run it again after a git pull to update. PIP_ARGS: more pip options (an index, a
# wheel folder).
PREFIX ?= /opt/upgrader
BINDIR ?= /usr/local/bin
PIP_ARGS ?=
install-system:
	$(PYTHON) -m venv $(PREFIX)
	$(PREFIX)/bin/python -m pip install --quiet --disable-pip-version-check $(PIP_ARGS) .
	mkdir -p $(BINDIR)
	ln -sfn $(PREFIX)/bin/upgrader $(BINDIR)/upgrader
	@echo "$(BINDIR)/upgrader → $(PREFIX)/bin/upgrader: $$($(BINDIR)/upgrader --version)"

# Every tier: unit (pure logic), integration (real files, processes, signals), e2e (the
# installed command), then the short form of the reliability suite and the bad-input corpus.
# tests/provision.sh starts whatever the tiers need that is not running.
test: install
	bash tests/provision.sh
	$(BIN)/pytest $(PYTEST_ARGS) tests/unit tests/integration tests/e2e
	$(BIN)/pytest $(PYTEST_ARGS) -m "not slow" tests/reliability tests/corpus

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

# Regenerate upgrader/_validators/ after changing a JSON Schema (tests fail while they are stale).
validators: install
	$(BIN)/python -c "from pathlib import Path; from upgrader.validation import generate; generate(Path('upgrader/_validators'))"

lint: install
	$(BIN)/ruff check upgrader tests benchmarks ansible
	$(BIN)/mypy

# The Ansible collection upgrader.fleet (docs/fleet.md): ansible-lint on it (--offline: it neither
# installs the collection nor fetches anything), then ansible-galaxy builds
# dist/upgrader-fleet-<version>.tar.gz from the repository, ready for ansible-galaxy collection install.
COLLECTION = ansible/ansible_collections/upgrader/fleet
collection: install
	cd $(COLLECTION) && ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/ansible $(abspath $(BIN))/ansible-lint --offline --project-dir .
	mkdir -p dist
	$(BIN)/ansible-galaxy collection build --force --output-path dist $(COLLECTION)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .demo

# The benchmark suite (issue 7): downtime (also with a 1 GiB data snapshot), cron no-op cost, download,
# pull, engine overhead on the real rig; writes docs/performance.md (about 20 minutes).
# BENCH_ARGS=--quick for a short development run; BENCH_ARGS=--snapshot measures HEAD (git archive)
# instead of a working tree being edited.
# Its own registry port, so that it never touches the test suite's registry on :5000.
BENCH_ARGS ?=
bench: install
	bash tests/provision.sh
	UPGRADER_RIG_REGISTRY=$${UPGRADER_RIG_REGISTRY:-127.0.0.1:5001} \
	UPGRADER_BENCH_COMMAND="make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" \
		$(BIN)/python -m benchmarks $(BENCH_ARGS)

# The reliability suite (tests/reliability, tests/corpus; see docs/reliability.md): the whole
# fault-injection matrix on the real rig, concurrency, secrets and permissions, the bad-input corpus
# with state files damaged at every byte, 600 fuzz examples per loader. Writes docs/reliability.md
# (generated: the table of cases, the counts, the invariant checked). About 30 minutes; it restarts
# the Docker Engine once when no other project's containers run. `make test` runs its short form
# (pytest -m "not slow" tests/reliability tests/corpus).
reliability: install
	bash tests/provision.sh
	RELIABILITY_FUZZ_EXAMPLES=600 $(BIN)/pytest $(PYTEST_ARGS) -p tests.reliability.report \
		--reliability-report docs/reliability.md tests/reliability tests/corpus
