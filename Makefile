# isecom — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA ?= var

.PHONY: run test install lint types contracts pytest browser-deps clean messages

run: install
	$(BIN)/isecom init --data $(DATA)
	$(BIN)/isecom demo --data $(DATA)
	$(BIN)/isecom serve --data $(DATA)

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: install browser-deps deploy-deps lint types contracts pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types:
	$(BIN)/mypy

contracts:
	$(BIN)/lint-imports

# Playwright's sync API keeps an event loop running in the main thread, so the
# browser tests run in a pytest process of their own, after all the others.
pytest:
	$(BIN)/pytest -m "not browser"
	$(BIN)/pytest -m browser

# Debian's chromium drives the browser tests; no test downloads a browser.
browser-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "browser tests need /usr/bin/chromium: run 'sudo apt-get install chromium'" >&2; exit 1; \
	fi

# Debian's nginx runs in front of the application in tests/deploy (unprivileged, high ports).
.PHONY: deploy-deps
deploy-deps:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's nginx for the deployment tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	else \
		echo "deployment tests need nginx: run 'sudo apt-get install nginx'" >&2; exit 1; \
	fi

# Refresh the translation template and catalogs after changing user-visible text.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -o webmail/locale/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i webmail/locale/messages.pot -d webmail/locale --no-fuzzy-matching

# Server-side sign-in throughput and Argon2id in Chromium: see bench/README.md.
.PHONY: bench-auth
bench-auth: install
	$(BIN)/python bench/auth/run.py

# Browser crypto benchmark (Argon2id, attachment MiB/s against OpenPGP.js): see bench/README.md.
.PHONY: bench-crypto
bench-crypto: install
	$(BIN)/python bench/crypto/run.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache

# Key-log look-ups with proof per second at 10^4 and 10^6 leaves, appends/s: see bench/README.md.
.PHONY: bench-keyserver
bench-keyserver: install
	$(BIN)/python bench/keyserver/run.py

# Sends/s with p50/p99 (64 clients, 4 KiB, 3 recipients) and inbox first page p95 at 1k and 100k: see bench/README.md.
.PHONY: bench-mail
bench-mail: install
	$(BIN)/python bench/mail/run.py

# Inbound SMTP: 10 KiB messages over 16 STARTTLS sessions, sealed and committed, messages/s and p99, and Postfix's rate where installed: see bench/README.md.
.PHONY: bench-smtp
bench-smtp: install
	$(BIN)/python bench/smtp/run.py

# Durable sends/s through nginx with one and two application processes on PostgreSQL, and a
# 1 GiB upload's MB/s through nginx and direct (SIZE_MIB=256 for a shorter run): see bench/README.md.
.PHONY: bench-scale
bench-scale: install deploy-deps
	$(BIN)/python bench/scale/run.py $(if $(SIZE_MIB),--upload-mib $(SIZE_MIB))
