# The two commands of the README: `make run` serves the dashboard, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	VENV_BIN=$(VENV)/bin ./scripts/serve.sh

test: $(STAMP)
	VENV_BIN=$(VENV)/bin ./scripts/test.sh
