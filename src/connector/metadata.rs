//! GetMetadata and Validate.
use std::collections::HashMap;

use super::{Connector, ConnectorError, ContentMode, licenses};
use crate::pb::{
    self, Capability, CapabilityDetailCredentialOption as Cred,
    connector_account_creation_schema::{Field, StringField, field},
};

/// Validate reports an SDK version of at least 0.4.3 so the official client sends active_sync_id.
pub(super) const SDK_VERSION: &str = "0.5.21";

fn string_field(
    display_name: &str,
    required: bool,
    description: &str,
    placeholder: &str,
    order: i32,
) -> Field {
    Field {
        display_name: display_name.into(),
        required,
        description: description.into(),
        placeholder: placeholder.into(),
        order,
        deprecated: false,
        field: Some(field::Field::StringField(StringField {
            default_value: None,
        })),
    }
}

impl Connector {
    pub fn metadata(&self) -> pb::ConnectorMetadata {
        // Capabilities follow what each type implements and what is configured, as the Go SDK
        // computes them (`kinds`).
        let per_type: Vec<pb::ResourceTypeCapability> = self
            .resource_types()
            .into_iter()
            .map(|(rt, caps)| pb::ResourceTypeCapability {
                capabilities: caps.into_iter().map(|c| c as i32).collect(),
                resource_type: Some(rt),
                ..Default::default()
            })
            .collect();
        let mut all: Vec<i32> = per_type
            .iter()
            .flat_map(|t| t.capabilities.iter().copied())
            .collect();
        all.push(Capability::ServiceModeTargetedSync as i32);
        if self.settings().events.on {
            all.push(Capability::EventFeedV2 as i32);
        }
        all.sort_unstable();
        all.dedup();
        let fields = HashMap::from([
            (
                "email".to_string(),
                string_field(
                    "Email",
                    true,
                    "Work email; becomes the Miro login",
                    "jane.doe@example.com",
                    1,
                ),
            ),
            (
                "first_name".to_string(),
                string_field("First name", false, "Given name", "Jane", 2),
            ),
            (
                "last_name".to_string(),
                string_field("Last name", false, "Family name", "Doe", 3),
            ),
            (
                "license".to_string(),
                string_field(
                    "License",
                    false,
                    &format!(
                        "Miro license, one of {}; Miro decides when empty",
                        licenses::creatable()
                    ),
                    "full",
                    4,
                ),
            ),
        ]);
        pb::ConnectorMetadata {
            display_name: "Miro".into(),
            help_url: "https://developers.miro.com/reference/api-reference".into(),
            description: "Miro organization members, teams, user groups, organization roles, admin roles (custom ones too) and licenses, with team, group, role and license provisioning and SCIM account lifecycle; with content access, boards and Spaces and the ways they are shared, with remediation".into(),
            capabilities: Some(pb::ConnectorCapabilities {
                resource_type_capabilities: per_type,
                connector_capabilities: all,
                credential_details: self.miro().scim.is_some().then(|| pb::CredentialDetails {
                    capability_account_provisioning: Some(pb::CredentialDetailsAccountProvisioning {
                        supported_credential_options: vec![Cred::NoPassword as i32],
                        preferred_credential_option: Cred::NoPassword as i32,
                    }),
                    capability_credential_rotation: None,
                }),
            }),
            account_creation_schema: Some(pb::ConnectorAccountCreationSchema { field_map: fields }),
            ..Default::default()
        }
    }

    /// A real check of the credentials: token info with its scopes, the organization, and SCIM.
    pub(crate) async fn check_access(&self) -> Result<(), ConnectorError> {
        let info = self.miro().rest.token_info().await?;
        let has = |scope: &str| {
            let old = scope.replace("organizations:teams:", "organizations:team:");
            info.scopes.iter().any(|s| s == scope || *s == old)
        };
        let mut needed = vec!["organizations:read", "organizations:teams:read"];
        if self.settings().provisioning {
            needed.push("organizations:teams:write");
        }
        let missing: Vec<&str> = needed.into_iter().filter(|s| !has(s)).collect();
        if !info.scopes.is_empty() && !missing.is_empty() {
            return Err(ConnectorError::FailedPrecondition(format!(
                "the Miro access token lacks the scopes {}; reinstall the app with them",
                missing.join(", ")
            )));
        }
        if !info.scopes.is_empty() && !has("organizations:groups:read") {
            tracing::warn!(
                "the Miro access token lacks organizations:groups:read: user groups, and the team access they carry, will be missing from syncs"
            );
        }
        if !info.scopes.is_empty() && self.content_mode() != ContentMode::Off {
            let mut wanted = vec!["boards:read", "projects:read"];
            if self.settings().provisioning {
                wanted.extend(["boards:write", "projects:write"]);
            }
            let lacking: Vec<&str> = wanted.into_iter().filter(|s| !has(s)).collect();
            if !lacking.is_empty() {
                tracing::warn!(
                    scopes = %lacking.join(", "),
                    "the Miro access token lacks scopes content access uses: syncs go on without what they cover (boards, Spaces) and writes to them fail"
                );
            }
        }
        let org = self.org_id().await?;
        let info = self.miro().rest.organization(org).await?;
        self.member_count.licenses(info.full_licenses_purchased);
        if self.settings().events.on {
            self.check_audit_log().await?;
        }
        if let Some(scim) = &self.miro().scim {
            scim.service_provider_config().await?;
        }
        Ok(())
    }
}
