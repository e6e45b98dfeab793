//! Integration tests: real servers on port 0 (the simulator, the daemon), real HTTP and gRPC.
// Test code: a failed unwrap is a failed test, and nothing here is a public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]
mod accounts;
mod adapter;
mod adapter_writes;
mod answers;
mod bounded;
mod budget;
mod classification;
mod cli;
mod common;
mod content;
mod content_action;
mod content_readahead;
mod content_scope;
mod content_writes;
mod contract;
mod daemon;
mod docs;
mod event_answers;
mod event_changes;
mod events;
mod groups;
mod health;
mod holdings;
mod ids;
mod member_chains;
mod metadata;
mod pages;
mod provisioning;
mod readahead;
mod rpc;
mod sim;
mod sim_audit;
mod sim_boards;
mod sim_edges;
mod sim_groups;
mod sim_spaces;
mod sync;
mod sync_pages;
mod tls;
mod writer;
