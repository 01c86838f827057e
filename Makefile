# zaiproxy — `make run` serves (port 8080, anonymous mode; SERVE_ARGS=--mock-upstream to try it
# offline), `make test` runs every test. Both set up everything first.

VENV   ?= .venv
PY     := $(VENV)/bin/python
BUILD  ?= build
JOBS   ?= $(shell nproc)
PY_DIRS := $(wildcard python tests examples bench)
CMAKE_GEN := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: run test deps build-deps install dist wheelhouse bench-engine bench-proxy bench-pool cpp-test py-test lint bench format clean

run: install
	$(VENV)/bin/zaiproxy serve $(SERVE_ARGS)

test: install lint cpp-test py-test

deps: $(VENV)/.deps-installed

$(VENV)/.deps-installed: scripts/install-deps.sh
	VENV=$(VENV) scripts/install-deps.sh
	touch $@ $(VENV)/.build-deps-installed

# Only what building needs: deploy/Dockerfile's builder runs `make dist` without the test packages.
build-deps: $(VENV)/.build-deps-installed

$(VENV)/.build-deps-installed: scripts/install-deps.sh
	VENV=$(VENV) scripts/install-deps.sh --build
	touch $@

# Builds the C++ core into the package and installs it into the venv (incremental).
install: deps
	$(PY) -m pip install -q --no-build-isolation ".[dev]"

# The packages in dist/: an sdist and a wheel (python -m build; the wheel from the same incremental
# build directory as `install`), and the manylinux wheel that auditwheel repair makes of it,
# bundling libcurl, OpenSSL and what they link. deploy/Dockerfile builds its image from this.
dist: build-deps
	rm -rf dist
	$(PY) -m build --no-isolation --sdist --wheel --outdir dist .
	PATH="$(abspath $(VENV))/bin:$$PATH" auditwheel repair --wheel-dir dist dist/zaiproxy-*-linux_*.whl
	@ls -1 dist

# The runtime dependencies of the manylinux wheel, so that the tests install it into a fresh
# virtual environment without the network. What an earlier run downloaded is enough when it is.
WHEELHOUSE := $(BUILD)/wheelhouse
WHEELHOUSE_REQUIREMENTS = "$$(ls dist/zaiproxy-*manylinux*.whl)[server]" openai
wheelhouse: dist
	$(PY) -m pip download -q --dest $(WHEELHOUSE) --no-index --find-links $(WHEELHOUSE) \
	  $(WHEELHOUSE_REQUIREMENTS) 2>/dev/null \
	  || $(PY) -m pip download -q --dest $(WHEELHOUSE) $(WHEELHOUSE_REQUIREMENTS)

# The engine alone against the mock upstream (in a separate process): throughput, engine CPU per
# upstream event, time to first byte, memory per idle stream. BENCH_ARGS=--quick for a smoke run.
bench-engine: install
	$(PY) bench/engine.py $(BENCH_ARGS)

# The proxy (zaiproxy.server:app under Granian, one worker) against the mock, and the same load
# straight to the mock, in one run: added time to first byte, chunks/s, proxy CPU per chunk,
# memory per open stream, inter-chunk latency of 1,000 streams. BENCH_ARGS=--quick for a smoke run.
bench-proxy: install
	$(PY) bench/proxy.py $(BENCH_ARGS)

# The token pool's stores (SQLite, and a throwaway redis-server): pick + report latency and
# throughput, request-log cost per request. BENCH_ARGS=--quick for a smoke run.
bench-pool: install
	$(PY) bench/pool.py $(BENCH_ARGS)

# The C++ tests run under AddressSanitizer and UndefinedBehaviorSanitizer.
cpp-test: deps
	cmake -S . -B $(BUILD)/cpp-test $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DZAIPROXY_BUILD_TESTS=ON -DZAIPROXY_SANITIZE=ON >/dev/null
	cmake --build $(BUILD)/cpp-test -j$(JOBS)
	ctest --test-dir $(BUILD)/cpp-test --output-on-failure -j$(JOBS)

py-test: install wheelhouse
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check $(PY_DIRS)
	$(VENV)/bin/ruff format --check $(PY_DIRS)
	clang-format --dry-run -Werror cpp/*/*.cpp cpp/*/*.hpp cpp/include/zaiproxy/*.hpp

format: install
	$(VENV)/bin/ruff format $(PY_DIRS)
	$(VENV)/bin/ruff check --fix $(PY_DIRS)
	clang-format -i cpp/*/*.cpp cpp/*/*.hpp cpp/include/zaiproxy/*.hpp

# Google Benchmark micro-benchmarks of each stage and the whole pipeline (Release build).
bench: deps
	cmake -S . -B $(BUILD)/bench $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DZAIPROXY_BUILD_BENCH=ON >/dev/null
	cmake --build $(BUILD)/bench -j$(JOBS) --target zaiproxy_bench
	$(BUILD)/bench/zaiproxy_bench

clean:
	rm -rf $(BUILD)
