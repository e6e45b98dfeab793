//! Deterministic sample organizations: a realistic mix from a seed and sizes.
use std::collections::BTreeMap;

use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};

use super::state::{
    AdminRole, Group, Member, Org, PREBUILT_ADMIN_ROLES, Team, TeamMembership, epoch_to_rfc3339,
    format_id,
};

const GIVEN: &[&str] = &[
    "Ada",
    "Björn",
    "Chloé",
    "Dmitri",
    "Émilie",
    "Fatima",
    "Grace",
    "Håkon",
    "Isabel",
    "José",
    "Kenji",
    "Léa",
    "Mateo",
    "Nguyễn",
    "Olusegun",
    "Priya",
    "Quentin",
    "Renée",
    "Søren",
    "Tomás",
    "Uma",
    "Vera",
    "Wei",
    "Xiadani",
    "Yusuf",
    "Zoë",
    "明",
    "Ольга",
];
const FAMILY: &[&str] = &[
    "Lovelace",
    "Ødegaard",
    "Dubois",
    "Ivanov",
    "Müller",
    "Haddad",
    "Hopper",
    "Østby",
    "García",
    "Martínez",
    "Tanaka",
    "Leroy",
    "Rossi",
    "Văn",
    "Adeyemi",
    "Sharma",
    "Moreau",
    "O'Brien",
    "Kierkegaard",
    "Álvarez",
    "Patel",
    "Novak",
    "Zhang",
    "Hernández",
    "Yılmaz",
    "Schäfer",
    "王",
    "Смирнова",
];
const TEAM_WORDS: &[&str] = &[
    "Design",
    "Platform",
    "Growth",
    "Security",
    "Data",
    "Mobile",
    "Payments",
    "Research",
    "Support",
    "Marketing",
    "Infra",
    "Sales",
    "Legal",
    "Finance",
    "People",
    "Brand",
    "Édition",
    "Équipe",
    "北京",
    "Core",
];
/// A fixed point in time so generated data is identical on every run.
const EPOCH_BASE: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// Generate `members` members and `teams` teams; team sizes are skewed (a few large, many small)
/// and add up to about three memberships per member.
pub fn generate(seed: u64, members: usize, teams: usize) -> Org {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut org_members = BTreeMap::new();
    let mut next = 1u64;
    for i in 0..members.max(1) {
        let id = format_id(next);
        next += 1;
        let given = *GIVEN.choose(&mut rng).unwrap_or(&"Alex");
        let family = *FAMILY.choose(&mut rng).unwrap_or(&"Doe");
        // The first member is the token owner: an active admin holding every admin role.
        let role = if i == 0 {
            "organization_internal_admin"
        } else {
            match rng.random_range(0..1000) {
                0..30 => "organization_internal_admin",
                30..870 => "organization_internal_user",
                870..940 => "organization_external_user",
                940..990 => "organization_team_guest_user",
                _ => "unknown",
            }
        };
        let license = match role {
            "organization_internal_admin" => "full",
            "organization_team_guest_user" => "free_restricted",
            _ => match rng.random_range(0..100) {
                0..60 => "full",
                60..70 => "basic",
                70..78 => "standard",
                78..84 => "advanced",
                84..90 => "occasional",
                90..95 => "free",
                95..98 => "full_trial",
                _ => "unknown",
            },
        };
        let admin_roles = if i == 0 {
            PREBUILT_ADMIN_ROLES.iter().map(|n| admin_role(n)).collect()
        } else if role == "organization_internal_admin" {
            PREBUILT_ADMIN_ROLES
                .iter()
                .filter(|_| rng.random_bool(0.3))
                .map(|n| admin_role(n))
                .collect()
        } else {
            Vec::new()
        };
        let active = i == 0 || rng.random_range(0..100) >= 5;
        let local = ascii_local(given, family);
        let domain = if role == "organization_external_user" {
            "partner.example.net"
        } else {
            "example.com"
        };
        let email = if rng.random_range(0..100) < 4 {
            format!("{local}{i}+miro@{domain}")
        } else {
            format!("{local}{i}@{domain}")
        };
        let last_activity_at = (rng.random_range(0..100) >= 8)
            .then(|| epoch_to_rfc3339(EPOCH_BASE + rng.random_range(0..20_000_000)));
        let display_name = (rng.random_range(0..100) < 10)
            .then(|| format!("{given} \"{}\" {family}", &local[..1]));
        org_members.insert(
            id.clone(),
            Member {
                id,
                email,
                role: role.into(),
                license: license.into(),
                active,
                last_activity_at,
                license_assigned_at: Some(epoch_to_rfc3339(
                    EPOCH_BASE - rng.random_range(0..30_000_000),
                )),
                admin_roles,
                given_name: given.into(),
                family_name: family.into(),
                display_name,
            },
        );
    }
    let member_ids: Vec<String> = org_members.keys().cloned().collect();
    let admin_user_id = member_ids[0].clone();

    let mut org_teams = BTreeMap::new();
    let target_memberships = (members * 3) as f64;
    let weights: Vec<f64> = (0..teams)
        .map(|i| 1.0 / ((i + 1) as f64).powf(0.8))
        .collect();
    let total: f64 = weights.iter().sum();
    for (i, w) in weights.iter().enumerate() {
        let id = format_id(next);
        next += 1;
        let size = ((target_memberships * w / total).round() as usize).clamp(1, member_ids.len());
        let mut team_members = BTreeMap::new();
        let stamp = epoch_to_rfc3339(EPOCH_BASE - rng.random_range(0..10_000_000));
        // Every team has its owner as admin, so each team has at least one admin.
        team_members.insert(
            admin_user_id.clone(),
            membership("admin", &stamp, &admin_user_id),
        );
        while team_members.len() < size {
            let uid = &member_ids[rng.random_range(0..member_ids.len())];
            let role = match rng.random_range(0..100) {
                0..6 => "admin",
                6..94 => "member",
                94..99 => "non_team",
                _ => "team_guest",
            };
            team_members
                .entry(uid.clone())
                .or_insert_with(|| membership(role, &stamp, &admin_user_id));
        }
        let name = format!(
            "{} {} {}",
            TEAM_WORDS[i % TEAM_WORDS.len()],
            TEAM_WORDS[(i / 7) % TEAM_WORDS.len()],
            i + 1
        );
        org_teams.insert(
            id.clone(),
            Team {
                id,
                name,
                members: team_members,
            },
        );
    }

    let mut org = Org {
        id: format_id(0),
        name: "Example Corp".into(),
        plan: "company".into(),
        full_licenses_purchased: (members as i32).saturating_mul(11) / 10,
        admin_user_id,
        members: org_members,
        teams: org_teams,
        groups: BTreeMap::new(),
        boards: BTreeMap::new(),
        projects: BTreeMap::new(),
        classification: Default::default(),
    };
    // A stream of its own, so members and teams stay what they were before groups existed.
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6772_6f75_7073);
    add_custom_admin_roles(&mut rng, &mut org);
    add_groups(&mut rng, &mut org, next);
    // Boards from a third stream: members, teams and groups stay what they were before boards.
    super::content::add_boards(
        &mut StdRng::seed_from_u64(seed ^ 0x626f_6172_6473),
        &mut org,
    );
    // Labels from a fourth: the boards themselves stay what they were before classification.
    super::classification::add_labels(
        &mut StdRng::seed_from_u64(seed ^ 0x6c61_6265_6c73),
        &mut org,
    );
    org
}

