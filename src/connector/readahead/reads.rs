//! The Miro listings a walk may read ahead, each built in one place: the RPC that needs a page and
//! the read-ahead that anticipates it make the same request under the same key.
use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use futures::{
    FutureExt,
    future::{BoxFuture, Shared},
};

use super::{Key, Pages};
use crate::{
    connector::{
        Connector, ConnectorError,
        names::{Names, lookup},
    },
    miro::{
        Miro, MiroError,
        content_models::{Access, Board, GroupShare, Project},
        models::{Assignment, GroupMember, License, OrgMember, ScimUser, TeamMember},
        paging::{Page, PageAt, offset_limit},
        ratelimit,
        rest::MemberFilter,
        scim::MAX_COUNT,
        spaces::SpaceAt,
    },
};

/// One page to ask Miro for: owned, so that the request can run on its own.
struct Ask {
    m: Arc<Miro>,
    org: String,
    resource: String,
    cursor: Option<String>,
    limit: usize,
}

impl Ask {
    fn at(&self) -> PageAt<'_> {
        PageAt::after(self.cursor.as_deref()).with_limit(self.limit)
    }
}

/// A REST listing of `what` about `resource` in `org`, `limit` a page (as REST pages allow),
/// each page asked for by `ask`.
fn listing<T, F, Fut>(
    m: &Arc<Miro>,
    org: &str,
    what: &'static str,
    resource: &str,
    limit: usize,
    ask: F,
) -> Arc<Pages<T>>
where
    T: Send + 'static,
    F: Fn(Ask) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>, MiroError>> + Send + 'static,
{
    let limit = PageAt::first().with_limit(limit).limit;
    listing_sized(m, org, what, resource, limit, ask)
}

/// `listing` with `limit` as it is.
fn listing_sized<T, F, Fut>(
    m: &Arc<Miro>,
    org: &str,
    what: &'static str,
    resource: &str,
    limit: usize,
    ask: F,
) -> Arc<Pages<T>>
where
    T: Send + 'static,
    F: Fn(Ask) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>, MiroError>> + Send + 'static,
{
    let (m, org, resource) = (m.clone(), org.to_string(), resource.to_string());
    let key_resource = resource.clone();
    Arc::new(Pages {
        key: Box::new(move |cursor| Key {
            what,
            resource: key_resource.clone(),
            cursor: cursor.unwrap_or_default().into(),
            limit,
        }),
        request: Box::new(move |cursor| {
            ask(Ask {
                m: m.clone(),
                org: org.clone(),
                resource: resource.clone(),
                cursor: cursor.map(str::to_string),
                limit,
            })
            .boxed()
        }),
    })
}

/// A page's SCIM records by member id, asked for once the page arrived; shared by its members.
pub(crate) type PageNames = Shared<BoxFuture<'static, Arc<HashMap<String, ScimUser>>>>;

/// A member, and the SCIM records of its page.
pub(crate) struct Named {
    pub member: OrgMember,
    pub names: PageNames,
}

/// Aborts the task it guards when dropped: a page thrown away takes its names lookup with it.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether a chain's request, when it is made, is on the listing's critical path.
pub(crate) type Critical = Arc<dyn Fn() -> bool + Send + Sync>;

