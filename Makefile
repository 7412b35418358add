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
# The Lambda functions' CPU for `make build`: samconfig.toml's Architecture, which deploys it.
ARCH ?= $(or $(shell sed -n 's/^ *"Architecture=\([a-z0-9_]*\)".*/\1/p' samconfig.toml),arm64)
ARCH_TRIPLE := $(if $(filter x86_64,$(ARCH)),x86_64,aarch64)-unknown-linux-gnu
export SAM_CLI_TELEMETRY := 0
SAM := $(VENV)/bin/sam

.PHONY: help demo test serve bench build check-build check-template check-deploy client deb deb-arm64 deb-test cost lint deploy clean fuzz

help:
	@echo "make demo    the DDNS and failover stories end to end on a local stack (moto, no AWS account)"
	@echo "make test    every test: unit, integration against moto, real ddclient, template checks"
	@echo "make serve   the local stack on 127.0.0.1:$(PORT) until Ctrl-C (PORT= to change)"
	@echo "make bench   cold start, memory and latency figures beside a baseline (installs nginx, wrk)"
	@echo "make build   sam build: the four functions' release bootstraps (ARCH=arm64 or x86_64)"
	@echo "make client  the Pi client as shipped: small, static (run it on the Pi, or copy the binary)"
	@echo "make check-deploy  the template's linters and the release arm64 sam build (slow: not in make test)"
	@echo "make fuzz    every fuzz target for FUZZ_SECONDS each (default 60; cargo-fuzz, stable Rust)"
	@echo "make deb     the client's Debian package for this machine (deb-arm64: for a 64-bit Pi OS;"
	@echo "             deb-test: build it and inspect every package in target/debian)"
	@echo "make cost    the monthly bill of infra/template.yaml at the home scale, item by item"
	@echo "make deploy  sam build + sam deploy with samconfig.toml's parameters (needs AWS credentials)"

$(VENV)/.dev-installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(VENV)/.bench-installed: requirements-bench.txt | $(VENV)/.dev-installed
	$(VENV)/bin/python3 -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

# Both lists in one resolution, so the SAM CLI's and checkov's dependencies keep moto's working.
$(VENV)/.build-installed: requirements-build.txt requirements-dev.txt | $(VENV)/.dev-installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r requirements-build.txt
	touch $@

# The build list too: tests/deployed_stack.rs runs scripts/moto-stack (aws-sam-translator, which
# the SAM CLI brings), and check-template and check-build need it anyway.
test: $(VENV)/.build-installed
	scripts/ensure-test-tools
	@# `cargo test --workspace` also builds every binary the tests drive (failberry, failberry-local),
	@# with the same features, so nothing is compiled twice.
	$(CARGO) test --workspace --no-run
	@set -euo pipefail; \
	url=$$(scripts/moto start test); \
	trap 'scripts/moto stop test' EXIT; \
	echo "moto on $$url"; \
	FAILBERRY_MOTO_URL=$$url $(CARGO) test --workspace
	$(MAKE) check-template
	$(MAKE) check-build
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

bench: $(VENV)/.dev-installed $(VENV)/.bench-installed
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
	FAILBERRY_DEB="$$(ls $(DEB_DIR)/failberry_*.deb | tr '\n' ' ')" $(CARGO) test -p failberry --test package -- --ignored --nocapture

