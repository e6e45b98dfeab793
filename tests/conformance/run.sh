#!/usr/bin/env bash
# Builds the daemon from this checkout and runs the baton-sdk conformance suite against it: the
# official syncer, reader and provisioner talk to the daemon, which talks to the simulator.
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
cd "$root/tests/conformance"
MIRO_CONNECTOR_BIN="$root/target/debug/miro-connector" go test -count=1 -v -timeout 30m ./...