/// The organization's members (those holding `license`, when given). The page is answered as
/// soon as Miro's REST answer arrives, so a read-ahead chain asks for the next page at once; its
/// SCIM names are asked for at that moment too, on their own, and the page's members share them.
/// A page read ahead so arrives with its names, and the client waits for neither. A page of the
/// `critical` chain goes before other requests waiting for the budget (`ratelimit::urgently`).
pub(crate) fn members(
    m: &Arc<Miro>,
    names: &Arc<Names>,
    org: &str,
    limit: usize,
    license: Option<License>,
    critical: Option<Critical>,
) -> Arc<Pages<Named>> {
    let names = names.clone();
    listing(m, org, chain_key(license), "", limit, move |a| {
        let (names, critical) = (names.clone(), critical.clone());
        async move {
            let filter = MemberFilter {
                license: license.map(|l| l.as_str().to_string()),
                ..MemberFilter::default()
            };
            let fetch = a.m.rest.members_page(&a.org, &filter, a.at());
            let page = match critical.is_some_and(|c| c()) {
                true => ratelimit::urgently(fetch).await?,
                false => fetch.await?,
            };
            let (m, listed) = (a.m.clone(), page.items.clone());
            let task =
                tokio::spawn(
                    async move { Arc::new(lookup(&names, m.scim.as_ref(), &listed).await) },
                );
            let guard = AbortOnDrop(task.abort_handle());
            let shared: PageNames = async move {
                let _guard = guard;
                task.await.unwrap_or_default()
            }
            .boxed()
            .shared();
            let items = page
                .items
                .into_iter()
                .map(|member| Named {
                    member,
                    names: shared.clone(),
                })
                .collect();
            Ok(Page {
                items,
                next: page.next,
            })
        }
    })
}

/// The read-ahead key of a member chain (static, as keys are).
fn chain_key(license: Option<License>) -> &'static str {
    match license {
        None => "members",
        Some(License::Advanced) => "members license=advanced",
        Some(License::Standard) => "members license=standard",
        Some(License::Basic) => "members license=basic",
        Some(License::Full) => "members license=full",
        Some(License::Occasional) => "members license=occasional",
        Some(License::Free) => "members license=free",
        Some(License::FreeRestricted) => "members license=free_restricted",
        Some(License::FullTrial) => "members license=full_trial",
        Some(License::Unknown) => "members license=unknown",
    }
}

/// A team's members.
pub(crate) fn team_members(
    m: &Arc<Miro>,
    org: &str,
    team: &str,
    limit: usize,
) -> Arc<Pages<TeamMember>> {
    listing(m, org, "team members", team, limit, |a| async move {
        a.m.rest
            .team_members_page(&a.org, &a.resource, None, a.at())
            .await
    })
}

/// A user group's members.
pub(crate) fn group_members(
    m: &Arc<Miro>,
    org: &str,
    group: &str,
    limit: usize,
) -> Arc<Pages<GroupMember>> {
    listing(m, org, "group members", group, limit, |a| async move {
        a.m.rest
            .group_members_page(&a.org, &a.resource, a.at())
            .await
    })
}

/// The teams a user group is assigned to.
pub(crate) fn group_teams(
    m: &Arc<Miro>,
    org: &str,
    group: &str,
    limit: usize,
) -> Arc<Pages<Assignment>> {
    listing(m, org, "group teams", group, limit, |a| async move {
        a.m.rest.group_teams_page(&a.org, &a.resource, a.at()).await
    })
}

/// The user groups a board is shared with.
pub(crate) fn board_groups(
    m: &Arc<Miro>,
    org: &str,
    board: &str,
    limit: usize,
) -> Arc<Pages<GroupShare>> {
    listing(m, org, "board groups", board, limit, |a| async move {
        a.m.rest
            .board_groups_page(&a.org, &a.resource, a.at())
            .await
    })
}

/// A team's boards (offset pages: the cursor is the offset).
pub(crate) fn team_boards(m: &Arc<Miro>, team: &str, limit: usize) -> Arc<Pages<Board>> {
    listing(
        m,
        "",
        "team boards",
        team,
        offset_limit(limit),
        |a| async move {
            let offset = a
                .cursor
                .as_deref()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let page = a.m.rest.boards_page(&a.resource, offset, a.limit).await?;
            Ok(Page {
                items: page.items,
                next: page.next.map(|o| o.to_string()),
            })
        },
    )
}

/// A team's Spaces.
pub(crate) fn team_spaces(
    m: &Arc<Miro>,
    org: &str,
    team: &str,
    limit: usize,
) -> Arc<Pages<Project>> {
    listing(m, org, "team spaces", team, limit, |a| async move {
        a.m.rest.projects_page(&a.org, &a.resource, a.at()).await
    })
}

