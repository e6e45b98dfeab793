# Build stage: the protocol files compile with protox, so no protoc is needed.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, in a layer of their own: it is rebuilt only when the manifest or the lock
# file changes, not on every change to the source.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > benches/sync.rs \
    && cargo build --release --locked --bin miro-connector \
    && rm -rf src benches target/release/.fingerprint/miro-connector-*
COPY build.rs ./
COPY proto proto
COPY src src
COPY benches benches
RUN cargo build --release --locked --bin miro-connector \
    && strip target/release/miro-connector

# Runtime: CA certificates for Miro's TLS, a non-root user, nothing else.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home connector
COPY --from=build /src/target/release/miro-connector /usr/local/bin/miro-connector
USER 10001
EXPOSE 50051 50052 9090
ENTRYPOINT ["/usr/local/bin/miro-connector"]
CMD ["serve", "--listen", "0.0.0.0:50051", "--health-listen", "0.0.0.0:50052", "--metrics-listen", "0.0.0.0:9090"]
