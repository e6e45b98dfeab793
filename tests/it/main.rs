//! Integration tests: real servers on port 0 (the simulator, the daemon), real HTTP and gRPC.
mod adapter;
mod cli;
mod common;
mod daemon;
mod metadata;
mod provisioning;
mod sim;
mod sync;
mod tls;
