# Every target runs inside .venv, creating it first when it is missing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test test-fast bench lint clean experts datasets

setup: $(STAMP)

# Idempotent: reinstalls only when pyproject.toml changes. torch is pinned to the CPU build
# that ships on this machine image (other versions download gigabytes).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,minari]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest --benchmark-skip

test-fast: $(STAMP)
	$(PY) -m pytest --benchmark-skip -m "not slow"

bench: $(STAMP)
	$(PY) -m pytest tests/bench --benchmark-only --benchmark-columns=min,mean,max,rounds
	$(PY) -m benchmark bench rollout --task Hopper-v5

# Trains (or resumes) every task's expert with its recipe; hours on 2 cores for the MuJoCo ones.
EXPERT_TASKS ?= cartpole acrobot mountaincar reacher hopper halfcheetah walker ant humanoid
experts: $(STAMP)
	for task in $(EXPERT_TASKS); do $(PY) -m benchmark expert train --task $$task || exit 1; done

# Resamples every dataset (and random baseline) from the committed experts.
datasets: $(STAMP)
	$(PY) -m benchmark dataset make --task all

lint: $(STAMP)
	$(PY) -m ruff check algorithms benchmark tests

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
