# The operator's container image:
#   docker build -t comprehend-operator:0.1.0 .
# Builds with the same command as the tests (`cargo build --locked`), in
# release mode, and runs as non-root user 65532 on Debian 12 slim.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when the
# manifests or the lock file change. Stub targets stand in for the sources of
# the workspace members (".", "standin" and the tests' helpers, "testkit").
COPY Cargo.toml Cargo.lock ./
COPY standin/Cargo.toml standin/Cargo.toml
COPY testkit/Cargo.toml testkit/Cargo.toml
RUN mkdir -p src standin/src testkit/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > standin/src/main.rs \
    && touch standin/src/lib.rs \
    && touch testkit/src/lib.rs \
    && cargo build --release --locked --bin comprehend-operator \
    && rm -rf src standin/src testkit/src

# Then the operator itself. `touch` makes cargo rebuild the crate over the
# stubs whatever the copied files' modification times are.
COPY . .
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin comprehend-operator \
    && install -D -m 0755 target/release/comprehend-operator /out/comprehend-operator

FROM debian:${DEBIAN_RELEASE}-slim

ARG VERSION=0.1.0
ARG SOURCE=""
LABEL org.opencontainers.image.title="comprehend-operator" \
      org.opencontainers.image.description="Kubernetes operator that runs Amazon Comprehend custom document classification jobs" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

# CA certificates for TLS to AWS and the API server. Not pinned: the bundle
# must follow Debian's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 nonroot \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin nonroot

COPY --from=builder /out/comprehend-operator /usr/local/bin/comprehend-operator

USER 65532:65532
# /healthz, /readyz and /metrics.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/comprehend-operator", "run"]