/// Custom admin roles Miro lets an organization define; names as an admin would type them.
pub const CUSTOM_ADMIN_ROLES: &[&str] = &["Billing Admin", "Board Auditor", "Conformité & Audit"];

/// About a fifth of the admins and one internal user in a hundred hold a custom admin role.
fn add_custom_admin_roles(rng: &mut StdRng, org: &mut Org) {
    let owner = org.admin_user_id.clone();
    for m in org.members.values_mut() {
        let odds = match m.role.as_str() {
            _ if m.id == owner => 0.0,
            "organization_internal_admin" => 0.2,
            "organization_internal_user" => 0.01,
            _ => 0.0,
        };
        if rng.random_bool(odds) {
            let name = CUSTOM_ADMIN_ROLES[rng.random_range(0..CUSTOM_ADMIN_ROLES.len())];
            m.admin_roles.push(AdminRole {
                kind: "custom".into(),
                name: name.into(),
            });
        }
    }
}

/// One group per 200 members (at least 3), skewed sizes adding up to about half a membership
/// per member; a quarter of the groups are assigned to no team, the rest to one or more.
fn add_groups(rng: &mut StdRng, org: &mut Org, mut next: u64) {
    let member_ids: Vec<String> = org.members.keys().cloned().collect();
    let team_ids: Vec<String> = org.teams.keys().cloned().collect();
    let count = (member_ids.len() / 200).max(3);
    let target = member_ids.len() as f64 / 2.0;
    let weights: Vec<f64> = (0..count)
        .map(|i| 1.0 / ((i + 1) as f64).powf(0.9))
        .collect();
    let total: f64 = weights.iter().sum();
    for (i, w) in weights.iter().enumerate() {
        let id = format_id(next);
        next += 1;
        let size = ((target * w / total).round() as usize).clamp(1, member_ids.len());
        let mut members = std::collections::BTreeSet::new();
        while members.len() < size {
            members.insert(member_ids[rng.random_range(0..member_ids.len())].clone());
        }
        let assigned = match rng.random_range(0..100) {
            0..25 => 0,
            25..60 => rng.random_range(1..=2),
            60..90 => rng.random_range(3..=5),
            _ => rng.random_range(6..=12),
        };
        let mut teams = std::collections::BTreeSet::new();
        while teams.len() < assigned.min(team_ids.len()) {
            teams.insert(team_ids[rng.random_range(0..team_ids.len())].clone());
        }
        let word = TEAM_WORDS[(i * 3) % TEAM_WORDS.len()];
        org.groups.insert(
            id.clone(),
            Group {
                id,
                name: format!("{word} group {}", i + 1),
                description: (i % 3 == 0).then(|| format!("Everyone in {word}")),
                members,
                teams,
            },
        );
    }
}

