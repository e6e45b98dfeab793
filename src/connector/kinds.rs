//! The resource types, in one place: what each type is (its description and capabilities), how its
//! ids look, and which of its module's functions answers each RPC. The RPCs (`service.rs`) and the
//! writes (`provisioning/`) dispatch through here and name no type. Adding a type is its module
//! and a variant: every `match` below is exhaustive, so the compiler points at each one that must
//! learn it. A type that does not support a write says so here, the same way for every write.
use super::{
    Connector, ConnectorError, boards, groups,
    holders::Holding,
    ids::{self, board_id, miro_id},
    licenses, organization, roles, spaces, teams, users,
};
use crate::pb::{self, Capability};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Team,
    Role,
    Group,
    License,
    Board,
    Space,
    Organization,
}

type Page<T> = (Vec<T>, String);

/// The first page is the only one: a client sending a token for a second is refused.
pub(super) fn only_page(token: &str) -> Result<(), ConnectorError> {
    if token.is_empty() {
        Ok(())
    } else {
        Err(ConnectorError::BadPageToken(
            "this listing has a single page".into(),
        ))
    }
}

/// A listing with one page.
fn single_page<T>(token: &str, list: Vec<T>) -> Result<Page<T>, ConnectorError> {
    only_page(token).map(|_| (list, String::new()))
}

impl Kind {
    /// Every type, in the order ListResourceTypes lists them.
    pub(crate) const ALL: [Kind; 8] = [
        Kind::User,
        Kind::Team,
        Kind::Role,
        Kind::Group,
        Kind::License,
        Kind::Board,
        Kind::Space,
        Kind::Organization,
    ];

    pub(crate) fn id(self) -> &'static str {
        match self {
            Kind::User => ids::USER,
            Kind::Team => ids::TEAM,
            Kind::Role => ids::ROLE,
            Kind::Group => ids::GROUP,
            Kind::License => ids::LICENSE,
            Kind::Board => ids::BOARD,
            Kind::Space => ids::PROJECT,
            Kind::Organization => ids::ORGANIZATION,
        }
    }

    /// The type a request names: INVALID_ARGUMENT when it names none, or one not served here.
    pub(crate) fn named(id: &str) -> Result<Kind, ConnectorError> {
        if id.is_empty() {
            return Err(ConnectorError::InvalidArgument(
                "resource type is required".into(),
            ));
        }
        Self::ALL.into_iter().find(|k| k.id() == id).ok_or_else(|| {
            let served: Vec<&str> = Self::ALL.iter().map(|k| k.id()).collect();
            ConnectorError::UnknownType(format!(
                "unknown resource type {:?}; this connector serves {} ({} with content access on)",
                ids::truncated(id),
                served.join(", "),
                Self::ALL
                    .iter()
                    .filter(|k| k.content().is_some())
                    .map(|k| k.id())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))
        })
    }

    /// For content types, the setting's word for them: served only with content access on.
    fn content(self) -> Option<&'static str> {
        match self {
            Kind::Board => Some("boards"),
            Kind::Space => Some("Spaces"),
            Kind::User
            | Kind::Team
            | Kind::Role
            | Kind::Group
            | Kind::License
            | Kind::Organization => None,
        }
    }

    fn resource_type(self) -> pb::ResourceType {
        match self {
            Kind::User => users::resource_type(),
            Kind::Team => teams::resource_type(),
            Kind::Role => roles::resource_type(),
            Kind::Group => groups::resource_type(),
            Kind::License => licenses::resource_type(),
            Kind::Board => boards::resource_type(),
            Kind::Space => spaces::resource_type(),
            Kind::Organization => organization::resource_type(),
        }
    }

    /// What the type supports beyond sync, as baton-sdk derives it from what a type implements:
    /// account and SCIM-backed writes only with a SCIM token.
    fn writes(self, scim: bool) -> Vec<Capability> {
        match self {
            Kind::User if scim => vec![Capability::AccountProvisioning, Capability::ResourceDelete],
            Kind::User | Kind::Organization => Vec::new(),
            Kind::Team | Kind::Space => vec![Capability::Provision],
            Kind::Role | Kind::License if scim => vec![Capability::Provision],
            Kind::Role | Kind::License => Vec::new(),
            Kind::Group => vec![
                Capability::Provision,
                Capability::ResourceCreate,
                Capability::ResourceDelete,
            ],
            Kind::Board => vec![Capability::Provision, Capability::Actions],
        }
    }

    /// An id of this type, checked before anything else: Miro ids are decimal strings and board
    /// ids short base64 (INVALID_ARGUMENT otherwise); roles and licenses are a known set
    /// (NOT_FOUND otherwise).
    pub(crate) fn check_id(self, id: &str) -> Result<(), ConnectorError> {
        match self {
            Kind::User | Kind::Team | Kind::Group | Kind::Space | Kind::Organization => {
                miro_id(&format!("{} id", self.id()), id).map(drop)
            }
            Kind::Board => board_id("board id", id).map(drop),
            Kind::Role => roles::Role::lookup(id).map(drop),
            Kind::License => licenses::parse(id).map(drop),
        }
    }

    /// Whether this type can be listed under a resource of `parent`'s type.
    fn child_of(self, parent: Kind) -> bool {
        matches!((self, parent), (Kind::Board | Kind::Space, Kind::Team))
    }
}

