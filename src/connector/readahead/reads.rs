//! The Miro listings a walk may read ahead, each built in one place: the RPC that needs a page and
//! the read-ahead that anticipates it make the same request under the same key.
use std::sync::Arc;

use futures::FutureExt;

use super::{Key, Pages};
use crate::{
    connector::{Connector, ConnectorError},
    miro::{
        Miro, MiroError,
        content_models::GroupShare,
        models::{Assignment, GroupMember, OrgMember, TeamMember},
        paging::{Page, PageAt},
        rest::MemberFilter,
    },
};

/// A listing of `what` about `resource`, `limit` a page, each page asked for by `ask`.
fn pages<T, F>(what: &'static str, resource: &str, limit: usize, ask: F) -> Arc<Pages<T>>
where
    T: Send + 'static,
    F: Fn(Option<String>, usize) -> futures::future::BoxFuture<'static, Result<Page<T>, MiroError>>
        + Send
        + Sync
        + 'static,
{
    let limit = PageAt::first().with_limit(limit).limit;
    let resource = resource.to_string();
    Arc::new(Pages {
        key: Box::new(move |cursor| Key {
            what,
            resource: resource.clone(),
            cursor: cursor.unwrap_or_default().into(),
            limit,
        }),
        request: Box::new(move |cursor| ask(cursor.map(str::to_string), limit)),
    })
}

/// The organization's members.
pub(crate) fn members(m: &Arc<Miro>, org: &str, limit: usize) -> Arc<Pages<OrgMember>> {
    let (m, org) = (m.clone(), org.to_string());
    pages("members", "", limit, move |c, limit| {
        let (m, org) = (m.clone(), org.clone());
        async move {
            let at = PageAt::after(c.as_deref()).with_limit(limit);
            m.rest
                .members_page(&org, &MemberFilter::default(), at)
                .await
        }
        .boxed()
    })
}

/// A team's members.
pub(crate) fn team_members(
    m: &Arc<Miro>,
    org: &str,
    team: &str,
    limit: usize,
) -> Arc<Pages<TeamMember>> {
    let (m, org, t) = (m.clone(), org.to_string(), team.to_string());
    pages("team members", team, limit, move |c, limit| {
        let (m, org, t) = (m.clone(), org.clone(), t.clone());
        async move {
            let at = PageAt::after(c.as_deref()).with_limit(limit);
            m.rest.team_members_page(&org, &t, None, at).await
        }
        .boxed()
    })
}

/// A user group's members.
pub(crate) fn group_members(
    m: &Arc<Miro>,
    org: &str,
    group: &str,
    limit: usize,
) -> Arc<Pages<GroupMember>> {
    let (m, org, g) = (m.clone(), org.to_string(), group.to_string());
    pages("group members", group, limit, move |c, limit| {
        let (m, org, g) = (m.clone(), org.clone(), g.clone());
        async move {
            let at = PageAt::after(c.as_deref()).with_limit(limit);
            m.rest.group_members_page(&org, &g, at).await
        }
        .boxed()
    })
}

/// The teams a user group is assigned to.
pub(crate) fn group_teams(
    m: &Arc<Miro>,
    org: &str,
    group: &str,
    limit: usize,
) -> Arc<Pages<Assignment>> {
    let (m, org, g) = (m.clone(), org.to_string(), group.to_string());
    pages("group teams", group, limit, move |c, limit| {
        let (m, org, g) = (m.clone(), org.clone(), g.clone());
        async move {
            let at = PageAt::after(c.as_deref()).with_limit(limit);
            m.rest.group_teams_page(&org, &g, at).await
        }
        .boxed()
    })
}

/// The user groups a board is shared with.
pub(crate) fn board_groups(
    m: &Arc<Miro>,
    org: &str,
    board: &str,
    limit: usize,
) -> Arc<Pages<GroupShare>> {
    let (m, org, b) = (m.clone(), org.to_string(), board.to_string());
    pages("board groups", board, limit, move |c, limit| {
        let (m, org, b) = (m.clone(), org.clone(), b.clone());
        async move {
            let at = PageAt::after(c.as_deref()).with_limit(limit);
            m.rest.board_groups_page(&org, &b, at).await
        }
        .boxed()
    })
}

/// Pages a listing keeps on their way ahead of the client reading it.
pub(crate) const LEAD: usize = 2;
/// Pages of a resource the client has not reached yet read ahead: a large team's cursor chain is
/// sequential, so its pages must start before the client gets there to be ready when it does.
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
        if let Some(next) = page.next.as_deref() {
            self.ahead.lead(pages, Some(next), lead);
        }
        Ok(page)
    }
}
