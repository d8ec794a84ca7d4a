# mixer — the README's two commands are `make demo` and `make test`; both run `make deps` first.
SWIFT       ?= swift
CONFIG      ?= release
SWIFTFLAGS  ?= -c $(CONFIG)
# Tests build in release with testability: the gradient checks and the tiny training runs are
# numeric loops that debug builds run 50-100x slower.
TESTFLAGS   ?= -c release -Xswiftc -enable-testing
BIN          = .build/$(CONFIG)/mixer-cli
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build test demo bench clean help

all: build

help:
	@echo "make deps   install the system libraries (ICU, SentencePiece, OpenBLAS, Open MPI) when missing"
	@echo "make build  build mixer-cli ($(BIN))"
	@echo "make test   build and run the whole test suite"
	@echo "make demo   train, decode and score on the bundled corpus in data/"
	@echo "make bench  run the benchmarks in bench/ beside their peers"

# Installs libicu-dev, libsentencepiece-dev, libopenblas-dev and Open MPI (libopenmpi-dev, openmpi-bin: mpirun and
# libmpi.so.40, which mixer-cli opens at run time for `mpirun -np N mixer-cli train`; the build does not need them)
# where they are missing. Debian/Ubuntu: apt-get (with sudo when not root). Elsewhere it prints what to install and fails.
deps:
	@missing=""; \
	[ -f /usr/include/unicode/ubrk.h ] || missing="$$missing libicu-dev"; \
	[ -f /usr/include/sentencepiece_processor.h ] || missing="$$missing libsentencepiece-dev"; \
	( [ -f /usr/include/cblas.h ] || ls /usr/include/*/cblas.h >/dev/null 2>&1 || [ "$$(uname)" = Darwin ] ) || missing="$$missing libopenblas-dev"; \
	( ls /usr/lib/*/libmpi.so.40 >/dev/null 2>&1 || [ -e /usr/lib/libmpi.so.40 ] || [ "$$(uname)" = Darwin ] ) || missing="$$missing libopenmpi-dev"; \
	( command -v mpirun >/dev/null 2>&1 || [ "$$(uname)" = Darwin ] ) || missing="$$missing openmpi-bin"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "make deps: installing$$missing"; \
	    $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "make deps: please install$$missing (ICU 72+ headers, SentencePiece 0.1.97+, an OpenBLAS with cblas.h, Open MPI 4+)"; exit 1; \
	  fi; \
	fi
	@command -v $(SWIFT) >/dev/null 2>&1 || { echo "make deps: Swift 6 is required (https://swift.org/install)"; exit 1; }

build: deps
	$(SWIFT) build $(SWIFTFLAGS) --product mixer-cli

# The whole suite on the products' build, then the robustness suites (hostile input, fuzz,
# checkpoint mutation, run directories, outputs) again on a build with Swift's checks on in
# every module (MIXER_CHECKED=1, its own .build-checked), where a bounds error traps.
ROBUSTNESS  ?= Hostile|Fuzz|RunDirectoryTests|OutputSafetyTests|CheckpointTests|InterruptionTests
test: deps
	$(SWIFT) build $(TESTFLAGS) --build-tests
	$(SWIFT) test $(TESTFLAGS) --skip-build --disable-swift-testing
	MIXER_CHECKED=1 $(SWIFT) build $(TESTFLAGS) --build-tests --scratch-path .build-checked
	MIXER_CHECKED=1 $(SWIFT) test $(TESTFLAGS) --skip-build --disable-swift-testing --scratch-path .build-checked --filter '$(ROBUSTNESS)'
	@command -v chromium >/dev/null 2>&1 && convert -version 2>/dev/null | grep -q ImageMagick || \
	  echo "make test: WARNING: the report's headless-browser test was SKIPPED (apt-get install chromium imagemagick, as .ci/run does)"

demo: build
	./scripts/demo.sh $(BIN)

bench: build
	./bench/run-all.sh

clean:
	rm -rf .build .build-checked
