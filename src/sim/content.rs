//! Generated boards: where an organization's data sits, and the five ways a board reaches people
//! (members, user groups, team, organization, link). From a random stream of its own, so the
//! members, teams and groups a seed makes stay what they were before boards existed.
use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::URL_SAFE};
use rand::{Rng, rngs::StdRng};

use super::state::{Board, Org, Project, Sharing, epoch_to_rfc3339};

const SUBJECTS: &[&str] = &[
    "Roadmap",
    "Retro",
    "Q3 planning",
    "User journeys",
    "Architecture",
    "Brainstorm",
    "M&A plan",
    "Hiring loop",
    "Launch checklist",
    "Customer map",
];

/// A board id as Miro makes them: 8 random bytes, URL-safe base64 with its padding (`uXjVOD6LSME=`).
fn board_id(rng: &mut StdRng) -> String {
    URL_SAFE.encode(rng.random::<[u8; 8]>())
}

fn level(rng: &mut StdRng, weights: [u32; 4]) -> String {
    let total: u32 = weights.iter().sum();
    let mut pick = rng.random_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if pick < *w {
            return ["private", "view", "comment", "edit"][i].into();
        }
        pick -= w;
    }
    "private".into()
}

/// About one board per member, spread over the teams with Zipf weights (a few teams hold most).
/// Each board has its owner (a member of its team) and a few more members, some of them external
/// users or team guests; most are open to their team, some to the organization, about 5% to
/// anyone with the link (a fifth of those to edit), and about one in ten is shared with a group.
pub(super) fn add_boards(rng: &mut StdRng, org: &mut Org) {
    let teams: Vec<(String, Vec<String>)> = org
        .teams
        .values()
        .map(|t| (t.id.clone(), t.members.keys().cloned().collect::<Vec<_>>()))
        .filter(|(_, members)| !members.is_empty())
        .collect();
    if teams.is_empty() {
        return;
    }
    let outsiders: Vec<String> = org
        .members
        .values()
        .filter(|m| {
            matches!(
                m.role.as_str(),
                "organization_external_user" | "organization_team_guest_user"
            )
        })
        .map(|m| m.id.clone())
        .collect();
    let group_ids: Vec<String> = org.groups.keys().cloned().collect();
    let weights: Vec<f64> = (0..teams.len())
        .map(|i| 1.0 / ((i + 1) as f64).powf(0.8))
        .collect();
    let total_weight: f64 = weights.iter().sum();
    let target = org.members.len() as f64;
    let mut boards = BTreeMap::new();
    for ((team_id, team_members), w) in teams.iter().zip(&weights) {
        let count = ((target * w / total_weight).round() as usize).max(1);
        for n in 0..count {
            let mut id = board_id(rng);
            while boards.contains_key(&id) {
                id = board_id(rng);
            }
            let owner = team_members[rng.random_range(0..team_members.len())].clone();
            let mut members = BTreeMap::from([(owner.clone(), "owner".to_string())]);
            for _ in 0..rng.random_range(0..=5) {
                let from_outside = !outsiders.is_empty() && rng.random_bool(0.15);
                let who = if from_outside {
                    &outsiders[rng.random_range(0..outsiders.len())]
                } else {
                    &team_members[rng.random_range(0..team_members.len())]
                };
                let role =
                    ["viewer", "commenter", "editor", "editor", "coowner"][rng.random_range(0..5)];
                members.entry(who.clone()).or_insert_with(|| role.into());
            }
            let mut groups = BTreeMap::new();
            if !group_ids.is_empty() && rng.random_bool(0.1) {
                for _ in 0..rng.random_range(1..=2) {
                    let g = &group_ids[rng.random_range(0..group_ids.len())];
                    let role = ["VIEWER", "COMMENTER", "EDITOR"][rng.random_range(0..3)];
                    groups.insert(g.clone(), role.to_string());
                }
            }
            let link = if rng.random_bool(0.05) {
                level(rng, [0, 50, 30, 20])
            } else {
                "private".into()
            };
            let created = 1_600_000_000 + rng.random_range(0..120_000_000u64);
            let modified = created + rng.random_range(0..20_000_000u64);
            let subject = SUBJECTS[rng.random_range(0..SUBJECTS.len())];
            boards.insert(
                id.clone(),
                Board {
                    id,
                    name: format!("{subject} {}", n + 1),
                    description: String::new(),
                    team_id: team_id.clone(),
                    project_id: None,
                    owner_id: owner,
                    created_at: epoch_to_rfc3339(created),
                    modified_at: epoch_to_rfc3339(modified),
                    last_opened_at: rng
                        .random_bool(0.8)
                        .then(|| epoch_to_rfc3339(modified + rng.random_range(0..5_000_000u64))),
                    sharing: Sharing {
                        access_password_required: link != "private" && rng.random_bool(0.2),
                        access: link,
                        team_access: level(rng, [25, 25, 20, 30]),
                        organization_access: level(rng, [85, 10, 3, 2]),
                    },
                    members,
                    groups,
                    classification: None,
                },
            );
        }
    }
    org.boards = boards;
    add_projects(rng, org);
}

/// A Space's id: numeric, as Miro's are, from a range of its own.
fn project_id(n: u64) -> String {
    format!("{:019}", 3_458_764_517_000_000_000u64 + n)
}

/// About one Space per ten boards of a team, each holding some of the team's boards, with an owner
/// and a few members from the team; two in five open to the team to view, one in ten shared with
/// a user group.
fn add_projects(rng: &mut StdRng, org: &mut Org) {
    let mut by_team: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in org.boards.values() {
        by_team
            .entry(b.team_id.clone())
            .or_default()
            .push(b.id.clone());
    }
    let group_ids: Vec<String> = org.groups.keys().cloned().collect();
    let mut n = 0u64;
    for (team_id, boards) in by_team {
        let team_members: Vec<String> = org.teams[&team_id].members.keys().cloned().collect();
        for k in 0..boards.len() / 10 {
            n += 1;
            let id = project_id(n);
            let owner = team_members[rng.random_range(0..team_members.len())].clone();
            let mut members = BTreeMap::from([(owner, "owner".to_string())]);
            for _ in 0..rng.random_range(0..=4) {
                let who = &team_members[rng.random_range(0..team_members.len())];
                let role = ["coowner", "editor", "commentator", "viewer"][rng.random_range(0..4)];
                members.entry(who.clone()).or_insert_with(|| role.into());
            }
            let mut groups = BTreeMap::new();
            if !group_ids.is_empty() && rng.random_bool(0.1) {
                let g = &group_ids[rng.random_range(0..group_ids.len())];
                groups.insert(
                    g.clone(),
                    ["VIEWER", "COMMENTER", "EDITOR"][rng.random_range(0..3)].into(),
                );
            }
            for b in boards.iter().filter(|_| rng.random_bool(0.04)) {
                if let Some(board) = org.boards.get_mut(b) {
                    board.project_id.get_or_insert_with(|| id.clone());
                }
            }
            let subject = SUBJECTS[rng.random_range(0..SUBJECTS.len())];
            org.projects.insert(
                id.clone(),
                Project {
                    id,
                    name: format!("{subject} space {}", k + 1),
                    team_id: team_id.clone(),
                    team_access: if rng.random_bool(0.4) {
                        "view"
                    } else {
                        "private"
                    }
                    .into(),
                    members,
                    groups,
                },
            );
        }
    }
}
