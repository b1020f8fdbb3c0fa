# The two commands of the README:
#   make site   build the website, executing every notebook fresh
#   make test   run every test (unit tests, notebook regression tests, browser test)
# Both create the virtual environment in .venv when it is missing.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
VENDOR := book/_static/vendor
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Browsers the browser test can drive, in order of preference.
BROWSERS := chromium chromium-browser google-chrome

# Every target that executes notebooks or tests them runs under the pinned CPU
# numerics of lrlib/numerics.py (applied by tools/notebooks.py and conftest.py):
# the committed outputs then reproduce bit for bit on any x86-64 machine.
# Notebooks run in parallel, one single-threaded kernel per core.
JOBS   ?= auto

.PHONY: site test lint unit gpu-test bench robustness execute sync-colab colab-copies publish-copies venv assets browser qemu clean

site: venv assets
	$(PY) -m tools.site $(if $(filter-out auto,$(JOBS)),--jobs $(JOBS))

# One xdist worker per core; each test file stays on one worker (a notebook's
# cells run in order in one kernel), the files dealt longest first
# (tests/_scheduling.py).
TEST_ARGS := book tests --nbval --nbval-kernel-name lrbook \
	--nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=600 \
	-n $(JOBS) --dist loadfile

test: venv assets browser qemu lint
	$(PY) -m pytest $(TEST_ARGS)

# Code style: ruff's rules and formatting (88 columns), notebooks included.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Unit tests only: quick, no notebooks, no browser.
unit: venv
	$(PY) -m pytest tests -m "not site and not emulated" -n $(JOBS)

# The GPU workflow: notebooks in lax mode and the tests marked gpu, with
# LRLIB_DEVICE=cuda and LRLIB_REQUIRE_CUDA=1 set by the caller.
gpu-test: venv
	$(PY) -m pytest book --nbval-lax --nbval-current-env --nbval-cell-timeout=600
	$(PY) -m pytest tests -m gpu

# Every notebook serially and in parallel, then the test command (wall time,
# CPU use, five slowest items); BENCH_ARGS=--no-test leaves the last out.
bench: venv assets browser qemu
	$(PY) benchmarks/bench_notebooks.py --test-args "$(TEST_ARGS)" $(BENCH_ARGS)

# Every asserted claim of the book over 5 training seeds x 3 stand-in data sets
# x {pinned, native numerics}; prints a table (long: a benchmark, not a test).
# LRBOOK_REAL_DATA_DIR=/path/to/folder (holding rps/ and rps-test-set/) adds the
# real images as a fourth data set; the runs read a copy under _build/robustness.
robustness: venv
	$(PY) benchmarks/robustness.py

# After editing a chapter: run it top to bottom and store its outputs.
execute: venv
	$(PY) -m tools.notebooks execute $(if $(filter-out auto,$(JOBS)),--jobs $(JOBS)) $(NOTEBOOKS)

# After changing repository.url or repository.branch in _config.yml.
sync-colab: venv
	$(PY) -m tools.colab sync

# The reader's copy of every chapter (tools/colab_copies.py), into _build/colab:
# from the committed notebooks, or with COPIES_FROM=staging from the notebooks
# `make site` last executed. Refuses uncommitted changes (the copies pin HEAD)
# unless COPIES_ARGS=--allow-dirty.
COPIES_FROM ?= committed
colab-copies: venv
	$(PY) -m tools.colab_copies build --source $(COPIES_FROM) --out _build/colab $(COPIES_ARGS)

# After `make site` (the Pages workflow): commit the site's copies to their branch
# (lrbook_reader_copies in _config.yml) and push it to origin, for Colab.
publish-copies: venv
	$(PY) -m tools.colab_copies publish

venv: $(STAMP)

$(STAMP): requirements/lock.txt pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/lock.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

# The widget manager and MathJax, served by the site itself so pages render offline,
# and axe-core, the accessibility engine tests/test_site.py runs on every page.
assets: $(VENDOR)/.copied

$(VENDOR)/.copied: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/html-manager
	cp node_modules/requirejs/require.js $(VENDOR)/
	cp node_modules/requirejs/LICENSE* $(VENDOR)/ 2>/dev/null || true
	find node_modules/@jupyter-widgets/html-manager/dist -maxdepth 1 -type f ! -name '*.map' \
		-exec cp {} $(VENDOR)/html-manager/ \;
	mkdir -p $(VENDOR)/mathjax/output/chtml/fonts
	cp node_modules/mathjax/es5/tex-mml-chtml.js $(VENDOR)/mathjax/
	cp -r node_modules/mathjax/es5/output/chtml/fonts/woff-v2 $(VENDOR)/mathjax/output/chtml/fonts/
	mkdir -p $(VENDOR)/axe-core
	cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE $(VENDOR)/axe-core/
	@touch $@

