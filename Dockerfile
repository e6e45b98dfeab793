# The daemon's image. Dependencies are cached with cargo-chef: the planner reduces the checkout to a
# recipe (the manifest, the lock file and every target's path), cook builds the dependencies from
# it in a layer that a source change does not invalidate, and only then the crate is built.
# The protocol files compile with protox, so no protoc is needed. `.ci/dockerfile-replay` replays
# the build stages of this file in CI (no Docker engine there): keep outputs relative to WORKDIR.
FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin miro-connector
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto proto
COPY src src
COPY benches benches
RUN cargo build --release --locked --bin miro-connector \
    && strip target/release/miro-connector

# Runtime: CA certificates for Miro's TLS, a non-root user, nothing else.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 connector \
    && useradd --system --uid 10001 --gid 10001 --no-create-home connector
COPY --from=build /src/target/release/miro-connector /usr/local/bin/miro-connector
USER 10001:10001
EXPOSE 50051 50052 9090
ENTRYPOINT ["/usr/local/bin/miro-connector"]
CMD ["serve", "--listen", "0.0.0.0:50051", "--health-listen", "0.0.0.0:50052", "--metrics-listen", "0.0.0.0:9090"]
