//! Compiles our c1.connector.v2 (and c1.config.v1) protocol files with protox (no system `protoc` needed) and writes
//! the descriptor set that gRPC reflection serves.
use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "c1/connector/v2/asset.proto",
    "c1/connector/v2/resource.proto",
    "c1/connector/v2/entitlement.proto",
    "c1/connector/v2/grant.proto",
    "c1/connector/v2/connector.proto",
    "c1/connector/v2/annotations.proto",
    "c1/config/v1/config.proto",
    "c1/connector/v2/action.proto",
    "c1/connector/v2/event_feed.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("c1_descriptor.bin"), fds.encode_to_vec())?;

    let mut config = tonic_prost_build::Config::new();
    // Messages implement prost::Name, so annotations pack as type.googleapis.com/c1.connector.v2.X.
    config.enable_type_names();
    config.type_name_domain(["."], "type.googleapis.com");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
