# Vault Console: `make run` and `make test` are the two set-up commands (README).
# Both create/refresh .venv themselves; only Python 3.11, git, make and apt are assumed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
CHROMIUM := /usr/bin/chromium
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: run test test-packages lint browser bench mutation clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,postgres]'
	touch $@

# One short line per request in the terminal; the JSON log goes to instance/console.log
# (README, Operating). VAULT_CONSOLE_LOG_FORMAT=json make run keeps JSON on the terminal.
run: export VAULT_CONSOLE_LOG_FORMAT ?= text
run: $(BIN)/.installed
	$(BIN)/flask --app app bootstrap
	PORT=$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py 'app:create_app()'

# (env: sudo would drop DEBIAN_FRONTEND from its environment)
APT_INSTALL = $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
CHROMIUM_PACKAGES := chromium fonts-dejavu-core
# Debian's PostgreSQL server; the major version differs between releases, hence the glob.
# tests/postgres.py runs its own throwaway cluster on a free port; the cluster the package
# may create and start on 5432 is not used.
PG_CTL = $(wildcard /usr/lib/postgresql/*/bin/pg_ctl)
# what `make test` still has to install (empty when everything is there: no apt at all)
TEST_PACKAGES = $(strip $(if $(wildcard $(CHROMIUM)),,$(CHROMIUM_PACKAGES)) \
                        $(if $(PG_CTL),,postgresql))

# Debian's chromium for the Playwright tests (Playwright's own download is not used).
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(APT_INSTALL) $(CHROMIUM_PACKAGES)

browser: $(CHROMIUM)

# chromium and PostgreSQL for the test suite, with a single apt-get update when any is missing
test-packages:
ifneq ($(TEST_PACKAGES),)
	$(SUDO) apt-get update -qq
	$(APT_INSTALL) $(TEST_PACKAGES)
endif
	@test -x $(CHROMIUM) || { echo "make: $(CHROMIUM) missing after installing chromium" >&2; exit 1; }
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || \
	  { echo "make: no /usr/lib/postgresql/*/bin/pg_ctl after installing postgresql" >&2; exit 1; }

# mypy: configured in pyproject.toml ([tool.mypy]: all of app/, strict where it says)
lint: $(BIN)/.installed
	$(BIN)/ruff check app tests bench scripts
	$(BIN)/ruff format --check app tests bench scripts
	$(BIN)/mypy

test: $(BIN)/.installed test-packages lint
	$(BIN)/pytest -n auto

bench: $(BIN)/.installed
	$(BIN)/python bench/list_page.py

# Mutation testing of the security-critical modules (on demand; about 20 min on 2 cores).
mutation: $(BIN)/.installed
	$(BIN)/python scripts/mutation.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
