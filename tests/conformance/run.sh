#!/usr/bin/env bash
# Builds the daemon and the bridge from this checkout and runs the baton-sdk conformance suite
# against them: the official syncer, reader, provisioner and runner talk to the daemon, which
# talks to the simulator.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v go >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "conformance: Go is not installed, and CI must run this suite (baton-sdk v0.25.0 needs Go >= 1.25.2)" >&2
    exit 1
  fi
  echo "conformance: skipped: Go is not installed (baton-sdk v0.25.0 needs Go >= 1.25.2)"
  exit 0
fi
cargo build --locked --quiet --bin miro-connector --manifest-path "$root/Cargo.toml"
# The bridge (baton-sdk's runner in front of the daemon): its own tests, then the binary the suite runs.
bridge_bin="$root/target/baton-miro-bridge"
(cd "$root/bridge" && go vet ./... && go test -count=1 ./... && CGO_ENABLED=0 go build -o "$bridge_bin" .)
cd "$root/tests/conformance"
MIRO_CONNECTOR_BIN="$root/target/debug/miro-connector" BATON_MIRO_BRIDGE_BIN="$bridge_bin" \
  go test -count=1 -v -timeout 30m ./...