# Install Debian's Chromium when no usable browser is on the machine.
browser:
	@for b in $(BROWSERS); do command -v $$b >/dev/null && exit 0; done; \
	echo "no Chromium found: installing Debian's chromium with apt"; \
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium

# QEMU's user-mode emulator: the numerics tests run the book's training on
# emulated Intel and AMD processors to prove the pins.
qemu:
	@command -v qemu-x86_64 >/dev/null && exit 0; \
	echo "no qemu-x86_64 found: installing Debian's qemu-user with apt"; \
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq qemu-user

clean:
	rm -rf _build $(VENDOR)

# ---------------------------------------------------------------------------
# Installs other than the pinned one. Everything above uses the exact pins of
# requirements/lock.txt; readers who install lrlib themselves get other
# releases. Each target below builds its own environment beside .venv (never
# touching it), keeps its data in that environment (so no stand-in drawn by
# other library versions reaches the pinned runs) and tests there:
#   make lowest          the oldest releases pyproject.toml allows (uv's
#                        --resolution lowest-direct): unit tests + notebooks (nbval, lax)
#   make colab-install   what the reader's copies install (lrlib unpinned, so the
#                        newest releases), then every copy executed, nothing saved
# Both download PyTorch from PyPI (a CUDA build, a few GB) on first use.

LOWEST        := .venv-lowest
COLAB         := .venv-colab
LOWEST_PY     := $(LOWEST)/bin/python
COLAB_PY      := $(COLAB)/bin/python
LOWEST_EXTRAS := notebooks,book,test
# The book's tooling that writes the reader's copies (myst-nb, Sphinx; no torch),
# at the exact pins, kept apart from the copies' own environment: there myst-nb
# must be missing, as in Colab, so that glue does nothing.
COPYTOOLS     := .venv-copytools
COPYTOOLS_PY  := $(COPYTOOLS)/bin/python
# uv from the PATH, else installed with pip into .venv-uv.
UV ?= $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.venv-uv/bin/uv)

.PHONY: lowest colab-install

lowest: $(LOWEST)/.installed
	$(LOWEST_PY) -c "import sys, torch, torchvision, numpy; print('lowest:', sys.version.split()[0], 'torch', torch.__version__, 'torchvision', torchvision.__version__, 'numpy', numpy.__version__)"
	@# Both suites run whatever the first gives; the target fails if either failed.
	export LRBOOK_DATA_DIR=$(CURDIR)/$(LOWEST)/data; status=0; \
	$(LOWEST_PY) -m pytest tests -m "not site" || status=1; \
	$(LOWEST_PY) -m pytest book --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
		-n $(JOBS) --dist loadfile || status=1; \
	exit $$status

# Rebuilt from scratch whenever pyproject.toml changes; the resolution is kept
# in $(LOWEST)/resolved.txt.
$(LOWEST)/.installed: pyproject.toml | $(UV)
	rm -rf $(LOWEST)
	$(UV) venv --quiet --python 3.11 $(LOWEST)
	$(UV) pip install --quiet --python $(LOWEST_PY) --resolution lowest-direct -e ".[$(LOWEST_EXTRAS)]"
	$(UV) pip freeze --python $(LOWEST_PY) > $(LOWEST)/resolved.txt
	@touch $@

colab-install: $(COPYTOOLS)/.installed
	rm -rf $(COLAB)
	$(PYTHON) -m venv $(COLAB)
	$(COLAB_PY) -m pip install --quiet --upgrade pip
	$(COLAB_PY) -m pip install --quiet "lrlib[notebooks] @ file://$(CURDIR)"
	$(COLAB_PY) -m pip install --quiet ipykernel nbclient nbformat pyyaml
	$(COLAB_PY) -m pip freeze > $(COLAB)/resolved.txt
	$(COLAB_PY) -c "import sys, torch, torchvision, numpy; print('colab-install:', sys.version.split()[0], 'torch', torch.__version__, 'torchvision', torchvision.__version__, 'numpy', numpy.__version__)"
	$(COPYTOOLS_PY) -m tools.colab_copies build --allow-dirty --out $(COLAB)/copies
	env -u PYTHONPATH LRBOOK_DATA_DIR=$(CURDIR)/$(COLAB)/data JUPYTER_PATH=$(CURDIR)/$(COLAB)/share/jupyter \
		$(COLAB_PY) -I tools/execute_unsaved.py --copies $(COLAB)/copies

$(COPYTOOLS)/.installed: requirements/lock.txt
	rm -rf $(COPYTOOLS)
	$(PYTHON) -m venv $(COPYTOOLS)
	$(COPYTOOLS_PY) -m pip install --quiet -c requirements/lock.txt myst-nb pyyaml
	@touch $@

$(CURDIR)/.venv-uv/bin/uv:
	$(PYTHON) -m venv .venv-uv
	.venv-uv/bin/python -m pip install --quiet uv
