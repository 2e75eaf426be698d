# Lead Returns — entry points. `make test` is the single umbrella every test suite joins.
#   make setup         packages + pinned SQLite amalgamation (toolchains/setup.sh)
#   make build         configure and build native + wasm (CMake presets, see CMakePresets.json)
#   make test          setup, build, then run the suites natively and as wasm under Node
#   make asan          native build + tests with AddressSanitizer/UBSan
#   make demo          build returnsd and run it with the demo data on 127.0.0.1:8080
#   make wasm-package  build the Client Portal's wasm + JS/TS package into build/wasm/wasm/pkg
#                      (what web-demo/ and other front ends load; docs/wasm.md)
#   make wasm-bench    measure the package (size, start-up, preview latency) into BENCHMARKS.md
#   make bench         the server's ceiling, group commit off, the raw-SQLite baseline, a bulk
#                      decision (minutes; prints tables, BENCHMARKS.md records them)
#   make format        clang-format -i over the project's C++ sources
#   make format-check  fail if any C++ source is not formatted
#   make clean         remove build/ (make distclean also removes .cache/)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.NOTPARALLEL:
.DEFAULT_GOAL := test

# Emscripten 3.1.6 from Debian: every emcc link needs Debian's acorn (toolchains/wasm.cmake sets a
# linker launcher for it too).
export NODE_PATH := /usr/share/nodejs

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake
CTEST ?= ctest
CLANG_FORMAT ?= clang-format

# toolchains/setup.sh puts the pinned SQLite amalgamation under RETURNS_CACHE_DIR (default
# .cache/); the wasm build looks in .cache/sqlite-wasm unless told otherwise.
WASM_CONFIGURE_ARGS :=
ifneq ($(strip $(RETURNS_CACHE_DIR)),)
WASM_CONFIGURE_ARGS += -DRETURNS_SQLITE_DIR=$(abspath $(RETURNS_CACHE_DIR))/sqlite-wasm
WASM_CONFIGURE_ARGS += -DRETURNS_BROWSER_DEPS=$(abspath $(RETURNS_CACHE_DIR))/browser
endif

# The project's own C++ sources (never build/, .cache/ or node_modules/).
SOURCE_DIRS := $(wildcard shared server wasm tests)
FIND_SOURCES = find $(SOURCE_DIRS) -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cc' \
	-o -name '*.cpp' \) -not -path '*/node_modules/*' -print0

.PHONY: setup configure build test test-native test-wasm asan demo format format-check clean \
	distclean wasm-package wasm-bench bench

setup:
	@bash toolchains/setup.sh

configure: setup
	$(CMAKE) --preset native
	$(CMAKE) --preset wasm $(WASM_CONFIGURE_ARGS)

build: configure
	$(CMAKE) --build --preset native -j$(JOBS)
	$(CMAKE) --build --preset wasm -j$(JOBS)

# Runs the wasm suites even when a native one failed, then fails if either did.
test: build
	@$(MAKE) --no-print-directory format-check
	@rc=0; \
	echo "==> test suites: native"; $(CTEST) --preset native || rc=1; \
	echo "==> test suites: wasm (Emscripten, run under Node)"; $(CTEST) --preset wasm || rc=1; \
	if [ "$$rc" -ne 0 ]; then echo "make test: FAILED (see above)"; fi; exit $$rc

# Only the test steps, for a tree that `make build` already built.
test-native:
	$(CTEST) --preset native

test-wasm:
	$(CTEST) --preset wasm

asan: setup
	$(CMAKE) --preset native-asan
	$(CMAKE) --build --preset native-asan -j$(JOBS)
	$(CTEST) --preset native-asan

# The demo: returnsd with the generated demo data (var/demo.db, made on first start), serving
# web-demo/. It prints the URLs and a token per demo login, then runs until Ctrl-C (SIGINT
# drains and closes cleanly). DEMO_LISTEN=127.0.0.1:9090 make demo picks another address.
DEMO_LISTEN ?= 127.0.0.1:8080
demo: setup
	$(CMAKE) --preset native
	$(CMAKE) --build --preset native -j$(JOBS) --target returnsd
	$(CMAKE) --preset wasm $(WASM_CONFIGURE_ARGS)
	$(CMAKE) --build --preset wasm -j$(JOBS) --target wasm_package
	@mkdir -p var
	exec build/native/server/returnsd serve --demo --listen $(DEMO_LISTEN) --db var/demo.db \
	  --web-root web-demo --pkg-dir build/wasm/wasm/pkg --secret-file var/secret

# The Client Portal package: returns_core.{mjs,wasm}, index.mjs (+ transport, persistence,
# leader), index.d.ts and package.json, assembled in build/wasm/wasm/pkg.
wasm-package: setup
	$(CMAKE) --preset wasm $(WASM_CONFIGURE_ARGS)
	$(CMAKE) --build --preset wasm -j$(JOBS) --target wasm_package
	@echo "wasm-package: build/wasm/wasm/pkg"

wasm-bench: wasm-package
	node wasm/bench/bench.mjs --pkg build/wasm/wasm/pkg

format:
	@$(FIND_SOURCES) | xargs -0 -r $(CLANG_FORMAT) -i
	@echo "format: done"

format-check:
	@bad=0; while IFS= read -r -d '' f; do \
	  if ! $(CLANG_FORMAT) --dry-run --Werror "$$f" >/dev/null 2>&1; then \
	    echo "format-check: needs formatting: $$f"; bad=1; fi; \
	done < <($(FIND_SOURCES) | sort -z); \
	if [ "$$bad" -ne 0 ]; then echo "format-check: FAILED (run 'make format')"; exit 1; fi; \
	echo "format-check: all C++ sources formatted"

clean:
	rm -rf build

distclean: clean
	rm -rf .cache

# The server's numbers (BENCHMARKS.md "The server's ceiling") and the operator's sign-in in the
# browser ("Sign-in in the browser"). Not part of `make test`.
BENCH_DIR := build/native/tests/bench
bench: build
	$(BENCH_DIR)/lean_load --rates 1000,1250,1500,1750,2000,2500,3000 --seconds 8 --warmup 2 --compact
	$(BENCH_DIR)/lean_load --commit-batch 1 --rates 200,400,600,800 --seconds 8 --warmup 2
	$(BENCH_DIR)/sqlite_baseline --ops 20000
	$(BENCH_DIR)/lean_load --bulk 500 --rates 1000
	$(BENCH_DIR)/lean_load --idle 10000 --rates 100 --seconds 4 --warmup 1
	$(BENCH_DIR)/lean_load --operators 1000 --rates 80 --seconds 8 --warmup 2
	$(BENCH_DIR)/load_gen --clients 60 --operators 6 --rate 45 --seconds 20
	node --experimental-websocket tests/browser/signin.bench.mjs --runs 5
