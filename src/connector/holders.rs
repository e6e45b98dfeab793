//! ListGrants of a role or a license: its holders. In a sync whose member listing this daemon
//! served whole, from that listing (`holdings`, no Miro request); otherwise from Miro's member
//! listing, filtered by the role or license where Miro offers the filter (a prebuilt admin role
//! has none, so it reads every member). A custom admin role answers nothing: its holders answer
//! their own grants, naming it whole.
use super::{
    Connector, ConnectorError,
    holdings::{Held, Holdings},
    ids::{LICENSE, ROLE},
    licenses, page_token,
    roles::{self, RoleDef, RoleKind},
};
use crate::{
    miro::{models::License, paging::PageAt, rest::MemberFilter},
    pb,
};

/// Grants a page from the listing kept (about 250 bytes each: far under the client's 4 MiB).
const PAGE: usize = 1000;
/// How a token says where it is: in the kept listing after a member id, or at Miro's cursor.
const KEPT: char = 'k';
const MIRO: char = 'm';

/// A role or license, whose holders are listed.
#[derive(Clone, Copy)]
pub(super) enum Holding {
    Role(&'static RoleDef),
    License(License),
}

impl Holding {
    fn holds(self, h: &Held) -> bool {
        match self {
            Self::Role(d) => h.holds_role(d),
            Self::License(l) => h.holds_license(l),
        }
    }

    fn grant(self, user_id: &str) -> pb::Grant {
        match self {
            Self::Role(d) => roles::grant(d, user_id),
            Self::License(l) => licenses::grant_of(l, user_id),
        }
    }

    fn scope(self) -> String {
        match self {
            Self::Role(d) => format!("grants:{ROLE}:{}", d.id),
            Self::License(l) => format!("grants:{LICENSE}:{}", l.as_str()),
        }
    }

    fn filter(self) -> MemberFilter {
        match self {
            Self::Role(RoleDef {
                kind: RoleKind::Org(o),
                ..
            }) => MemberFilter {
                role: Some(*o),
                ..Default::default()
            },
            Self::Role(_) => MemberFilter::default(),
            Self::License(l) => MemberFilter {
                license: Some(l.as_str().into()),
                ..Default::default()
            },
        }
    }
}

impl Connector {
    pub(super) async fn holder_grants(
        &self,
        of: Holding,
        sync: &str,
        token: &str,
        size: u32,
    ) -> Result<(Vec<pb::Grant>, String), ConnectorError> {
        let scope = of.scope();
        let at = page_token::decode(&scope, token)?;
        let bad = || ConnectorError::BadPageToken("not a holders' position".into());
        let (kept_after, cursor) = match at.as_deref() {
            None => (None, None),
            Some(s) if s.starts_with(KEPT) => {
                (Some(s[1..].parse::<u64>().map_err(|_| bad())?), None)
            }
            Some(s) if s.starts_with(MIRO) && s.len() > 1 => (None, Some(&s[1..])),
            Some(_) => return Err(bad()),
        };
        let limit = match size as usize {
            0 => PAGE,
            n => n.min(PAGE),
        };
        let kept = match cursor {
            None if Holdings::keeps(sync) => self
                .holdings
                .holders(sync, kept_after, limit, |h| of.holds(h)),
            _ => None,
        };
        if let Some((ids, next)) = kept {
            let list = ids.iter().map(|id| of.grant(&id.to_string())).collect();
            let next = next.map(|n| format!("{KEPT}{n}"));
            return Ok((list, page_token::encode(&scope, next.as_deref())));
        }
        if cursor.is_none() {
            // A kept listing's position whose listing is gone starts again from Miro: the grants
            // already given are given again (the same ids), none is missed.
            metrics::counter!("miro_holders_read_from_miro_total", "of" => scope_kind(of))
                .increment(1);
            tracing::info!(of = %scope, "no member listing of this sync kept: reading the holders from Miro");
        }
        let org = self.org_id().await?;
        let page = self
            .miro()
            .rest
            // A member holds a role or license once: a page of `limit` members gives at most
            // `limit` grants.
            .members_page(org, &of.filter(), PageAt::after(cursor).with_limit(limit))
            .await?;
        let list = page
            .items
            .iter()
            // Holders with a custom admin role too: they answer their own grants in a full sync
            // (the same grants), and in a targeted sync of this role nobody else does.
            .filter(|m| of.holds(&Held::of(m).0))
            .map(|m| of.grant(&m.id))
            .collect();
        let next = page.next.map(|c| format!("{MIRO}{c}"));
        Ok((list, page_token::encode(&scope, next.as_deref())))
    }
}

fn scope_kind(of: Holding) -> &'static str {
    match of {
        Holding::Role(_) => ROLE,
        Holding::License(_) => LICENSE,
    }
}