fn admin_role(name: &str) -> AdminRole {
    AdminRole {
        kind: "prebuilt".into(),
        name: name.into(),
    }
}

fn membership(role: &str, stamp: &str, by: &str) -> TeamMembership {
    TeamMembership {
        role: role.into(),
        created_at: stamp.into(),
        created_by: by.into(),
        modified_at: stamp.into(),
        modified_by: by.into(),
    }
}

fn ascii_local(given: &str, family: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphabetic())
            .collect::<String>()
            .to_lowercase()
    };
    let (g, f) = (clean(given), clean(family));
    match (g.is_empty(), f.is_empty()) {
        (false, false) => format!("{g}.{f}"),
        (false, true) => g,
        (true, false) => f,
        (true, true) => "user".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_realistic() {
        let a = generate(7, 2000, 40);
        assert_eq!(a, generate(7, 2000, 40));
        assert_ne!(a, generate(8, 2000, 40));
        assert_eq!(a.members.len(), 2000);
        assert_eq!(a.teams.len(), 40);
        let roles = |r: &str| a.members.values().filter(|m| m.role == r).count();
        for r in super::super::state::ORG_ROLES {
            assert!(roles(r) > 0, "no member with role {r}");
        }
        assert!(a.members.values().any(|m| !m.active));
        assert!(a.members.values().any(|m| m.email.contains('+')));
        assert!(a.members.values().any(|m| !m.given_name.is_ascii()));
        assert!(a.members.values().any(|m| m.license == "unknown"));
        assert!(a.members.values().any(|m| !m.admin_roles.is_empty()));
        let sizes: Vec<usize> = a.teams.values().map(|t| t.members.len()).collect();
        assert!(
            sizes.iter().max() > Some(&(sizes.iter().min().unwrap() * 5)),
            "team sizes are not skewed"
        );
        let m = a.memberships();
        assert!((5000..7000).contains(&m), "memberships {m}");
        assert!(
            a.teams
                .values()
                .flat_map(|t| t.members.values())
                .any(|m| m.role == "non_team")
        );
        assert_eq!(a.groups.len(), 10);
        let g = a.group_memberships();
        assert!((800..1200).contains(&g), "group memberships {g}");
        assert!(a.groups.values().any(|g| g.teams.is_empty()));
        assert!(a.groups.values().any(|g| g.teams.len() > 1));
        let gs: Vec<usize> = a.groups.values().map(|g| g.members.len()).collect();
        assert!(gs.iter().max() > Some(&(gs.iter().min().unwrap() * 5)));
        assert!(
            a.members
                .values()
                .flat_map(|m| &m.admin_roles)
                .any(|r| r.kind == "custom")
        );
        // Groups do not disturb what the seed made before them.
        let ids: Vec<&String> = a.members.keys().chain(a.teams.keys()).collect();
        assert!(a.groups.keys().all(|g| !ids.contains(&g)));
    }
}
