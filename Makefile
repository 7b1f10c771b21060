# spectral-nb: `make book` builds the book, `make test` tests it, `make lab` opens it.
# Everything runs in a project-local virtual environment .venv/, made with the machine's python3.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Quiet TensorFlow's C++ logging in every process the targets start (kernels inherit it).
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0

.PHONY: venv book book-quick test lab lab-quick app benchmarks clean-generated

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v=sys.version_info[:2]; assert (3,10) <= v <= (3,13), f"need python3 3.10 to 3.13 (TensorFlow 2.21), found {v[0]}.{v[1]}; run: make PYTHON=python3.12"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

## book: execute every chapter in full mode, store outputs in notebooks/, model in OutputModel/
book: venv
	$(PY) -m spectral_nb book

## book-quick: the same in quick mode (executed copies go to OutputModel/quick/book/)
book-quick: venv
	$(PY) -m spectral_nb book --quick

## test: unit tests, then every notebook re-executed under nbval in quick mode. Strict about skips: only
## the real-data tests may skip (SPECTRAL_NB_STRICT_SKIPS=0 lets a missing browser skip too)
test: venv
	SPECTRAL_NB_QUICK=1 SPECTRAL_NB_STRICT_SKIPS=$${SPECTRAL_NB_STRICT_SKIPS:-1} $(PY) -m pytest

## app: the model as a web page (Voila on app/classify.ipynb, http://127.0.0.1:8866; run `make book` first)
app: venv
	$(PY) -m voila app/classify.ipynb --no-browser --Voila.ip=127.0.0.1 --port=8866

## lab: JupyterLab on notebooks/ (full mode: run `make book` first)
lab: venv
	$(VENV)/bin/jupyter lab notebooks/

## lab-quick: JupyterLab in quick mode (small data, minutes: run `make book-quick` first)
lab-quick: venv
	SPECTRAL_NB_QUICK=1 $(VENV)/bin/jupyter lab notebooks/

## benchmarks: the exact runs behind every results file the README quotes (benchmarks/runs.py; hours on
## 2 cores, most of it training; run `make book` first, and set SPECTRAL_NB_REALDATA for the real-data ones)
benchmarks: venv
	$(PY) benchmarks/runs.py
