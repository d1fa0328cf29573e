# The two set-up commands of the README: `make demo` and `make test`.
# Both create .venv, install trustscan into it and make sure nmap is there.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench nmap clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

nmap:
	@command -v nmap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing nmap with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nmap >/dev/null; \
	  else \
	    echo "trustscan needs nmap: run 'sudo apt-get install nmap' (macOS: 'brew install nmap') and try again" >&2; \
	    exit 2; \
	  fi; }

demo: $(STAMP) nmap
	$(BIN)/python -m fixtures.lab.demo --html demo-report.html --json demo-result.json

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: $(STAMP) nmap lint
	$(BIN)/pytest

bench: $(STAMP) nmap
	$(BIN)/python -m bench.scan_vs_nmap

clean:
	rm -rf $(VENV) demo-report.html demo-result.json .mypy_cache .pytest_cache .ruff_cache
