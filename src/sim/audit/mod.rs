//! `GET /v2/audit/logs` (Enterprise, `auditlogs:read`, Level 2; the gate checks all three), and the
//! recording of each write the simulator serves into the log it reads.
mod log;

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use serde_json::Value;

pub use log::WRITE_EVENT_NAMES;
pub(crate) use log::{Log, now_ms};

use super::{
    AppState,
    answer::{self, Result, bad},
    state::Org,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v2/audit/logs", get(list))
}

/// The spec's query time: UTC, with milliseconds and a trailing `Z` (`2023-03-30T17:26:50.000Z`).
fn query_time(q: &HashMap<String, String>, key: &str) -> Result<i64> {
    const Z: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let v = q
        .get(key)
        .ok_or_else(|| bad(&format!("{key} is required")))?;
    let t = time::PrimitiveDateTime::parse(v, Z).map_err(|_| {
        bad(&format!(
            "{key} must be UTC in ISO 8601 with milliseconds and a trailing Z, e.g. 2023-03-30T17:26:50.000Z"
        ))
    })?;
    Ok((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

async fn list(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let after = query_time(&q, "createdAfter")?;
    let before = query_time(&q, "createdBefore")?;
    let limit = match q.get("limit") {
        None => 100,
        // No maximum in the spec; the simulator stops at a thousand.
        Some(l) => match l.parse::<usize>() {
            Ok(n @ 1..) => n.min(1000),
            _ => return Err(bad("limit must be a positive integer")),
        },
    };
    let newest_first = match q.get("sorting").map(String::as_str) {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(_) => return Err(bad("sorting must be ASC or DESC")),
    };
    // Only the last 90 days are kept.
    let after = after.max(now_ms() - 90 * 24 * 3600 * 1000);
    let org = answer::read(&s);
    let log = s.audit.lock().unwrap_or_else(|e| e.into_inner());
    let listed: Vec<(String, &log::Event)> = log
        .window(after, before, newest_first)
        .into_iter()
        .map(|e| (e.id(), e))
        .collect();
    let cursor = q.get("cursor").filter(|c| !c.is_empty());
    let start = match cursor {
        None => 0,
        Some(c) => {
            listed
                .iter()
                .position(|(id, _)| id == c)
                .ok_or_else(|| bad("cursor is not valid for this query"))?
                + 1
        }
    };
    Ok(Json(answer::cursor_page(
        &s,
        listed[start..].iter().map(|(id, e)| (id, *e)),
        limit,
        |_, e| e.render(&org),
    )))
}

/// Records a write the gate saw succeed: what it changed, read from its path (and, for a create,
/// from the id in its answer).
pub(super) fn record(s: &AppState, method: &str, path: &str, created: Option<String>) {
    let org = answer::read(s);
    let Some(w) = write_of(&org, method, path, created) else {
        return;
    };
    s.audit
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .record(&org, w);
}

fn write_of(org: &Org, method: &str, path: &str, created: Option<String>) -> Option<log::Write> {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let after = |name: &str| {
        seg.iter()
            .position(|s| *s == name)
            .and_then(|i| seg.get(i + 1))
            .map(|s| s.to_string())
    };
    let team_named = |id: &str| {
        org.teams
            .get(id)
            .map(|t| (t.id.clone(), t.name.clone()))
            .or_else(|| Some((id.to_string(), String::new())))
    };
    let named = |id: String, name: Option<&String>| (id, name.cloned().unwrap_or_default());
    let (m_del, m_post) = (method == "DELETE", method == "POST");
    let pick = |post: usize, patch: usize, delete: usize| {
        if m_post {
            post
        } else if m_del {
            delete
        } else {
            patch
        }
    };
    let w = |kind, object, team| {
        Some(log::Write {
            kind,
            object,
            team,
            scim: false,
        })
    };
    if seg.first() == Some(&"api") {
        // SCIM: /api/v1/scim/Users[/{id}], or /Groups/{id} (a team, in the legacy model).
        let (kind, object, team) = if let Some(team) = after("Groups") {
            (11, team_named(&team), team_named(&team))
        } else {
            let id = after("Users").or(created)?;
            let name = org.members.get(&id).map(|m| &m.email);
            (pick(8, 9, 10), Some(named(id, name)), None)
        };
        return Some(log::Write {
            kind,
            object,
            team,
            scim: true,
        });
    }
    if let Some(board) = after("boards") {
        let b = org.boards.get(&board);
        let team = b.and_then(|b| team_named(&b.team_id));
        let kind = if seg.contains(&"members") || seg.contains(&"groups") {
            6
        } else {
            5
        };
        return w(kind, Some(named(board, b.map(|b| &b.name))), team);
    }
    if let Some(project) = after("projects") {
        let p = org.projects.get(&project);
        let team = after("teams")
            .or_else(|| p.map(|p| p.team_id.clone()))
            .and_then(|t| team_named(&t));
        return w(7, Some(named(project, p.map(|p| &p.name))), team);
    }
    if let Some(group) =
        after("groups").or_else(|| created.clone().filter(|_| seg.last() == Some(&"groups")))
    {
        let team = after("teams").and_then(|t| team_named(&t));
        let kind = if seg.contains(&"members") || team.is_some() {
            4
        } else {
            3
        };
        let name = org.groups.get(&group).map(|g| &g.name);
        return w(kind, Some(named(group, name)), team);
    }
    let team = after("teams")?;
    let member = after("members").or(created);
    let object = member.map(|id| {
        let email = org.members.get(&id).map(|m| &m.email);
        named(id, email)
    });
    w(pick(0, 1, 2), object, team_named(&team))
}
