# Everything runs from a virtualenv this Makefile makes itself: a fresh machine needs only
# Python 3.11 or newer, git and make.
#
# The newest python3.X >= 3.11 on PATH, or PYTHON=/path/to/python when given. Each candidate
# is run, not only looked up: a pyenv shim exists for every version pyenv knows and fails
# when that version is not selected.
PYTHON_CANDIDATES := python3.13 python3.12 python3.11 python3
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in $(PYTHON_CANDIDATES); do \
  if $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then \
  echo $$p; break; fi; done)
endif
# Expanded only when the virtualenv is made (so `make clean` needs no Python).
PYTHON_OK = $(if $(PYTHON),$(shell $(PYTHON) -c \
  'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo yes))
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: test test-oldest demo lint bench clean install system-deps schemas

$(STAMP): pyproject.toml
	$(if $(PYTHON_OK),,$(error no Python 3.11 or newer (tried $(or $(PYTHON),$(PYTHON_CANDIDATES))): install one, or run make PYTHON=/path/to/python3.X))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Headless Chromium renders the HTML audit report in its test. Installed when we are root
# on a Debian-like machine; elsewhere that one test skips and says why.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (for the HTML report test)"; \
	    apt-get update -qq >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium not found: the HTML report test will skip (apt-get install chromium)"; \
	  fi; \
	fi

# The CI templates and the action against the schemas GitHub and GitLab publish (copies
# vendored in check-jsonschema: no network).
schemas: $(STAMP)
	$(BIN)/check-jsonschema --no-cache --builtin-schema vendor.github-workflows templates/ci/github/*.yml
	$(BIN)/check-jsonschema --no-cache --builtin-schema vendor.gitlab-ci templates/ci/gitlab/*.yml
	$(BIN)/check-jsonschema --no-cache --builtin-schema vendor.github-actions action.yml

test: $(STAMP) system-deps
	$(BIN)/ruff check src tests benchmarks demo
	@$(MAKE) --no-print-directory schemas
	@$(MAKE) --no-print-directory test-oldest
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The suite runs on the newest Python above and, when that is newer than 3.11 and a
# python3.11 is on PATH too, once more on 3.11, the oldest archivist supports. Run first so
# that the main run's summary is the last thing `make test` prints.
OLDEST := python3.11
OLDEST_VENV := .venv-3.11
test-oldest: $(STAMP)
	@if $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] <= (3, 11))' && \
	    $(OLDEST) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; then \
	  echo "== the suite on $$($(OLDEST) --version), then on $$($(BIN)/python --version)"; \
	  if [ ! -f $(OLDEST_VENV)/.installed ]; then \
	    $(OLDEST) -m venv $(OLDEST_VENV) && \
	    $(OLDEST_VENV)/bin/python -m pip install --quiet --upgrade pip && \
	    $(OLDEST_VENV)/bin/python -m pip install --quiet -e '.[test]' && \
	    touch $(OLDEST_VENV)/.installed || exit 1; \
	  fi; \
	  PATH="$(CURDIR)/$(OLDEST_VENV)/bin:$$PATH" $(OLDEST_VENV)/bin/python -m pytest -q $(PYTEST_ARGS) || exit 1; \
	else \
	  echo "== the suite on $$($(BIN)/python --version) (no second supported Python on PATH)"; \
	fi

demo: $(STAMP)
	$(BIN)/python demo/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks demo

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(OLDEST_VENV) build dist .pytest_cache .ruff_cache
