pub mod pb {
    //! Generated c1.connector.v2 protocol types and services.
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("c1.connector.v2");

    /// The encoded descriptor set served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("c1_descriptor");
}

pub mod cli;
pub mod client;
pub mod config;
pub mod connector;
pub mod health;
pub mod miro;
pub mod server;
pub mod sim;
pub mod telemetry;
