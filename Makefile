# Vault Console: `make run` and `make test` are the two set-up commands (README).
# Both create/refresh .venv themselves; only Python 3.11, git, make and apt are assumed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
CHROMIUM := /usr/bin/chromium
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: run test lint browser bench clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,postgres]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/flask --app app bootstrap
	PORT=$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py 'app:create_app()'

# Debian's chromium for the Playwright tests (Playwright's own download is not used).
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core

browser: $(CHROMIUM)

lint: $(BIN)/.installed
	$(BIN)/ruff check app tests bench scripts
	$(BIN)/ruff format --check app tests bench scripts

test: $(BIN)/.installed $(CHROMIUM) lint
	$(BIN)/pytest -n auto

bench: $(BIN)/.installed
	$(BIN)/python bench/list_page.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
