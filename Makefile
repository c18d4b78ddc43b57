# The two set-up commands a new user runs are `make run` and `make test`; everything else is a
# developer convenience. Each target installs missing Debian packages first (idempotent).

JOBS       ?= $(shell nproc)
BUILD_DIR  ?= build/release
CMAKE_ARGS ?=
MIXS_ARGS  ?=
CTEST_ARGS ?=

CMAKE_CONFIGURE = cmake -S . -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON $(CMAKE_ARGS)

# ccache keys on paths relative to the checkout, so two checkouts (a clone, CI's) share the cache.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1

.PHONY: deps build run test package asan tsan fuzz bench format lint check-format clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(CMAKE_CONFIGURE) -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Starts mixs on its embedded default configuration.
run: build
	$(BUILD_DIR)/bin/mixs server $(MIXS_ARGS)

# Builds and runs every test through ctest. A test that fails is run once more (CTEST_REPEAT) and
# its first failure stays in the output: on a 2-core machine that runs servers, clients and
# proxies side by side, a rare timing failure of an integration test should be visible, not fatal.
CTEST_REPEAT ?= --repeat until-pass:2
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) $(CTEST_REPEAT) $(CTEST_ARGS)

# The Debian package (CPack): $(BUILD_DIR)/mixer-engine_<version>_<arch>.deb. Install it with
# `dpkg -i` (or `apt install ./<file>.deb`); docs/operations.md describes what it installs.
package: build
	cmake --build $(BUILD_DIR) --target package

# Sanitizer builds: the same tests under AddressSanitizer+UBSan (CI runs this after `make test`),
# or ThreadSanitizer. A sanitizer report fails the test that triggered it.
# intercept_tls_get_addr=0: the leak checker of GCC 12's libasan misreads glibc 2.36's dynamic TLS
# blocks (those of dlopen'd adapters) and its tracer dies with SIGSEGV at exit ("Tracer caught
# signal 11", inside libasan); without the interception it does not scan dynamic TLS, and
# everything else (heap, stacks, static TLS, globals) is still checked.
ASAN_OPTIONS ?= intercept_tls_get_addr=0
asan: deps
	$(CMAKE_CONFIGURE) -B build/asan -DCMAKE_BUILD_TYPE=Debug -DMIXER_SANITIZE=asan
	cmake --build build/asan -j $(JOBS)
	ASAN_OPTIONS=$(ASAN_OPTIONS) ctest --test-dir build/asan --output-on-failure -j $(JOBS) $(CTEST_REPEAT) $(CTEST_ARGS)

tsan: deps
	$(CMAKE_CONFIGURE) -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DMIXER_SANITIZE=tsan
	cmake --build build/tsan -j $(JOBS)
	ctest --test-dir build/tsan --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# libFuzzer build (clang); `make fuzz FUZZ_SECONDS=60` runs each target for that long.
FUZZ_SECONDS ?= 30
fuzz: deps
	CC=clang CXX=clang++ $(CMAKE_CONFIGURE) -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIXER_LIBFUZZER=ON
	cmake --build build/fuzz -j $(JOBS) --target fuzz_targets
	bash tests/fuzz/run_fuzzers.sh build/fuzz $(FUZZ_SECONDS)

bench: build
	bash tests/bench/run_benchmarks.sh $(BUILD_DIR)

# The charts of docs/performance.md, from the recorded results in docs/perf-data/*.csv.
perf-charts: deps
	/usr/bin/python3 tests/bench/perf_charts.py docs/perf-data

SOURCES = $(shell git ls-files '*.cc' '*.h' '*.proto' | grep -v '^third_party/')

format:
	clang-format -i $(SOURCES)

check-format:
	clang-format --dry-run --Werror $(SOURCES)

lint: build check-format
	clang-tidy -p $(BUILD_DIR) --quiet $(shell git ls-files '*.cc' | grep -v '^tests/') 

clean:
	rm -rf build
