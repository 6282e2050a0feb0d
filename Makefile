# Two commands: `make demo` and `make test`. Both build .venv from the pinned lock file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv browser clean

venv: $(STAMP)

# Modules are compiled at install (pip's default): where PYTHONDONTWRITEBYTECODE is set, as on
# these machines, nothing compiled later is kept, and every process would compile torch again.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: venv
	$(BIN)/textloop demo

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/textloop
	$(BIN)/lint-imports

# Browser tests drive Debian's Chromium; install it when it is missing.
browser:
	@command -v chromium >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium chromium-driver; }

# Tests run on every core; then the tests of what registers, serves and batch-classifies models
# run again with every artifact on a real S3-compatible server (on SQLite: the artifact store,
# not the database, is what differs); then the few that time a whole loop end to end run alone.
# The portal's and the review queue's pages read no artifact, so they run once.
S3_AGAIN := tests/registry tests/serving tests/batch tests/notebook
S3_NOT := $(addprefix --ignore-glob=tests/serving/,test_portal*.py test_review_*.py test_errors.py test_rejections.py)

# Our own modules compiled once up front: with PYTHONDONTWRITEBYTECODE set, every server and
# command a test starts would compile them again (about half a second each).
test: venv lint browser
	$(BIN)/python -m compileall -q src/textloop
	$(BIN)/pytest -n auto --dist loadfile -m "not serial"
	$(BIN)/pytest -n auto --dist loadfile -m "not serial and not store_free" --artifact-root s3 -k "not postgresql" $(S3_NOT) $(S3_AGAIN)
	$(BIN)/pytest -m serial

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
