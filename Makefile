# Every target sets itself up from scratch on a machine with only Python 3.11, pip and apt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO   := demo-data

.PHONY: help setup browser test demo report bench clean

help:
	@echo "make demo   generate the demo school and report on its third quarter"
	@echo "make test   install everything and run the whole test suite"

setup: $(STAMP)

# uv installs the stack in well under a minute where pip takes several.
$(STAMP): pyproject.toml
	$(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(PYTHON) -m uv venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(PYTHON) -m uv pip install --quiet --python $(BIN)/python -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

# Debian's Chromium for the browser tests; Playwright never downloads a browser here.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	$(BIN)/python -m pytest

$(DEMO)/passes.csv: | setup
	$(BIN)/passkit demo-data $(DEMO)

demo: setup $(DEMO)/passes.csv
	$(BIN)/passkit report --data $(DEMO) --start 2026-01-05 --end 2026-03-27 --out outputs/demo-q3

clean:
	rm -rf $(VENV) $(DEMO) outputs/*/ .pytest_cache
