# One-command set-up: every target that needs Python creates .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export BENTOML_DO_NOT_TRACK := True
export TOKENIZERS_PARALLELISM := false
SHARED ?= ../shared

.PHONY: venv demo test lint eval data train bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: this machine holds its CPU build; anything looser pulls CUDA.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,dask]"
	touch $(STAMP)

demo: venv
	$(BIN)/linkq score data/sample/links.jsonl --pages data/sample/pages --out demo-scored.csv --show

test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .

# Rebuild everything derived from ../shared: the source-knowledge lists (Majestic top 15k, Wikipedia
# reliability; shipped in features/resources with ATTRIBUTION.md), the placement model (deterministic, shipped in
# features/resources) with its out-of-fold predictions, then the labelled training table.
data: venv
	$(BIN)/python -m training.build_domain_resources --shared $(SHARED)
	$(BIN)/python -m training.train_placement --shared $(SHARED)
	$(BIN)/python -m training.build_dataset --shared $(SHARED) --out data/build

train: venv
	$(BIN)/linkq train --data data/build/links.parquet --model-id linkq-default-v1 --set-current

# Quality gate on ../shared (needs it): the score on real exports against the expert panel, placement
# out-of-fold per corpus, then the shipped model on the corpora's held-out sites; each fails on a
# pinned floor. Builds the training table first if missing (~4 min).
eval: venv
	$(BIN)/python -m training.eval_panel --shared $(SHARED) --json data/build/panel_eval.json --floors data/panel_floors.json
	$(BIN)/python -m training.train_placement --shared $(SHARED) --eval-only --floors data/placement_floors.json
	test -f data/build/links.parquet || $(MAKE) data
	$(BIN)/linkq evaluate data/build --check-floors --json data/build/eval.json

bench: venv
	$(BIN)/python bench/bench_features.py

clean:
	rm -rf $(VENV) .pytest_cache demo-scored.csv
