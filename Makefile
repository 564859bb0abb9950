# The operator's entry points. Everything runs from .venv, made on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: run test bench install clean-data messages compile-messages

$(STAMP): pyproject.toml requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.txt -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/helpdesk run --demo

test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean-data:
	rm -rf var

# Translators: `make messages` collects every _(), ngettext() and N_() of the
# sources into translations/messages.pot and merges it into each catalog's .po
# (new strings arrive empty, changed ones fuzzy); translate them, then
# `make compile-messages` builds the .mo the portal and mail read. The .mo is
# committed, so every install path works without a build step.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-wrap --sort-by-file --project=helpdesk --version=0.1.0 \
		-o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-wrap --ignore-obsolete

compile-messages: $(STAMP)
	$(BIN)/pybabel compile -d translations --statistics
