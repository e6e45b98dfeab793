//! The fewest requests Miro's API allows for reading an organization's boards and Spaces, from
//! the organization itself: what the content tests and the cost benchmark hold a sync to. Every
//! endpoint involved is Level 1 (50 credits) but the two classification reads, Level 2 (100).
use super::state::Org;

/// Requests, by the part of the content they read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentMinimum {
    /// `GET /v2/boards?team_id=` pages (50 a page; one even for a team without boards).
    pub board_pages: u64,
    /// User-group share pages of boards (100 a page; one per board at least).
    pub board_group_pages: u64,
    /// Space pages per team (100 a page; one per team at least).
    pub space_pages: u64,
    /// One settings read per Space.
    pub space_settings: u64,
    /// User-group share pages of Spaces.
    pub space_group_pages: u64,
    /// Board member pages (50 a page), in `members` mode.
    pub board_member_pages: u64,
    /// Space member pages (100 a page), in `members` mode.
    pub space_member_pages: u64,
    /// With classification: the organization's setting, read once.
    pub classification_settings: u64,
    /// With classification, when the organization classifies: one label read per board.
    pub board_labels: u64,
}

impl ContentMinimum {
    fn level_2(&self) -> u64 {
        self.classification_settings + self.board_labels
    }

    pub fn requests(&self) -> u64 {
        self.board_pages
            + self.board_group_pages
            + self.space_pages
            + self.space_settings
            + self.space_group_pages
            + self.board_member_pages
            + self.space_member_pages
            + self.level_2()
    }

    pub fn credits(&self) -> u64 {
        50 * self.requests() + 50 * self.level_2()
    }
}

fn pages(n: usize, per: usize) -> u64 {
    n.div_ceil(per).max(1) as u64
}

/// What a sync reads of boards and Spaces: `members` adds direct members, `classification` the
/// boards' labels.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContentParts {
    pub members: bool,
    pub classification: bool,
}

/// The minimum for the teams `covered` says are read.
pub fn content_minimum(
    org: &Org,
    parts: ContentParts,
    covered: &dyn Fn(&str) -> bool,
) -> ContentMinimum {
    let ContentParts {
        members,
        classification,
    } = parts;
    let mut m = ContentMinimum::default();
    if classification {
        m.classification_settings = 1;
    }
    for t in org.teams.keys().filter(|t| covered(t)) {
        let boards: Vec<_> = org.boards.values().filter(|b| &b.team_id == t).collect();
        let spaces: Vec<_> = org.projects.values().filter(|p| &p.team_id == t).collect();
        m.board_pages += pages(boards.len(), 50);
        m.space_pages += pages(spaces.len(), 100);
        if classification && org.classification.enabled {
            m.board_labels += boards.len() as u64;
        }
        for b in &boards {
            m.board_group_pages += pages(b.groups.len(), 100);
            if members {
                m.board_member_pages += pages(b.members.len(), 50);
            }
        }
        for p in &spaces {
            m.space_settings += 1;
            m.space_group_pages += pages(p.groups.len(), 100);
            if members {
                m.space_member_pages += pages(p.members.len(), 100);
            }
        }
    }
    m
}