# `sam build` of infra/template.yaml: cargo-lambda (and zig, to link for the other CPU) from the
# .venv build each function's release `bootstrap` into .aws-sam/build, no Docker.
SAM_BUILD = PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(SAM) build --config-file $(CURDIR)/samconfig.toml
build: $(VENV)/.build-installed
	rustup target add $(ARCH_TRIPLE)
	$(SAM_BUILD) --parameter-overrides Architecture=$(ARCH)
	@for f in .aws-sam/build/*/bootstrap; do echo "$$f ($$(du -h $$f | cut -f1))"; done

# The arm64 `sam build` of `make test`: the same template, samconfig, cargo-lambda and zig as
# `make build`, in SAM's debug mode (cargo lambda build without --release, no debug info), into
# its own build dir. It proves every function compiles and links for arm64 offline from a fresh
# clone in about 11 minutes on 2 cores, where the release build (thin LTO, one codegen unit) takes
# several times that; `make check-deploy` builds the release bootstraps.
CHECK_BUILD_DIR := .aws-sam/check-build
check-build: $(VENV)/.build-installed
	rustup target add aarch64-unknown-linux-gnu
	SAM_BUILD_MODE=debug CARGO_PROFILE_DEV_DEBUG=false $(SAM_BUILD) --build-dir $(CHECK_BUILD_DIR) \
		--parameter-overrides Architecture=arm64
	scripts/check-bootstraps $(CHECK_BUILD_DIR) arm64

# The template as a real deploy would meet it: cfn-lint with AWS's serverless rules and checkov
# (seconds; run by `make test`).
check-template: $(VENV)/.build-installed
	$(VENV)/bin/cfn-lint --append-rules cfn_lint_serverless.rules -- infra/template.yaml
	$(VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f infra/template.yaml

# The template checks plus the release arm64 `sam build` a deploy uploads, its bootstraps checked
# to be arm64 ELF files. Not part of `make test` (which runs check-build): four cold release
# builds (thin LTO, one codegen unit, aws-lc and openh264 compiled for aarch64) take longer than
# the rest of the suite (docs/deploy.md).
check-deploy: check-template
	$(MAKE) build ARCH=arm64
	scripts/check-bootstraps .aws-sam/build arm64

# libFuzzer through cargo-fuzz. This machine has only stable Rust: RUSTC_BOOTSTRAP=1 lets stable
# rustc take cargo-fuzz's unstable flags. No sanitizer (-s none): the targets are safe Rust, and
# the C++ decoder is not reached (mp4_clip stops at demuxing). Seeds in fuzz/seeds, the corpus in
# fuzz/corpus, crashes in fuzz/artifacts (each one found becomes a regression test in make test).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := signed_update dyndns2 reference_protocol config_documents apigw_event health_request mp4_clip
FUZZ := RUSTC_BOOTSTRAP=1 $(CARGO) fuzz
# Every target runs even when one crashes; the summary at the end gives per target the wall-clock
# seconds, libFuzzer's executions (its final stats, else its last status line) and the crashing
# inputs it wrote to fuzz/artifacts; make fuzz fails when any target crashed or did not run.
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd fuzz && $(FUZZ) build -s none
	@mkdir -p $(RUN_DIR)
	@set -uo pipefail; cd fuzz; failed=0; rows=(); for t in $(FUZZ_TARGETS); do \
		mkdir -p corpus/$$t; log=$(RUN_DIR)/fuzz-$$t.log; start=$$(date +%s); \
		$(FUZZ) run -s none $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) \
			-print_final_stats=1 -rss_limit_mb=2048 -timeout=10 > $$log 2>&1; rc=$$?; \
		secs=$$(( $$(date +%s) - start )); \
		execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -1); \
		[ -n "$$execs" ] || execs=$$(grep -o '^#[0-9]*' $$log | tail -1 | tr -d '#'); \
		crashes=$$(grep -c 'Test unit written to' $$log); \
		if [ $$rc != 0 ]; then failed=1; \
			echo "$$t: exit $$rc, see $$log$$( [ $$crashes = 0 ] || echo ' and fuzz/artifacts/'$$t)"; fi; \
		rows+=("$$(printf '%-20s %8s %12s %8s' $$t $$secs "$${execs:-?}" $$crashes)"); \
	done; \
	echo "fuzz summary: $(FUZZ_SECONDS) s per target, logs in $(RUN_DIR)/fuzz-*.log"; \
	printf '%-20s %8s %12s %8s\n' target seconds execs crashes; printf '%s\n' "$${rows[@]}"; \
	exit $$failed

cost:
	$(CARGO) run --quiet -p failberry-ctl -- cost

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Parameters, region and stack name come from samconfig.toml (edit it first: docs/deploy.md).
deploy: build
	$(SAM) deploy --config-file $(CURDIR)/samconfig.toml

clean:
	rm -rf $(VENV) $(RUN_DIR) .aws-sam target
