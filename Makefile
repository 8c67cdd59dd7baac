# Every target sets itself up from scratch on a machine with only Python 3.11, pip and apt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO   := demo-data

.PHONY: help setup browser java pango test demo dashboard report bench clean

help:
	@echo "make demo   generate the demo school and audit its third quarter (outputs/demo-high-2025-26-q3/)"
	@echo "make test   install everything and run the whole test suite"
	@echo "make dashboard  serve the admin dashboard on the demo school (prints the URL with its token)"
	@echo "make bench  measure a 40-school district year against hand-written SQL (benchmarks/results.md)"

setup: $(STAMP)

# uv installs the stack in well under a minute where pip takes several. Bytecode is compiled up front
# because every notebook kernel of an audit imports pandas and Altair afresh. hatchling's editable
# install is a plain path entry (an import hook cost every process ~20 ms).
$(STAMP): pyproject.toml
	$(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(PYTHON) -m uv venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(PYTHON) -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test,spark]'
	rm -f $(VENV)/.installed-* && touch $@

# Debian's Chromium for the browser tests; Playwright never downloads a browser here.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Java for the Spark engine's tests (pip's PySpark brings Spark, not a JVM).
java:
	@command -v java >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

# Pango (and through it fontconfig and a font) for WeasyPrint's report.pdf; pip's WeasyPrint brings no
# system libraries.
pango:
	@/sbin/ldconfig -p | grep -q libpangoft2-1.0 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; }

test: setup browser java pango
	$(BIN)/python -m pytest

# The benchmark's data is generated once (staff.csv is written last) and kept out of git.
BENCH_DATA := benchmarks/data
$(BENCH_DATA)/district/staff.csv: | setup
	$(BIN)/passkit demo-data $(BENCH_DATA)/district --schools 40
$(BENCH_DATA)/school/staff.csv: | setup
	$(BIN)/passkit demo-data $(BENCH_DATA)/school

bench: setup java $(BENCH_DATA)/district/staff.csv $(BENCH_DATA)/school/staff.csv
	$(BIN)/python -m benchmarks.run --data $(BENCH_DATA) --out benchmarks/results.md

$(DEMO)/passes.csv: | setup
	$(BIN)/passkit demo-data $(DEMO)

demo: setup pango $(DEMO)/passes.csv
	$(BIN)/passkit audit parameters/2025-26-q3.yaml

# The admin dashboard on the demo school, on 127.0.0.1:8866; Ctrl-C stops it.
dashboard: setup $(DEMO)/passes.csv
	$(BIN)/passkit dashboard parameters/2025-26.yaml

clean:
	rm -rf $(VENV) $(DEMO) outputs/*/ .pytest_cache
