# Every target sets itself up from scratch on a machine with only Python 3.11, pip and apt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO   := demo-data

.PHONY: help setup browser test demo report bench clean

help:
	@echo "make demo   generate the demo school and audit its third quarter (outputs/demo-high-2025-26-q3/)"
	@echo "make test   install everything and run the whole test suite"

setup: $(STAMP)

# uv installs the stack in well under a minute where pip takes several. Bytecode is compiled up front
# because every notebook kernel of an audit imports pandas and Altair afresh.
$(STAMP): pyproject.toml
	$(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(PYTHON) -m uv venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(PYTHON) -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

# Debian's Chromium for the browser tests; Playwright never downloads a browser here.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	$(BIN)/python -m pytest

$(DEMO)/passes.csv: | setup
	$(BIN)/passkit demo-data $(DEMO)

demo: setup $(DEMO)/passes.csv
	$(BIN)/passkit audit parameters/2025-26-q3.yaml

clean:
	rm -rf $(VENV) $(DEMO) outputs/*/ .pytest_cache
