# Every target installs what it needs into .venv, so it works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
USER_STAMP := $(VENV)/.installed-user-stamp

SUDO := $(shell test "$$(id -u)" -eq 0 || echo sudo)
# JupyterLab refuses to run as root unless told (containers and CI often are root)
ALLOW_ROOT := $(shell test "$$(id -u)" -eq 0 && echo --allow-root)

.PHONY: install demo test lint format bench examples course clean chromium graphviz

# what a user needs (chainrule and its optional extras) ...
$(USER_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(USER_STAMP)

# ... and what a developer needs on top: the test and lint tools, PyTorch for parity tests
$(STAMP): $(USER_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[all,test,dev,course]'
	touch $(STAMP)

install: $(USER_STAMP)

# The main job: train an MLP on the 8x8 handwritten digits with digits' defaults (--hidden 128
# --epochs 40 --lr 0.002, see `chainrule datasets`); the run folder gets the model, history,
# metrics and plots.
demo: $(USER_STAMP)
	$(BIN)/chainrule train --data digits --seed 0 --out runs/digits

# Browser tests drive Debian's Chromium through Playwright (its own browser download cannot
# work offline); install it when it is missing.
chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

# viz.graph draws SVG with Graphviz's `dot` (without it, DOT text only); the SVG test needs it.
graphviz:
	@command -v dot >/dev/null || { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y graphviz; }

# The CI gate (.ci/run calls only this): lint, formatting, types and the import floors
# (pyproject's [tool.importlinter], drawn in docs/architecture.md) before the tests.
test: lint chromium graphviz
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples course scripts
	$(BIN)/ruff format --check src tests benchmarks examples course scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks examples course scripts
	$(BIN)/ruff format src tests benchmarks examples course scripts

# The speed suite: every contender on every workload, side by side, three runs; updates the
# README table. JAX is a bench-only extra (also in test, for the quick suite's test).
# Some machines fix OpenBLAS's kernels (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) for old OpenBLAS
# builds; a current NumPy then runs slower ones (Haswell's on a Zen 5: half the matmul rate).
# The bench unsets both for its own commands, as a user's machine would have them, and
# records the kernels that ran (benchmarks/machine.py). Tests and CI leave them as they are.
BENCH_ENV := env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[all,test,dev,bench]'
	$(BENCH_ENV) $(BIN)/python -m benchmarks.run --runs 3
	$(BENCH_ENV) $(BIN)/python -m benchmarks.playground_load
	$(BENCH_ENV) $(BIN)/python -m benchmarks.distributed

# The lecture notebooks: install JupyterLab (the course extra), rebuild the notebooks from
# course/sources/ and open the first one. JupyterLab serves on 127.0.0.1 only.
course: $(USER_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[all,course]'
	$(BIN)/python course/build.py
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(ALLOW_ROOT) course/01_neuron_and_perceptron.ipynb

examples: $(USER_STAMP)
	@for script in examples/[0-9]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
