# The two commands of the README: `make run` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED_TIKTOKEN := $(abspath ../shared/tiktoken-cache)
# Offline tokenizer files: use the shared copies when this checkout sits beside them.
ifneq ($(wildcard $(SHARED_TIKTOKEN)/*),)
export TIKTOKEN_CACHE_DIR ?= $(SHARED_TIKTOKEN)
endif

.PHONY: run test fuzz lint format bench bench-instructions bench-telemetry browser dashboard-image clean

run: $(VENV)/.runtime
	$(BIN)/python -m simulator $(ARGS)

test: $(VENV)/.dev node_modules/.installed browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The full fuzz run of docs/security.md: 10,000 generated requests across every route (make test runs 400).
fuzz: $(VENV)/.dev
	FUZZ_REQUESTS=$${FUZZ_REQUESTS:-10000} $(BIN)/python -m pytest tests/fuzz -q -s $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

# The dashboard's test drives headless Chromium: Debian's package, installed when missing (never a download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the dashboard's browser test"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Refresh docs/images/dashboard.png from the browser test's screenshot, after a minute of load.
dashboard-image: $(VENV)/.dev node_modules/.installed browser
	DASHBOARD_LOAD_SECONDS=60 $(BIN)/python -m pytest tests/telemetry/test_dashboard_browser.py -q
	mkdir -p docs/images && cp test-artifacts/dashboard.png docs/images/dashboard.png

bench: $(VENV)/.dev
	$(BIN)/python -m bench $(ARGS)

bench-instructions: $(VENV)/.dev
	$(BIN)/python -m bench.instructions $(ARGS)

bench-telemetry: $(VENV)/.dev
	$(BIN)/python -m bench.telemetry $(ARGS)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
