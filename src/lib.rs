/// Generated code, nested as the packages are so that the action schemas' references to
/// `c1.config.v1` resolve.
pub mod c1 {
    pub mod connector {
        pub mod v2 {
            #![allow(clippy::all, clippy::pedantic, missing_docs)]
            tonic::include_proto!("c1.connector.v2");
        }
    }
    pub mod config {
        pub mod v1 {
            //! The configuration fields action schemas are made of.
            #![allow(clippy::all, clippy::pedantic, missing_docs)]
            tonic::include_proto!("c1.config.v1");
        }
    }
}

pub mod pb {
    //! Generated c1.connector.v2 protocol types and services.
    pub use crate::c1::connector::v2::*;

    /// The encoded descriptor set served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("c1_descriptor");

    /// `google.rpc.Status`, the payload of `grpc-status-details-bin`: how a RateLimitDescription
    /// travels with an error, for the server that writes it and the clients that read it.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct RpcStatus {
        #[prost(int32, tag = "1")]
        pub code: i32,
        #[prost(string, tag = "2")]
        pub message: String,
        #[prost(message, repeated, tag = "3")]
        pub details: Vec<::prost_types::Any>,
    }
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

/// Property tests run the same cases on every machine: CI must be deterministic.
#[cfg(test)]
mod test_support {
    pub(crate) fn deterministic() -> proptest::prelude::ProptestConfig {
        proptest::prelude::ProptestConfig {
            cases: 512,
            rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_128),
            failure_persistence: None,
            ..Default::default()
        }
    }
}
