# pysocat: `make test` bootstraps everything from a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n 2

.PHONY: all install test lint man man-check bench clean

all: install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,lint,dtls]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

apt-deps:
	@command -v groff >/dev/null || (apt-get update -qq && apt-get install -y -qq groff-base)
	@command -v socat >/dev/null || (apt-get update -qq && apt-get install -y -qq socat) || true

test: $(STAMP) apt-deps man-check
	$(BIN)/python -m pytest -q $(PYTEST_ARGS) tests

lint: $(STAMP)
	$(BIN)/ruff check pysocat tests bench
	$(BIN)/mypy

# Regenerate the man page's generated sections: OPTIONS from the global option
# table (pysocat/cli/globals.py), ADDRESS OPTIONS from the address option table.
man: $(STAMP)
	$(BIN)/python -m pysocat.cli.manpage man/pysocat.1
	$(BIN)/python -m pysocat.options.manpage man/pysocat.1

man-check: $(STAMP) apt-deps
	$(BIN)/python -m pysocat.cli.manpage --check man/pysocat.1
	$(BIN)/python -m pysocat.options.manpage --check man/pysocat.1
	@out=$$(LC_ALL=C.UTF-8 MANWIDTH=80 groff -man -ww -z -Tutf8 man/pysocat.1 2>&1); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; echo "man page: no groff warnings"

bench: $(STAMP)
	@command -v socat >/dev/null || apt-get install -y socat
	@command -v rinetd >/dev/null || test -x /usr/sbin/rinetd || (apt-get update -qq && apt-get install -y -qq rinetd) \
		|| echo "rinetd could not be installed: the bench leaves its column out"
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
