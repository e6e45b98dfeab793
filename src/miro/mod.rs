//! The Miro adapter: the only code that speaks HTTP to Miro. It knows nothing about gRPC.
// First, so the models that follow can use its `miro_enum!`.
#[macro_use]
pub mod models;

pub mod audit;
pub mod boards;
mod budget;
pub mod classification;
pub mod content_models;
pub mod error;
mod gate;
pub mod groups;
mod http;
pub mod paging;
pub mod ratelimit;
pub mod rest;
pub mod retry;
pub mod scim;
mod scrub;
pub mod spaces;
mod write;

use std::{sync::Arc, time::Duration};

use secrecy::SecretString;
use url::Url;

pub use error::{ErrorKind, MiroError};
pub use rest::RestClient;
pub use retry::RetryPolicy;
pub use scim::ScimClient;

pub struct MiroSettings {
    pub api_url: Url,
    pub scim_url: Url,
    pub access_token: SecretString,
    pub scim_token: Option<SecretString>,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Requests to Miro in flight at once, REST and SCIM together.
    pub max_concurrency: usize,
}

/// Both clients, sharing one connection pool.
pub struct Miro {
    pub rest: RestClient,
    pub scim: Option<ScimClient>,
}

impl Miro {
    pub fn new(s: MiroSettings) -> Result<Self, MiroError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .timeout(s.timeout)
            .connect_timeout(s.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| MiroError::Internal(format!("could not build the HTTP client: {e}")))?;
        let shared = http::Shared {
            budget: Arc::new(budget::Budget::default()),
            gate: Arc::new(gate::Gate::new(s.max_concurrency)),
            scrub: Arc::new(scrub::Scrubber::new(
                std::iter::once(s.access_token.clone()).chain(s.scim_token.clone()),
            )),
        };
        let rest = RestClient {
            t: http::Transport::new(
                client.clone(),
                s.api_url,
                s.access_token,
                false,
                s.retry.clone(),
                shared.clone(),
            ),
        };
        let scim = s.scim_token.map(|token| ScimClient {
            t: http::Transport::new(client, s.scim_url, token, true, s.retry, shared),
        });
        Ok(Self { rest, scim })
    }

    /// A member page's round trip against its budget time (`Transport::latency_ratio`): what
    /// decides whether the member listing runs as one cursor chain or several.
    pub fn member_page_latency_ratio(&self) -> Option<f64> {
        self.rest.t.latency_ratio(rest::MEMBER_PAGE_COST)
    }

    /// The REST budget as last reported by Miro.
    pub fn rest_budget(&self) -> Option<ratelimit::BudgetSnapshot> {
        self.rest.t.budget()
    }
}
