//! CreateAccount: a Miro account through SCIM, or the one that already has the email.
use crate::{
    connector::{
        Connector, ConnectorError,
        ids::{USER, truncated},
        licenses,
        profile::profile_text,
        users,
    },
    miro::{
        ErrorKind,
        models::{License, NewScimUser, OrgMember},
    },
    pb::{self, credential_options::Options},
};

impl Connector {
    pub(crate) async fn create_scim_account(
        &self,
        req: pb::CreateAccountRequest,
    ) -> Result<pb::CreateAccountResponse, ConnectorError> {
        use pb::create_account_response::{AlreadyExistsResult, Result as R, SuccessResult};
        if !req.resource_type_id.is_empty() && req.resource_type_id != USER {
            return Err(ConnectorError::InvalidArgument(format!(
                "accounts are of resource type user, not {:?}",
                req.resource_type_id
            )));
        }
        // Miro accounts sign in through SSO or Miro's own invitation; SCIM sets no password. A
        // request for a random password (baton-sdk's one-shot `--create-account-*` always sends
        // one) or for SSO gets the account and no credential, as an SDK-built connector that
        // ignores the password does. A password the caller chose is refused: it would be lost.
        match req
            .credential_options
            .as_ref()
            .and_then(|c| c.options.as_ref())
        {
            None | Some(Options::NoPassword(_) | Options::RandomPassword(_) | Options::Sso(_)) => {}
            Some(Options::EncryptedPassword(_)) => {
                return Err(ConnectorError::InvalidArgument(
                    "Miro accounts sign in through SSO or Miro's own invitation, and Miro's API sets no password: an encrypted password cannot be used (ask for NO_PASSWORD)".into(),
                ));
            }
        }
        let info = req.account_info.unwrap_or_default();
        let p = info.profile.as_ref();
        let field = |k: &str| {
            profile_text(p, k)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        let email = field("email")
            .or_else(|| {
                info.emails
                    .iter()
                    .find(|e| e.is_primary)
                    .or(info.emails.first())
                    .map(|e| e.address.trim().to_string())
            })
            .or_else(|| Some(info.login.trim().to_string()).filter(|l| !l.is_empty()))
            .ok_or_else(|| {
                ConnectorError::InvalidArgument(
                    "email is required (profile field \"email\")".into(),
                )
            })?;
        if !valid_email(&email) {
            return Err(ConnectorError::InvalidArgument(format!(
                "{:?} is not a valid email address",
                truncated(&email)
            )));
        }
        let license = field("license").map(|l| license(&l)).transpose()?;
        let (given, family) = (field("first_name"), field("last_name"));
        self.require_provisioning()?;
        let _turn = self
            .writes
            .turn(format!("account:{}", email.to_lowercase()))
            .await;
        let _forget = self.forget_after(Some(vec![String::new()]));
        let scim = self.scim()?;
        let org = self.org_id().await?;
        let existing = |m: OrgMember| async move {
            let names = scim.user(&m.id).await?;
            Ok::<_, ConnectorError>(pb::CreateAccountResponse {
                result: Some(R::AlreadyExists(AlreadyExistsResult {
                    resource: Some(users::resource(&m, names.as_ref())),
                    is_create_account_result: true,
                })),
                ..Default::default()
            })
        };
        if let Some(m) = self
            .miro()
            .rest
            .members_by_emails(org, &[&email])
            .await?
            .into_iter()
            .next()
        {
            return existing(m).await;
        }
        let display_name = match (&given, &family) {
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            _ => None,
        };
        let created = match scim
            .create(&NewScimUser {
                user_name: email.clone(),
                given_name: given,
                family_name: family,
                display_name,
                license,
            })
            .await
        {
            Ok(u) => u,
            // Created by someone else in between.
            Err(e) if e.kind() == ErrorKind::Duplicate => {
                match self
                    .miro()
                    .rest
                    .members_by_emails(org, &[&email])
                    .await?
                    .into_iter()
                    .next()
                {
                    Some(m) => return existing(m).await,
                    None => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let member = self.miro().rest.member(org, &created.id).await?.ok_or_else(|| {
            ConnectorError::NotFound(format!("Miro created user {} but does not list it as an organization member yet; sync again shortly", created.id))
        })?;
        Ok(pb::CreateAccountResponse {
            result: Some(R::Success(SuccessResult {
                resource: Some(users::resource(&member, Some(&created))),
                is_create_account_result: true,
                invitation_expires_at: None,
            })),
            ..Default::default()
        })
    }
}

fn valid_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// A license by Miro's REST value (`full_trial`) or SCIM's display name (`Full (Trial)`).
fn license(l: &str) -> Result<License, ConnectorError> {
    License::from_either(l).ok_or_else(|| {
        ConnectorError::InvalidArgument(format!(
            "license {:?} is not one Miro knows; use one of {}",
            truncated(l),
            licenses::creatable()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_licenses() {
        assert!(valid_email("a+b@example.com"));
        assert!(!valid_email("nope"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a b@example.com"));
        assert_eq!(license("full_trial").unwrap(), License::FullTrial);
        assert_eq!(license("Basic").unwrap(), License::Basic);
        assert!(license("platinum").is_err());
    }
}
