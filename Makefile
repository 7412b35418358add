# failberry — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
CARGO ?= cargo
PORT ?= 8080
export RUN_DIR := $(CURDIR)/.run
# The Pi client as shipped: built on (or for) the machine that runs it, size-optimised and
# statically linked, so it needs no particular glibc on the Pi.
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
CLIENT := target/$(HOST_TRIPLE)/pi/failberry

.PHONY: help demo test serve bench build client deb deb-arm64 deb-test cost lint deploy clean

help:
	@echo "make demo    the DDNS and failover stories end to end on a local stack (moto, no AWS account)"
	@echo "make test    every test: unit, integration against moto, real ddclient, template checks"
	@echo "make serve   the local stack on 127.0.0.1:$(PORT) until Ctrl-C (PORT= to change)"
	@echo "make bench   cold start, memory and latency figures beside a baseline (installs nginx, wrk)"
	@echo "make build   release arm64 Lambda bootstraps (cargo-lambda)"
	@echo "make client  the Pi client as shipped: small, static (run it on the Pi, or copy the binary)"
	@echo "make deb     the client's Debian package for this machine (deb-arm64: for a 64-bit Pi OS;"
	@echo "             deb-test: build it and inspect every package in target/debian)"
	@echo "make cost    the monthly bill of infra/template.yaml at the home scale, item by item"
	@echo "make deploy  sam deploy of infra/template.yaml (needs AWS credentials and the SAM CLI)"

$(VENV)/.dev-installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(VENV)/.build-installed: requirements-build.txt | $(VENV)/.dev-installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-build.txt
	touch $@

test: $(VENV)/.dev-installed
	scripts/ensure-test-tools
	@# `cargo test --workspace` also builds every binary the tests drive (failberry, failberry-local),
	@# with the same features, so nothing is compiled twice.
	$(CARGO) test --workspace --no-run
	@set -euo pipefail; \
	url=$$(scripts/moto start test); \
	trap 'scripts/moto stop test' EXIT; \
	echo "moto on $$url"; \
	FAILBERRY_MOTO_URL=$$url $(CARGO) test --workspace
	$(VENV)/bin/cfn-lint infra/template.yaml
	@echo "make test: all passed"

demo: $(VENV)/.dev-installed
	$(CARGO) build --bins -p failberry -p failberry-local
	@set -euo pipefail; \
	url=$$(scripts/moto start demo); \
	trap 'scripts/moto stop demo' EXIT; \
	target/debug/failberry-local --moto-url $$url demo --client target/debug/failberry

serve: $(VENV)/.dev-installed
	$(CARGO) build --bins -p failberry-local
	@set -euo pipefail; \
	url=$$(scripts/moto start serve); \
	trap 'scripts/moto stop serve' EXIT; \
	target/debug/failberry-local --moto-url $$url serve --port $(PORT)

bench: $(VENV)/.dev-installed
	scripts/ensure-bench-tools
	$(CARGO) build --release -p failberry-ddns -p failberry-ping -p failberry-detectatron -p failberry-bench --bins
	$(MAKE) client
	@set -euo pipefail; \
	url=$$(scripts/moto start bench); \
	trap 'scripts/moto stop bench' EXIT; \
	target/release/failberry-bench --moto-url $$url --ddns target/release/ddns --floor target/release/echo-floor --sdk-floor target/release/sdk-floor \
		--ping target/release/ping --client $(CLIENT) --detectatron target/release/detectatron

client:
	@# RUSTFLAGS reaches only the --target build, never build scripts or proc macros.
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --profile pi --target $(HOST_TRIPLE) -p failberry --bin failberry
	@echo "the Pi client: $(CLIENT) ($$(du -h $(CLIENT) | cut -f1))"

# The Debian package (cargo-deb, installed once into .tools/): the static binary of `make client`,
# the systemd units, the commented default config (a conffile) and the maintainer scripts of
# packaging/. deb-arm64 cross-builds a static musl binary with zig (cargo-zigbuild).
CARGO_DEB_VERSION := 3.8.0
CARGO_DEB := $(CURDIR)/.tools/bin/cargo-deb
DEB_DIR := target/debian

$(CARGO_DEB):
	$(CARGO) install --locked --quiet --root $(CURDIR)/.tools cargo-deb@$(CARGO_DEB_VERSION)

$(VENV)/.deb-installed: requirements-deb.txt | $(VENV)/.dev-installed
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-deb.txt
	touch $@

deb: $(CARGO_DEB)
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO_DEB) -p failberry --profile pi --target $(HOST_TRIPLE) --no-strip -o $(DEB_DIR)

deb-arm64: $(CARGO_DEB) $(VENV)/.deb-installed
	rustup target add aarch64-unknown-linux-musl
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(CARGO_DEB) -p failberry --profile pi --target aarch64-unknown-linux-musl \
		--cargo-build zigbuild --no-strip -o $(DEB_DIR)

deb-test: deb
	FAILBERRY_DEB="$$(ls $(DEB_DIR)/failberry_*.deb | tr '\n' ' ')" $(CARGO) test -p failberry --test package -- --nocapture

build: $(VENV)/.build-installed
	rustup target add aarch64-unknown-linux-gnu
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/cargo-lambda lambda build --release --arm64 -p failberry-ddns --lambda-dir target/lambda -p failberry-ping

cost:
	$(CARGO) run --quiet -p failberry-ctl -- cost

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

deploy: build
	sam deploy --template-file infra/template.yaml --guided

clean:
	rm -rf $(VENV) $(RUN_DIR) target
