//! Miro SCIM 2.0 `/Users` (legacy team model) and `/ServiceProviderConfig`.
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    error::MiroError,
    http::{Call, Transport},
    models::{NewScimUser, ScimList, ScimPatch, ScimUser, scim_quoted as quoted},
    rest::optional,
};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Miro's maximum SCIM page size.
pub const MAX_COUNT: usize = 1000;

pub struct ScimClient {
    pub(crate) t: Transport,
}

impl ScimClient {
    pub async fn service_provider_config(&self) -> Result<Value, MiroError> {
        self.t
            .json(&Call::get(
                "GET /ServiceProviderConfig",
                1,
                &["ServiceProviderConfig"],
            ))
            .await
    }

    pub async fn user(&self, id: &str) -> Result<Option<ScimUser>, MiroError> {
        optional(
            self.t
                .json(&Call::get("GET /Users/{id}", 1, &["Users", id]))
                .await,
        )
    }

    pub async fn list(
        &self,
        filter: Option<&str>,
        start_index: usize,
        count: usize,
    ) -> Result<ScimList, MiroError> {
        let mut call = Call::get("GET /Users", 1, &["Users"])
            .query("startIndex", start_index.max(1).to_string())
            .query("count", count.min(MAX_COUNT).to_string());
        if let Some(f) = filter {
            call = call.query("filter", f);
        }
        self.t.json(&call).await
    }

    /// Many users by id in one request (an `id eq` disjunction).
    pub async fn users_by_ids(&self, ids: &[&str]) -> Result<Vec<ScimUser>, MiroError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let filter = ids
            .iter()
            .map(|id| format!("id eq {}", quoted(id)))
            .collect::<Vec<_>>()
            .join(" or ");
        Ok(self.list(Some(&filter), 1, ids.len()).await?.resources)
    }

    pub async fn user_by_name(&self, user_name: &str) -> Result<Option<ScimUser>, MiroError> {
        let filter = format!("userName eq {}", quoted(user_name));
        Ok(self
            .list(Some(&filter), 1, 1)
            .await?
            .resources
            .into_iter()
            .next())
    }

    /// Create a user. Not idempotent: after an ambiguous failure the userName is looked up, and
    /// the create is sent again only if the user is not there.
    pub async fn create(&self, user: &NewScimUser) -> Result<ScimUser, MiroError> {
        let body = user.to_json();
        let call = Call::get("POST /Users", 1, &["Users"]).with(Method::POST, Some(body), false);
        self.t
            .write_verified(&call, || self.user_by_name(&user.user_name))
            .await
    }

    pub async fn patch(&self, id: &str, ops: &[ScimPatch]) -> Result<ScimUser, MiroError> {
        let ops: Vec<Value> = ops.iter().map(ScimPatch::to_json).collect();
        let body = json!({"schemas": [PATCH_OP], "Operations": ops});
        // Each operation sets a value, so repeating the request is harmless.
        let call =
            Call::get("PATCH /Users/{id}", 1, &["Users", id]).with(Method::PATCH, Some(body), true);
        self.t.json(&call).await
    }

    /// Delete a user; `false` if there was none (404).
    pub async fn delete(&self, id: &str) -> Result<bool, MiroError> {
        let call =
            Call::get("DELETE /Users/{id}", 1, &["Users", id]).with(Method::DELETE, None, true);
        Ok(optional(self.t.send(&call).await)?.is_some())
    }
}