/// A resource's id and its parent's.
fn ids_of(r: &pb::Resource) -> Option<(&str, Option<&str>)> {
    let id = r.id.as_ref()?;
    Some((
        id.resource.as_str(),
        r.parent_resource_id.as_ref().map(|p| p.resource.as_str()),
    ))
}

/// DeleteResource of a type that cannot be deleted, refused as baton-sdk refuses a write a type
/// does not implement (UNIMPLEMENTED), the same way for every such type.
fn deletion_unsupported(kind: Kind) -> ConnectorError {
    ConnectorError::Unsupported(format!(
        "resource type {:?} does not support deletion: this connector deletes user groups and deprovisions users",
        kind.id()
    ))
}

impl Connector {
    /// The registered types: every type, content types served only with content access on.
    /// Off, they are still listed (empty, no capability, their description saying so), because
    /// baton-sdk fails a whole sync whose resource-type filter names a type the connector does not
    /// list, and a platform keeps the filter it had while content was on.
    pub(crate) fn resource_types(&self) -> Vec<(pb::ResourceType, Vec<Capability>)> {
        let scim = self.miro().scim.is_some();
        Kind::ALL
            .into_iter()
            .map(|k| {
                let mut t = k.resource_type();
                if self.serving(k).is_err() {
                    t.description = format!(
                        "Content access is off (--content): none are synced. {}",
                        t.description
                    );
                    return (t, Vec::new());
                }
                let mut caps = vec![Capability::Sync, Capability::TargetedSync];
                caps.extend(k.writes(scim));
                (t, caps)
            })
            .collect()
    }

    /// Whether this daemon serves the type: FAILED_PRECONDITION naming the setting when not.
    pub(crate) fn serving(&self, kind: Kind) -> Result<Kind, ConnectorError> {
        match kind.content() {
            Some(what) => self.content_on(what).map(|_| kind),
            None => Ok(kind),
        }
    }

    /// A served type, from an id the request sent (checked as its type wants it).
    pub(crate) fn served_id(&self, id: &pb::ResourceId) -> Result<Kind, ConnectorError> {
        let kind = Kind::named(&id.resource_type)?;
        kind.check_id(&id.resource)?;
        self.serving(kind)
    }

    /// ListResources, with what each id is noted for the change feed.
    /// `sync`: the client's sync id (`active_sync_id`), empty outside a sync.
    pub(crate) async fn list(
        &self,
        kind: Kind,
        parent: Option<&pb::ResourceId>,
        (token, size): (&str, u32),
        sync: &str,
    ) -> Result<Page<pb::Resource>, ConnectorError> {
        let page = self.listing(kind, parent, token, size, sync).await?;
        self.directory.saw(kind, page.0.iter().filter_map(ids_of));
        Ok(page)
    }

    /// A type's top-level listing, or its listing under `parent`.
    async fn listing(
        &self,
        kind: Kind,
        parent: Option<&pb::ResourceId>,
        token: &str,
        size: u32,
        sync: &str,
    ) -> Result<Page<pb::Resource>, ConnectorError> {
        if let Some(p) = parent {
            let parent_kind = Kind::named(&p.resource_type)?;
            parent_kind.check_id(&p.resource)?;
            if !kind.child_of(parent_kind) {
                return single_page(token, Vec::new());
            }
            self.serving(kind)?;
            return match kind {
                Kind::Board => self.list_boards(&p.resource, token, size).await,
                Kind::Space => self.list_spaces(&p.resource, token, size).await,
                Kind::User
                | Kind::Team
                | Kind::Role
                | Kind::Group
                | Kind::License
                | Kind::Organization => single_page(token, Vec::new()),
            };
        }
        match kind {
            Kind::User => self.list_users(token, size, sync).await,
            Kind::Team => self.list_teams(token, size).await,
            Kind::Group => self.list_groups(token, size).await,
            Kind::Role => self.list_roles(token).await,
            Kind::License => single_page(token, licenses::all().map(licenses::resource).collect()),
            Kind::Organization => single_page(token, vec![self.organization().await?]),
            // Listed under their teams only; empty here whether content is on or off, so a sync
            // filtered to them does not fail.
            Kind::Board | Kind::Space => single_page(token, Vec::new()),
        }
    }

