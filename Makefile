# The README's two commands. Both create .venv (Python 3.11) on first use.
PYTHON ?= python3.11
VENV := .venv
FACENET := facenet-pytorch==2.6.0
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: report test install clean-data check-reports

report: $(VENV)/.installed
	$(BIN)/dvc repro

test: $(VENV)/.installed
	$(BIN)/python -m pytest

install: $(VENV)/.installed

# Opens reports/index.html and every reports/NN_*.html in headless Chromium (apt install chromium);
# fails on a broken image, console error, uncaught exception or any request but file:/data:.
# Screenshots: reports/screenshots/NAME.png (not tracked).
check-reports: $(VENV)/.installed
	$(BIN)/python -m maskutils.publish.browser_check reports --screenshots reports/screenshots

$(VENV)/.installed: pyproject.toml Makefile
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# MTCNN's weights ship in facenet-pytorch's wheel; it pins torch<2.3, so it comes without deps
	# (what it imports at run time is in the pins above). The code checks the files' sha256.
	$(BIN)/python -m pip install --quiet --no-deps $(FACENET)
	touch $@

clean-data:
	rm -rf data models reports/*.html reports/screenshots