/// The user groups a Space is shared with.
pub(crate) fn space_groups(
    m: &Arc<Miro>,
    org: &str,
    space: &str,
    limit: usize,
) -> Arc<Pages<GroupShare>> {
    listing(m, org, "space groups", space, limit, |a| async move {
        a.m.rest
            .project_groups_page(&a.org, &a.resource, a.at())
            .await
    })
}

/// A Space's team access (from its settings): one answer, as a page of one.
pub(crate) fn space_access(
    m: &Arc<Miro>,
    org: &str,
    team: &str,
    space: &str,
) -> Arc<Pages<Access>> {
    let team = team.to_string();
    listing(m, org, "space access", space, 1, move |a| {
        let team = team.clone();
        async move {
            let at = SpaceAt {
                org: &a.org,
                team: &team,
                project: &a.resource,
            };
            let access = a.m.rest.project_team_access(at).await?;
            Ok(Page {
                items: vec![access],
                next: None,
            })
        }
    })
}

/// One page of SCIM's users, as a page of one: the admin role names its users hold, and the
/// listing's total as it was then.
pub(crate) struct AdminRoles {
    pub names: BTreeSet<String>,
    pub total: u64,
}

/// SCIM's users (`startIndex` pages of `scim::MAX_COUNT`), for the admin roles they hold: the
/// cursor is the page's start index, so later pages need not wait for earlier ones.
pub(crate) fn admin_roles(m: &Arc<Miro>) -> Arc<Pages<AdminRoles>> {
    listing_sized(m, "", "scim users", "", MAX_COUNT, |a| async move {
        let Some(scim) = a.m.scim.as_ref() else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let start = a
            .cursor
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let page = scim.list(None, start, a.limit).await?;
        let next = start + page.resources.len();
        let more = !page.resources.is_empty() && (next as u64) <= page.total_results;
        let users = page.resources.iter();
        let names = users.flat_map(|u| u.admin_roles()).map(str::to_string);
        Ok(Page {
            items: vec![AdminRoles {
                names: names.collect(),
                total: page.total_results,
            }],
            next: more.then(|| next.to_string()),
        })
    })
}

/// SCIM pages of users read at once ahead of the client: Little's law on SCIM's `GET /Users`
/// budget (190 requests in 30 s, 6.3 a second) at about 0.8 s a page of 1,000 users (measured
/// behind 250 ms of latency), with some headroom.
pub(crate) const SCIM_AHEAD: usize = 6;
/// Pages a listing keeps on their way ahead of the client reading it.
pub(crate) const LEAD: usize = 2;
/// Pages of a resource the client has not reached yet read ahead at once: a large team's cursor
/// chain is sequential, so its pages must start before the client gets there to be ready when it
/// does. A team's or group's chain then goes on past them while the store has room (`MAX_DEEP`).
pub(crate) const AHEAD: usize = 6;

impl Connector {
    /// The page of `pages` at `cursor`: from the store when it was read ahead, else asked now;
    /// then the next `lead` pages are on their way while the client works on this one.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        pages: &Arc<Pages<T>>,
        cursor: Option<&str>,
        lead: usize,
    ) -> Result<Page<T>, ConnectorError> {
        Ok(self.read_answer(pages, cursor, lead).await?)
    }

    /// `read`, with Miro's error as it came (for a caller that tells a refusal from a failure).
    pub(crate) async fn read_answer<T: Send + 'static>(
        &self,
        pages: &Arc<Pages<T>>,
        cursor: Option<&str>,
        lead: usize,
    ) -> Result<Page<T>, MiroError> {
        let page = self
            .ahead
            .fetch(&pages.key(cursor), (pages.request)(cursor))
            .await?;
        self.ahead.walking();
        if let Some(next) = page.next.as_deref() {
            self.ahead.lead(pages, Some(next), lead);
        }
        Ok(page)
    }
}
