# Tidewater — developer entry points. See README.md.
SHELL := /bin/bash
CACHE ?= $(HOME)/.cache/tidewater
export CARGO_TARGET_DIR ?= $(CACHE)/target
export TIDEWATER_CLUSTER_DIR ?= $(CACHE)/cluster
export GOTOOLCHAIN := local

.PHONY: all build render-examples crds test test-unit test-e2e cluster cluster-down generate check-generated fmt

all: build

build:
	cargo build --release

# The offline main job: render every example into the Kubernetes objects the operator would create.
render-examples:
	cargo run --release -- render -f examples/

# Regenerate committed artefacts (CRD YAML, ECS API types, field inventory, field-coverage doc).
generate:
	hack/generate.sh

check-generated:
	hack/generate.sh --check

# Every test: unit, golden and corpus tests, then the real control plane end-to-end tests.
test: test-unit test-e2e

test-unit:
	cargo fmt --all -- --check
	cargo clippy --all-targets --features e2e -- -D warnings
	cargo test --all-targets
	$(MAKE) check-generated

test-e2e:
	hack/e2e.sh

cluster:
	hack/cluster.sh up

cluster-down:
	hack/cluster.sh down

fmt:
	cargo fmt --all

# The pinned helm (hack/cluster/go/helm, version in hack/cluster/versions.env), built once into
# ~/.cache/tidewater/bin/helm; the chart tests use it (hack/e2e.sh builds it too).
.PHONY: helm chart-crds
helm:
	hack/cluster.sh helm

# The chart ships a copy of crds/ (checked by the e2e test helm::chart_crds_match_generated).
chart-crds:
	rm -f charts/tidewater/crds/*.yaml
	cp crds/*.yaml charts/tidewater/crds/

# The operator on the local control plane with examples/ applied (see hack/demo.sh).
.PHONY: demo demo-down
demo:
	hack/demo.sh

demo-down:
	hack/demo.sh down

# Operator benchmark on the local control plane (hack/bench-operator.py; never part of `make test`):
# floor vs operator convergence, RSS, API requests, resync writes. `make bench-operator N="100 1000"`.
.PHONY: bench-operator
N ?= 100 1000 3000
bench-operator:
	cargo build --release
	hack/cluster.sh up
	KUBECONFIG=$(TIDEWATER_CLUSTER_DIR)/kubeconfig kubectl apply --server-side --force-conflicts -f crds/ -R -f tests/fixtures/third-party-crds/
	KUBECONFIG=$(TIDEWATER_CLUSTER_DIR)/kubeconfig python3 hack/bench-operator.py --services $(N)

# The same benchmark with the operator's CPU profile (perf record, flat) and its cache sizes per
# kind, into $(PROFILE_DIR). `make profile-operator N=1000`.
.PHONY: profile-operator
PROFILE_DIR ?= $(or $(CARGO_TARGET_DIR),target)/profile
profile-operator:
	cargo build --release
	hack/cluster.sh up
	KUBECONFIG=$(TIDEWATER_CLUSTER_DIR)/kubeconfig kubectl apply --server-side --force-conflicts -f crds/ -R -f tests/fixtures/third-party-crds/
	KUBECONFIG=$(TIDEWATER_CLUSTER_DIR)/kubeconfig python3 hack/bench-operator.py --services $(N) --profile $(PROFILE_DIR)

# Long fuzz run (tests/fuzz.rs, release build with overflow checks in Tidewater's code, so that
# wrapped arithmetic is a crash, as in debug): FUZZ_CASES inputs per reader target, 20 times
# that per expression parser; FUZZ_SECONDS (optional) bounds each target's time, and each
# prints the executions it ran. `make test` runs a short pass of the same targets.
.PHONY: fuzz
FUZZ_CASES ?= 100000
FUZZ_SECONDS ?=
fuzz:
	TIDEWATER_FUZZ_CASES=$(FUZZ_CASES) TIDEWATER_FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test --release \
		--config 'profile.release.package.tidewater.overflow-checks=true' --test fuzz -- --nocapture
