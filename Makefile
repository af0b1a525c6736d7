# Two commands: `make lab` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The pinned CPU build; an unpinned torch would pull several GB of CUDA packages.
TORCH := torch==2.13.0
JOBS ?= 2

.PHONY: lab test test-fast lint notebooks-clean clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pip install --quiet -e ".[dev,cluster]"
	touch $(STAMP)

## Create .venv if needed and open JupyterLab on the landing notebook.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/index.ipynb

## The whole suite: unit tests, every notebook in quick mode (nbmake), browser tests.
## The browser tests run second, on their own: beside the training notebooks' worker
## processes Chromium got too little CPU to render (CI ran out of its 600 s per notebook).
## Both parts always run; the target fails if either did.
test: $(STAMP)
	DYNALENS_QUICK=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile \
		--nbmake --nbmake-timeout=600 --durations=15 -m "not browser" \
		tests notebooks tutorials; first=$$?; \
	DYNALENS_QUICK=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile \
		--durations=8 -m browser tests/browser; second=$$?; \
	exit $$(( first || second ))

## Unit tests only, skipping notebooks and the browser (for quick local iterations).
test-fast: $(STAMP)
	DYNALENS_QUICK=1 $(BIN)/python -m pytest -n $(JOBS) -m "not browser and not slow" tests

lint: $(STAMP)
	$(BIN)/ruff check toolkit tests benchmarks scripts

## Strip outputs and widget state from every notebook (run before committing).
notebooks-clean: $(STAMP)
	$(BIN)/python scripts/notebook_source.py --strip notebooks/*.ipynb tutorials/*.ipynb

clean-venv:
	rm -rf $(VENV)
