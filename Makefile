# allelekit developer entry points.  `make demo` and `make test` are the README's two set-up commands.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.allelekit-installed

.PHONY: install demo test clean-demo docs

install: $(STAMP)

# torch is pinned to the CPU build that the machines carry (a plain `torch` pulls GBs of CUDA wheels)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q 'torch==2.13.0'
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo.sh results

test: install
	NUMBA_CACHE_DIR="$(CURDIR)/.cache/numba" $(PY) -m pytest -q

docs: install
	$(PY) -m allelekit.schemas > docs/schemas.md

clean-demo:
	rm -rf results
