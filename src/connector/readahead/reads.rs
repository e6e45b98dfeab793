//! The Miro requests a walk may read ahead, each built in one place: the RPC that needs the answer
//! and the read-ahead that anticipates it make the same request under the same key.
use std::sync::Arc;

use futures::{FutureExt, future::BoxFuture};

use super::Key;
use crate::{
    connector::{Connector, ConnectorError},
    miro::{
        Miro, MiroError,
        models::{Assignment, GroupMember, OrgMember, TeamMember},
        paging::{Page, PageAt},
        rest::MemberFilter,
    },
};

type Run<T> =
    Box<dyn FnOnce(Arc<Miro>, String) -> BoxFuture<'static, Result<Page<T>, MiroError>> + Send>;

/// One page request: its key, and how to make it given the client and the organization.
pub(crate) struct Read<T> {
    pub key: Key,
    run: Run<T>,
}

impl<T> Read<T> {
    fn new(
        what: &'static str,
        resource: &str,
        cursor: Option<&str>,
        limit: usize,
        run: Run<T>,
    ) -> Self {
        Self {
            key: Key {
                what,
                resource: resource.into(),
                cursor: cursor.unwrap_or_default().into(),
                limit: PageAt::first().with_limit(limit).limit,
            },
            run,
        }
    }
}

/// A page of the organization's members.
pub(crate) fn members(cursor: Option<&str>, limit: usize) -> Read<OrgMember> {
    let c = cursor.map(str::to_string);
    Read::new(
        "members",
        "",
        cursor,
        limit,
        Box::new(move |m, org| {
            async move {
                let at = PageAt::after(c.as_deref()).with_limit(limit);
                m.rest
                    .members_page(&org, &MemberFilter::default(), at)
                    .await
            }
            .boxed()
        }),
    )
}

/// A page of a team's members.
pub(crate) fn team_members(team: &str, cursor: Option<&str>, limit: usize) -> Read<TeamMember> {
    let (t, c) = (team.to_string(), cursor.map(str::to_string));
    Read::new(
        "team members",
        team,
        cursor,
        limit,
        Box::new(move |m, org| {
            async move {
                let at = PageAt::after(c.as_deref()).with_limit(limit);
                m.rest.team_members_page(&org, &t, None, at).await
            }
            .boxed()
        }),
    )
}

/// A page of a user group's members.
pub(crate) fn group_members(group: &str, cursor: Option<&str>, limit: usize) -> Read<GroupMember> {
    let (g, c) = (group.to_string(), cursor.map(str::to_string));
    Read::new(
        "group members",
        group,
        cursor,
        limit,
        Box::new(move |m, org| {
            async move {
                let at = PageAt::after(c.as_deref()).with_limit(limit);
                m.rest.group_members_page(&org, &g, at).await
            }
            .boxed()
        }),
    )
}

/// A page of the teams a user group is assigned to.
pub(crate) fn group_teams(group: &str, cursor: Option<&str>, limit: usize) -> Read<Assignment> {
    let (g, c) = (group.to_string(), cursor.map(str::to_string));
    Read::new(
        "group teams",
        group,
        cursor,
        limit,
        Box::new(move |m, org| {
            async move {
                let at = PageAt::after(c.as_deref()).with_limit(limit);
                m.rest.group_teams_page(&org, &g, at).await
            }
            .boxed()
        }),
    )
}

impl Connector {
    /// The answer to `r`: from the store when it was read ahead, else asked now.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        r: Read<T>,
    ) -> Result<Page<T>, ConnectorError> {
        let org = self.org_id().await?.to_string();
        let direct = (r.run)(self.miro.clone(), org);
        Ok(self.ahead.fetch(&r.key, direct).await?)
    }

    /// Start `r` ahead of the client.
    pub(crate) fn read_ahead<T: Send + 'static>(&self, org: &str, r: Read<T>) {
        if self.ahead.enabled() {
            let fetch = (r.run)(self.miro.clone(), org.to_string());
            self.ahead.start(r.key, fetch);
        }
    }
}
