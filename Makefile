# Thin wrapper: dependencies, build, demo, tests, benchmarks. CMake does the real work.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps build demo test bench clean

deps:
	@scripts/setup-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)/strata

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@STRATA_WITH_PEERS=1 scripts/setup-deps.sh
	@scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD)
