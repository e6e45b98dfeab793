//! One-shot provisioning for an operator: `grant`, `revoke`, `create-account`, `delete`.
use clap::Args;
use prost_types::{Struct, Value, value::Kind};

use super::{
    Failure,
    target::{self, ConnectArgs, rpc_failure},
};
use crate::{
    connector::annotations::find,
    pb::{
        self, account_manager_service_client::AccountManagerServiceClient,
        grant_manager_service_client::GrantManagerServiceClient,
        resource_manager_service_client::ResourceManagerServiceClient,
    },
    telemetry,
};

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// Entitlement id, e.g. team:3074457345600000123:admin or role:organization_internal_admin:assigned.
    #[arg(long)]
    pub entitlement: String,
    /// The user's id (a Miro member id).
    #[arg(long)]
    pub user: String,
    #[command(flatten)]
    pub target: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct CreateAccountArgs {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    /// full, basic, standard, advanced, free, free_restricted or full_trial.
    #[arg(long)]
    pub license: Option<String>,
    #[command(flatten)]
    pub target: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The user's id (a Miro member id).
    #[arg(long)]
    pub user: String,
    #[command(flatten)]
    pub target: ConnectArgs,
}

fn rid(t: &str, id: &str) -> pb::ResourceId {
    pb::ResourceId {
        resource_type: t.into(),
        resource: id.into(),
        baton_resource: false,
    }
}

/// `{type}:{resource}:{slug}` into an entitlement the daemon can check.
fn entitlement(id: &str) -> Result<pb::Entitlement, Failure> {
    let (t, rest) = id
        .split_once(':')
        .ok_or_else(|| Failure::usage(format!("--entitlement {id:?} is not TYPE:ID:SLUG")))?;
    let (resource, slug) = rest
        .rsplit_once(':')
        .ok_or_else(|| Failure::usage(format!("--entitlement {id:?} is not TYPE:ID:SLUG")))?;
    Ok(pb::Entitlement {
        resource: Some(pb::Resource {
            id: Some(rid(t, resource)),
            ..Default::default()
        }),
        id: id.into(),
        slug: slug.into(),
        ..Default::default()
    })
}

fn user(id: &str) -> pb::Resource {
    pb::Resource {
        id: Some(rid("user", id)),
        ..Default::default()
    }
}

pub(super) async fn grant(args: GrantArgs, revoke: bool) -> Result<(), Failure> {
    telemetry::init_client_logging();
    let e = entitlement(&args.entitlement)?;
    let target = target::open(&args.target).await?;
    let mut c = GrantManagerServiceClient::new(target.channel.clone());
    let result = if revoke {
        let g = pb::Grant {
            id: format!("{}:user:{}", e.id, args.user),
            entitlement: Some(e),
            principal: Some(user(&args.user)),
            ..Default::default()
        };
        c.revoke(pb::GrantManagerServiceRevokeRequest {
            grant: Some(g),
            annotations: vec![],
        })
        .await
        .map(
            |r| match find::<pb::GrantAlreadyRevoked>(&r.get_ref().annotations) {
                Some(_) => format!(
                    "already revoked: user {} does not hold {}",
                    args.user, args.entitlement
                ),
                None => format!("revoked {} from user {}", args.entitlement, args.user),
            },
        )
    } else {
        c.grant(pb::GrantManagerServiceGrantRequest {
            entitlement: Some(e),
            principal: Some(user(&args.user)),
            annotations: vec![],
        })
        .await
        .map(|r| {
            let a = &r.get_ref().annotations;
            if find::<pb::GrantAlreadyExists>(a).is_some() {
                format!(
                    "already granted: user {} holds {}",
                    args.user, args.entitlement
                )
            } else if let Some(rep) = find::<pb::GrantReplaced>(a) {
                format!(
                    "granted {} to user {}, replacing {}",
                    args.entitlement, args.user, rep.replaced_grant_id
                )
            } else {
                format!("granted {} to user {}", args.entitlement, args.user)
            }
        })
    };
    target.close().await;
    println!(
        "{}",
        result.map_err(|s| rpc_failure(
            if revoke {
                "revoke failed"
            } else {
                "grant failed"
            },
            s
        ))?
    );
    Ok(())
}

pub(super) async fn create_account(args: CreateAccountArgs) -> Result<(), Failure> {
    telemetry::init_client_logging();
    let text = |s: &str| Value {
        kind: Some(Kind::StringValue(s.into())),
    };
    let mut fields = std::collections::BTreeMap::from([("email".to_string(), text(&args.email))]);
    for (k, v) in [
        ("first_name", &args.first_name),
        ("last_name", &args.last_name),
        ("license", &args.license),
    ] {
        if let Some(v) = v {
            fields.insert(k.into(), text(v));
        }
    }
    let req = pb::CreateAccountRequest {
        account_info: Some(pb::AccountInfo {
            profile: Some(Struct { fields }),
            ..Default::default()
        }),
        credential_options: Some(pb::CredentialOptions {
            options: Some(pb::credential_options::Options::NoPassword(
                pb::credential_options::NoPassword {},
            )),
            force_change_at_next_login: false,
        }),
        resource_type_id: "user".into(),
        ..Default::default()
    };
    let target = target::open(&args.target).await?;
    let r = AccountManagerServiceClient::new(target.channel.clone())
        .create_account(req)
        .await;
    target.close().await;
    use pb::create_account_response::Result as R;
    let line = match r
        .map_err(|s| rpc_failure("create-account failed", s))?
        .into_inner()
        .result
    {
        Some(R::Success(s)) => format!(
            "created user {} ({})",
            id_of(s.resource.as_ref()),
            args.email
        ),
        Some(R::AlreadyExists(a)) => format!(
            "already exists: user {} ({})",
            id_of(a.resource.as_ref()),
            args.email
        ),
        other => format!("unexpected answer: {other:?}"),
    };
    println!("{line}");
    Ok(())
}

fn id_of(r: Option<&pb::Resource>) -> String {
    r.and_then(|r| r.id.as_ref())
        .map(|i| i.resource.clone())
        .unwrap_or_default()
}

pub(super) async fn delete(args: DeleteArgs) -> Result<(), Failure> {
    telemetry::init_client_logging();
    let target = target::open(&args.target).await?;
    let r = ResourceManagerServiceClient::new(target.channel.clone())
        .delete_resource(pb::DeleteResourceRequest {
            resource_id: Some(rid("user", &args.user)),
            parent_resource_id: None,
        })
        .await;
    target.close().await;
    let r = r.map_err(|s| rpc_failure("delete failed", s))?;
    match find::<pb::ResourceDoesNotExist>(&r.get_ref().annotations) {
        Some(_) => println!(
            "already deprovisioned: user {} is deactivated or gone",
            args.user
        ),
        None => println!("deprovisioned user {}", args.user),
    }
    Ok(())
}
