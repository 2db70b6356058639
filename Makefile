# Every target runs inside .venv, creating it first when it is missing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test test-fast bench lint clean experts datasets reproduce status adopt tables figures \
	wandb-sync throughput

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

# The main job: every run of a profile (skipping those done, resuming those interrupted), then the
# tables and figures. PROFILE: any in benchmark/protocols/ (smoke, quick, standard, modern, paper, ...). EXECUTOR=ray runs on Ray
# (RAY_ADDRESS joins a cluster). TASKS="cartpole hopper" runs only those tasks of the profile,
# ALGOS="gail bc" only those algorithms.
# Records go to results/runs/ (ignored by git; the suite's own are in results/reference/);
# RUNS=dir keeps them elsewhere. DRY_RUN=1 prints the plan and its estimated cost instead.
PROFILE ?= quick
EXECUTOR ?= local
WORKERS ?=
TASKS ?=
ALGOS ?=
RUNS ?=
reproduce: $(STAMP)
	$(PY) -m benchmark reproduce --profile $(PROFILE) --executor $(EXECUTOR) $(if $(RUNS),--runs $(RUNS)) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(TASKS),--tasks $(TASKS)) \
		$(if $(ALGOS),--algos $(ALGOS)) \
		$(if $(DRY_RUN),--dry-run)

status: $(STAMP)
	$(PY) -m benchmark status --profile $(PROFILE) $(if $(RUNS),--runs $(RUNS))

# From the user's records where there are some for the profile, else from the reference.
# Maintainers: a profile's finished runs of TASKS become the committed reference records
# (each task swapped whole), e.g. make adopt PROFILE=standard TASKS="hopper reacher"
adopt: $(STAMP)
	$(PY) -m benchmark adopt --profile $(PROFILE) --tasks $(TASKS) $(if $(RUNS),--runs $(RUNS))

tables: $(STAMP)
	$(PY) -m benchmark tables --profile $(PROFILE) $(if $(RUNS),--runs $(RUNS))

figures: $(STAMP)
	$(PY) -m benchmark figures --profile $(PROFILE) $(if $(RUNS),--runs $(RUNS))

# Uploads the offline W&B runs, then saves a W&B view per profile and task: normalised return
# and diagnostics against env steps by algorithm and size, Figure 1, tables (needs WANDB_API_KEY
# or `wandb login`). RUNS=dir: those of the records there (WANDB_DIR, where set, holds them).
wandb-sync: $(STAMP)
	$(PY) -m benchmark wandb-sync $(if $(RUNS),--runs $(RUNS))

# Measures this machine's seconds per step: the plan's cost estimates (results/throughput.json).
throughput: $(STAMP)
	$(PY) -m benchmark bench throughput --task all

bench: $(STAMP)
	$(PY) -m pytest tests/bench --benchmark-only --benchmark-columns=min,mean,max,rounds
	$(PY) -m benchmark bench rollout --task Hopper-v5

# Trains (or resumes) the experts the suite makes itself, with their recipes; hours on 2 cores
# for Humanoid. Reacher, Hopper, Walker2d, HalfCheetah and Ant learn from the paper's own experts
# (committed, imported with `expert import-2016`); the suite's own of those five train into
# results/experts-suite: `make experts EXPERT_TASKS=hopper EXPERTS=results/experts-suite`.
EXPERT_TASKS ?= cartpole acrobot mountaincar humanoid
experts: $(STAMP)
	for task in $(EXPERT_TASKS); do \
		$(PY) -m benchmark expert train --task $$task $(if $(EXPERTS),--experts $(EXPERTS)) || exit 1; \
	done

# Resamples every dataset (and random baseline) from the committed experts.
datasets: $(STAMP)
	$(PY) -m benchmark dataset make --task all

lint: $(STAMP)
	$(PY) -m ruff check algorithms benchmark tests
	$(PY) -m ruff format --check algorithms benchmark tests

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
