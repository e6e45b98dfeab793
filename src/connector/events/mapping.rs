//! From Miro's audit events to the protocol's. Usage reads the two event names Miro documents
//! (`sign_in_succeeded`, `board_opened`); changes read no name at all, only the ids an event
//! carries, each checked against what its place and format allow: `context.team.id` is a team, a
//! board-shaped `object.id` a board, and a decimal `object.id` whatever the daemon has served that
//! id as (`directory`).
use crate::{
    connector::{
        ContentScope,
        ids::{BOARD, TEAM, USER, board_id, miro_id, rid},
    },
    miro::audit::AuditEvent,
    pb,
};

pub(super) const SIGN_IN: &str = "sign_in_succeeded";
pub(super) const BOARD_OPENED: &str = "board_opened";

/// What an event names, each id checked for its place.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Named {
    pub team: Option<String>,
    /// A board id and name.
    pub board: Option<(String, String)>,
    /// A decimal id of no known type.
    pub object: Option<String>,
    /// The user who acted, when a user did.
    pub user: Option<(String, String)>,
}

pub(super) fn named(ev: &AuditEvent) -> Named {
    let decimal = |id: &str| miro_id("id", id).is_ok().then(|| id.to_string());
    let team = ev
        .context
        .as_ref()
        .and_then(|c| c.team.as_ref())
        .and_then(|t| decimal(&t.id));
    let (mut board, mut object) = (None, None);
    if let Some(o) = &ev.object {
        if let Some(id) = decimal(&o.id) {
            object = Some(id);
        } else if board_id("board", &o.id).is_ok() {
            board = Some((o.id.clone(), o.name.clone()));
        }
    }
    let user = ev
        .created_by
        .as_ref()
        .filter(|a| a.kind == "user")
        .and_then(|a| {
            let name = [&a.name, &a.email]
                .into_iter()
                .find(|n| !n.trim().is_empty())
                .cloned()
                .unwrap_or_else(|| format!("Miro user {}", a.id));
            decimal(&a.id).map(|id| (id, name))
        });
    Named {
        team,
        board,
        object,
        user,
    }
}

pub(super) fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// The usage an event records: a sign-in uses the organization; a board opening uses the board,
/// when content access covers its team.
pub(super) fn usage(
    ev: &AuditEvent,
    ms: i64,
    n: &Named,
    org: &pb::Resource,
    content: &ContentScope,
) -> Option<pb::Event> {
    let (user, name) = n.user.as_ref()?;
    let target = match ev.event.as_str() {
        SIGN_IN => org.clone(),
        BOARD_OPENED => {
            let (board, title) = n.board.as_ref()?;
            let team = n.team.as_ref().filter(|t| content.covers(t))?;
            pb::Resource {
                id: Some(rid(BOARD, board)),
                parent_resource_id: Some(rid(TEAM, team)),
                display_name: if title.is_empty() {
                    board.clone()
                } else {
                    title.clone()
                },
                ..Default::default()
            }
        }
        _ => return None,
    };
    let actor = pb::Resource {
        id: Some(rid(USER, user)),
        display_name: name.clone(),
        ..Default::default()
    };
    Some(pb::Event {
        id: ev.id.clone(),
        occurred_at: Some(timestamp(ms)),
        annotations: Vec::new(),
        event: Some(pb::event::Event::UsageEvent(pb::UsageEvent {
            target_resource: Some(target),
            actor_resource: Some(actor),
        })),
    })
}

/// A change to one resource; its id is the audit event's and the resource's, so the events one
/// audit event yields are distinct and the same on every read.
pub(super) fn change(
    ev: &AuditEvent,
    ms: i64,
    id: pb::ResourceId,
    parent: Option<pb::ResourceId>,
) -> pb::Event {
    pb::Event {
        id: format!("{}/{}:{}", ev.id, id.resource_type, id.resource),
        occurred_at: Some(timestamp(ms)),
        annotations: Vec::new(),
        event: Some(pb::event::Event::ResourceChangeEvent(
            pb::ResourceChangeEvent {
                resource_id: Some(id),
                parent_resource_id: parent,
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::miro::audit::{AuditActor, AuditContext, AuditRef};

    fn event(object: &str, team: &str) -> AuditEvent {
        AuditEvent {
            id: "e1".into(),
            event: "anything".into(),
            created_at: "2023-09-01T09:30:10.840+0000".into(),
            created_by: Some(AuditActor {
                kind: "user".into(),
                id: "42".into(),
                ..Default::default()
            }),
            object: Some(AuditRef {
                id: object.into(),
                name: "it".into(),
            }),
            context: Some(AuditContext {
                team: Some(AuditRef {
                    id: team.into(),
                    name: String::new(),
                }),
                organization: None,
            }),
        }
    }

    #[test]
    fn ids_are_read_by_their_place_and_shape_never_trusted() {
        let n = named(&event("uXjVOD6LSME=", "7"));
        assert_eq!(n.board, Some(("uXjVOD6LSME=".into(), "it".into())));
        assert_eq!((n.team.as_deref(), n.object), (Some("7"), None));
        assert_eq!(n.user, Some(("42".into(), "Miro user 42".into())));
        let n = named(&event("3458764577585056871", "../x"));
        assert_eq!(n.object.as_deref(), Some("3458764577585056871"));
        assert_eq!((n.team, n.board), (None, None), "a team id that is not one");
        let n = named(&event("a/b?c", ""));
        assert_eq!(
            n,
            Named {
                user: n.user.clone(),
                ..Default::default()
            }
        );
    }

    #[test]
    fn a_board_opening_is_usage_only_where_content_access_reaches() {
        let mut ev = event("uXjVOD6LSME=", "7");
        ev.event = BOARD_OPENED.into();
        let org = pb::Resource::default();
        let n = named(&ev);
        assert!(usage(&ev, 1, &n, &org, &ContentScope::default()).is_none());
        let on = ContentScope {
            mode: crate::connector::ContentMode::Sharing,
            ..Default::default()
        };
        let e = usage(&ev, 1, &n, &org, &on).unwrap();
        let Some(pb::event::Event::UsageEvent(u)) = e.event else {
            panic!("not usage")
        };
        let target = u.target_resource.unwrap();
        assert_eq!(target.id.unwrap().resource, "uXjVOD6LSME=");
        assert_eq!(target.parent_resource_id.unwrap().resource, "7");
        assert_eq!(u.actor_resource.unwrap().id.unwrap().resource, "42");
    }
}