    /// GetResource, with what the id is noted for the change feed.
    pub(crate) async fn get(
        &self,
        id: &pb::ResourceId,
        parent: Option<&pb::ResourceId>,
    ) -> Result<pb::Resource, ConnectorError> {
        let kind = self.served_id(id)?;
        let r = self.get_of(kind, id, parent).await?;
        self.directory.saw(kind, ids_of(&r).into_iter());
        Ok(r)
    }

    async fn get_of(
        &self,
        kind: Kind,
        id: &pb::ResourceId,
        parent: Option<&pb::ResourceId>,
    ) -> Result<pb::Resource, ConnectorError> {
        match kind {
            Kind::User => self.get_user(&id.resource).await,
            Kind::Team => self.get_team(&id.resource).await,
            Kind::Group => self.get_group(&id.resource).await,
            Kind::Board => self.get_board(&id.resource).await,
            Kind::Space => self.get_space(&id.resource, parent).await,
            Kind::Role => roles::Role::lookup(&id.resource).map(|r| r.resource()),
            Kind::License => licenses::parse(&id.resource).map(licenses::resource),
            Kind::Organization => self.get_organization(&id.resource).await,
        }
    }

    /// ListEntitlements: every type's fit on one page.
    pub(crate) async fn entitlements(
        &self,
        resource: &pb::Resource,
        id: &pb::ResourceId,
    ) -> Result<Vec<pb::Entitlement>, ConnectorError> {
        Ok(match self.served_id(id)? {
            Kind::Team => teams::entitlements(resource),
            Kind::Role => vec![roles::Role::lookup(&id.resource)?.entitlement()],
            Kind::Group => vec![groups::entitlement_of(resource)],
            Kind::Board => self.board_entitlements(resource, &id.resource).await?,
            Kind::Space => self.space_entitlements(resource, &id.resource)?,
            Kind::License => vec![licenses::entitlement_of(licenses::parse(&id.resource)?)],
            Kind::User | Kind::Organization => Vec::new(),
        })
    }

    /// ListGrants: a page of grants, its next token, and annotations for the response.
    pub(crate) async fn grants(
        &self,
        resource: &pb::Resource,
        id: &pb::ResourceId,
        (token, size): (&str, u32),
        sync: &str,
    ) -> Result<(Vec<pb::Grant>, String, Vec<prost_types::Any>), ConnectorError> {
        let plain = |(list, next)| (list, next, Vec::new());
        match self.served_id(id)? {
            Kind::Team => self.team_grants(resource, token, size).await.map(plain),
            Kind::Group => self.group_grants(resource, token, size).await.map(plain),
            Kind::Board => self.board_grants(resource, token, size).await.map(plain),
            Kind::Space => self.space_grants(resource, token, size).await.map(plain),
            // Asked for a user (outside a sync, or in a targeted one), its role and license
            // grants come from the profile the client sends back; in a sync, from the role's and
            // license's own listings (`holdings`).
            Kind::User => {
                only_page(token)?;
                let (list, annotations) = self.user_grants(resource).await?;
                Ok((list, String::new(), annotations))
            }
            Kind::Role => match roles::Role::lookup(&id.resource)? {
                roles::Role::Listed(d) => {
                    let of = Holding::Role(d);
                    self.holder_grants(of, sync, token, size).await.map(plain)
                }
                // Its holders answer these grants themselves, naming the role whole.
                roles::Role::Custom(_) => single_page(token, Vec::new()).map(plain),
            },
            Kind::License => {
                let of = Holding::License(licenses::parse(&id.resource)?);
                self.holder_grants(of, sync, token, size).await.map(plain)
            }
            Kind::Organization => single_page(token, Vec::new()).map(plain),
        }
    }

    /// DeleteResource and DeleteResourceV2: deprovision a user, or delete a user group.
    pub(crate) async fn delete(
        &self,
        id: Option<&pb::ResourceId>,
    ) -> Result<Vec<prost_types::Any>, ConnectorError> {
        let id = ids::require_id("resource_id", id)?;
        let kind = Kind::named(&id.resource_type)?;
        match kind {
            Kind::User => self.deprovision(&id.resource).await,
            Kind::Group => self.delete_user_group(&id.resource).await,
            Kind::Team
            | Kind::Role
            | Kind::License
            | Kind::Board
            | Kind::Space
            | Kind::Organization => Err(deletion_unsupported(kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_registered_once_and_found_by_its_id() {
        for k in Kind::ALL {
            assert_eq!(Kind::named(k.id()).unwrap(), k);
            assert_eq!(Kind::ALL.iter().filter(|o| o.id() == k.id()).count(), 1);
            assert_eq!(k.resource_type().id, k.id(), "its description names it");
        }
        let e = Kind::named("widget").unwrap_err().to_string();
        for k in Kind::ALL {
            assert!(e.contains(k.id()), "{e}");
        }
        assert!(matches!(
            Kind::named(""),
            Err(ConnectorError::InvalidArgument(_))
        ));
    }
}
