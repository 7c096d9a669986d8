# Thin wrapper: dependencies, build, demo, tests, fuzzing, benchmarks. CMake and scripts/ do the real work.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 600
CI_FUZZ_SECONDS ?= 20

.PHONY: deps build demo test fuzz bench clean

deps:
	@scripts/setup-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)/strata

# The tests, then a short pass of every fuzzer and the unit tests under ASan + UBSan and TSan (build-asan, build-tsan).
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@JOBS=$(JOBS) scripts/fuzz.sh --seconds $(CI_FUZZ_SECONDS)
	@JOBS=$(JOBS) scripts/sanitize-test.sh

fuzz: deps
	@JOBS=$(JOBS) scripts/fuzz.sh --seconds $(FUZZ_SECONDS)

bench: build
	@STRATA_WITH_PEERS=1 scripts/setup-deps.sh
	@scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-tsan
