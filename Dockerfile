# syntax=docker/dockerfile:1
# The Tidewater operator image: `tidewater run` (and the offline `render`/`crd` commands).
#
#   docker build -t <registry>/tidewater:0.1.0 .
#
# Stage 1 compiles the release binary; stage 2 is distroless "cc" (glibc + libgcc, no shell, no
# package manager) running as the unprivileged user 65532. The chart runs it with a read-only
# root filesystem and every capability dropped; the binary writes no files.
# No container engine is available where this repository is developed and tested, so this file
# is not built by `make test`; see docs/helm.md.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# BuildKit cache mounts keep the crate registry and the target dir between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin tidewater \
 && install -D -m 0755 target/release/tidewater /out/tidewater

# Debian 12 glibc, like the build stage (bookworm): the binary links against it dynamically.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/tidewater /usr/local/bin/tidewater
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tidewater"]
CMD ["run"]
