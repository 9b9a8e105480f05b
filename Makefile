# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= out/demo

ORT_DIR := src/context_encoder/server/static/ort
ORT_DIST := web/node_modules/onnxruntime-web/dist
ORT_FILES := ort.min.js ort-wasm-simd-threaded.jsep.mjs ort-wasm-simd-threaded.jsep.wasm

.PHONY: demo test lint bench table2 install clean browser-deps web-runtime

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt web/package.json web/package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	$(MAKE) --no-print-directory web-runtime
	touch $(STAMP)

# ONNX Runtime Web for the page that fills holes in the browser (export --format web): from
# the npm registry at the version web/package-lock.json pins, copied into the package.
web-runtime:
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix web --no-audit --no-fund --silent \
		&& mkdir -p $(ORT_DIR) && rm -f $(ORT_DIR)/* \
		&& for f in $(ORT_FILES); do cp $(ORT_DIST)/$$f $(ORT_DIR)/; done \
		&& echo "ONNX Runtime Web $$(node -p "require('./web/node_modules/onnxruntime-web/package.json').version") in $(ORT_DIR)"; \
	else echo "no npm: export --format web and the in-browser tests are unavailable"; fi

demo: $(STAMP)
	$(PY) -m context_encoder demo --out $(DEMO_OUT)

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench

bench: $(STAMP)
	$(PY) bench/speed.py

# The paper's Table 2 (feature learning) on this machine: about an hour on 2 CPU cores.
table2: $(STAMP)
	$(PY) bench/table2.py --json docs/table2-cpu.json

# Debian's Chromium for the browser end-to-end test (skipped when absent); needs root.
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" != 0 ]; then echo "not root: no chromium, the browser test will be skipped"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
		&& echo "installed chromium"; fi

clean:
	rm -rf out runs .pytest_cache web/node_modules $(ORT_DIR)
