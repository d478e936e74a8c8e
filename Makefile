# Set-up and entry points. Everything installs into project-local virtual environments:
#   .venv          the platform (pulumi SDKs, kfp, feast, torch CPU) and the test tools
#   .venv-checkov  a current Checkov, which cannot share .venv (it pins packaging<24, pulumi needs >=26)
#   .venv-policy   the CrossGuard policy pack's runtime (pulumi-policy pins protobuf 5, kfp needs 6)
#   .venv-cel      cel-python, which evaluates the admission policies' CEL in tests (it needs python-dateutil 4,
#                  botocore pins <3)
PYTHON ?= python3
VENV := .venv
PIP_FLAGS ?= --disable-pip-version-check -q

# Debian packages the integration tests start on loopback (Redis, PostgreSQL, sshd) or run (shellcheck, gpg, unshare/ip for the throw-away SSH hosts).
SYSTEM_PACKAGES := redis-server postgresql openssh-server openssh-client shellcheck gpg iproute2 procps

.PHONY: setup system-packages local lint test test-fast preview bench clean help

help:
	@echo "make local      set up, then run the embedded local default (mlops local)"
	@echo "make test       set up, then run the whole test suite"
	@echo "make test-fast  the quick tests only (no end-to-end runs)"
	@echo "make lint       ruff (lint and format check) and mypy; make test runs it first"
	@echo "make preview    offline preview of every stack"
	@echo "make bench      print the speed figures (benchmarks/)"

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11+ is required")'
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv'"; exit 1; }
	$(VENV)/bin/pip install $(PIP_FLAGS) -c constraints.txt -e '.[infra,pipelines,dev]'
	@touch $@

.venv-checkov/.installed: policies/requirements-checkov.lock
	@$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install $(PIP_FLAGS) -r policies/requirements-checkov.lock
	@touch $@

.venv-policy/.installed: policies/pack/requirements.txt pyproject.toml
	@$(PYTHON) -m venv .venv-policy
	.venv-policy/bin/pip install $(PIP_FLAGS) -r policies/pack/requirements.txt
	.venv-policy/bin/pip install $(PIP_FLAGS) --no-deps -e .
	@touch $@

.venv-cel/.installed: tests/requirements-cel.txt
	@$(PYTHON) -m venv .venv-cel
	.venv-cel/bin/pip install $(PIP_FLAGS) -r tests/requirements-cel.txt
	@touch $@

setup: $(VENV)/.installed .venv-checkov/.installed .venv-policy/.installed .venv-cel/.installed

system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  command -v apt-get >/dev/null || { echo "the tests need these Debian packages:$$missing"; exit 1; }; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing$$missing"; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	fi

local: setup
	$(VENV)/bin/mlops local

# The versions are pinned in the dev extra (constraints.txt); settings in pyproject.toml ([tool.ruff], [tool.mypy]).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# MLOPS_REQUIRE_VENVS=1: a test needing .venv-checkov or .venv-policy fails where it is missing (tests/venvs.py).
test: setup system-packages lint
	MLOPS_REQUIRE_VENVS=1 $(VENV)/bin/pytest

test-fast: setup lint
	MLOPS_REQUIRE_VENVS=1 $(VENV)/bin/pytest -m "not slow"

preview: $(VENV)/.installed
	$(VENV)/bin/mlops preview --all --no-tree

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .venv-checkov .venv-policy .venv-cel .local-run build *.egg-info
