# Two commands: `make run` (set up and serve the app on the embedded default) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The CPU build of torch; it lies on this machine's disk (pip find-links). Elsewhere:
#   PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make install
TORCH_CPU := torch==2.13.0+cpu
TORCH_CUDA_INDEX ?= https://download.pytorch.org/whl/cu128
STAMP := $(VENV)/.installed
export PYTHONUNBUFFERED := 1

.PHONY: install install-gpu frontend bids-validator chromium run test test-fast bench lint format clean

$(PY):
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# Reinstall only when the dependency declarations change.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH_CPU)"
	$(PIP) install --quiet -e ".[dev]"
	touch $(STAMP)

frontend/node_modules/.package-lock.json: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

frontend/dist/app.js: frontend/node_modules/.package-lock.json $(shell find frontend/src -type f) frontend/build.mjs
	cd frontend && npm run build

frontend: frontend/dist/app.js

# The BIDS validator the export tests run (Node; test-only, so not part of `install`).
tools/bids-validator/node_modules/.package-lock.json: tools/bids-validator/package.json tools/bids-validator/package-lock.json
	cd tools/bids-validator && npm ci --no-audit --no-fund --ignore-scripts

bids-validator: tools/bids-validator/node_modules/.package-lock.json

install: $(STAMP) frontend

# Browser tests use Debian's Chromium (never a browser downloaded by Playwright).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; \
	  else echo "Browser tests need Chromium: sudo apt-get install chromium"; exit 1; fi; }

# GPU workers: the CUDA build of torch, same version series.
install-gpu: install
	$(PIP) install --upgrade --index-url $(TORCH_CUDA_INDEX) "torch==2.13.0"

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py serve --addrport 127.0.0.1:8000

test: install chromium bids-validator
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not integration and not browser"

bench: install
	@for f in tests/benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var staticfiles frontend/dist
