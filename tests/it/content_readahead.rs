//! Read-ahead of content (#26): a walk's next teams' board and Space listings are on their way
//! before the client asks; scattered asks read nothing ahead; a board's write throws away its
//! team's listing read ahead.

use miro_connector::{connector::ContentMode, pb};
use tonic::transport::Channel;

use super::{common::*, rpc};

const BOARDS: &str = "GET /v2/boards";
const SPACES: &str = "GET /v2/orgs/{org_id}/teams/{team_id}/projects";
const WINDOW: u64 = 24;

/// The first page of `kind` under `team`.
async fn first_children(ch: &Channel, kind: &str, team: &pb::Resource) -> Vec<pb::Resource> {
    rpc::resources_page(ch, kind, team.id.clone(), "")
        .await
        .unwrap()
        .list
}

#[tokio::test]
async fn a_walk_reads_the_next_teams_listings_ahead_and_scattered_asks_do_not() {
    let p = Fixture::new()
        .members(400)
        .teams(40)
        .content(ContentMode::Sharing)
        .start()
        .await;
    for (kind, endpoint) in [("board", BOARDS), ("project", SPACES)] {
        let teams = rpc::resources(&p.ch, "team").await;
        p.sim.reset_stats();
        for i in [30, 4, 17, 9] {
            first_children(&p.ch, kind, &teams[i]).await;
        }
        assert_eq!(
            settle(&p.sim, endpoint).await,
            4,
            "{kind}: a targeted sync's asks"
        );
        // A new listing of teams is a new walk: three teams in order, then the next 24 teams'
        // first pages (and the next two pages of a listing in hand).
        let teams = rpc::resources(&p.ch, "team").await;
        p.sim.reset_stats();
        for t in &teams[..3] {
            first_children(&p.ch, kind, t).await;
        }
        let read = settle(&p.sim, endpoint).await;
        assert!(
            (3 + WINDOW..=3 * 3 + WINDOW).contains(&read),
            "{kind}: {read} pages for three teams asked"
        );
    }
}

/// The profile value `key` of a board in a listing.
fn field<'a>(list: &'a [pb::Resource], board: &str, key: &str) -> Option<&'a str> {
    let b = list
        .iter()
        .find(|r| r.id.as_ref().is_some_and(|i| i.resource == board))?;
    match &b.profile.as_ref()?.fields.get(key)?.kind {
        Some(prost_types::value::Kind::StringValue(s)) => Some(s),
        _ => None,
    }
}

#[tokio::test]
async fn a_link_change_throws_away_the_boards_listing_read_ahead_for_its_team() {
    let p = Fixture::new()
        .members(400)
        .teams(40)
        .writes()
        .content(ContentMode::Sharing)
        .start()
        .await;
    let teams = rpc::resources(&p.ch, "team").await;
    // A team the walk will reach after its first three, and one of its boards.
    let (target, board) = teams[3..20]
        .iter()
        .find_map(|t| {
            let team = &t.id.as_ref()?.resource;
            let org = p.sim.org();
            let b = org.boards.values().find(|b| &b.team_id == team)?;
            Some((t.clone(), b.id.clone()))
        })
        .expect("a team with a board");
    for t in &teams[..3] {
        first_children(&p.ch, "board", t).await;
    }
    settle(&p.sim, BOARDS).await;
    // The target's page, read ahead and claimed: the link as it is.
    let before = first_children(&p.ch, "board", &target).await;
    let was = field(&before, &board, "link_access").unwrap().to_string();
    let want = if was == "private" { "view" } else { "private" };
    // Read ahead again (a fresh walk), then change the link while the store holds the page.
    let teams = rpc::resources(&p.ch, "team").await;
    for t in &teams[..3] {
        first_children(&p.ch, "board", t).await;
    }
    settle(&p.sim, BOARDS).await;
    set_link(&p.ch, &board, want).await;
    let after = first_children(&p.ch, "board", &target).await;
    assert_eq!(field(&after, &board, "link_access"), Some(want));
}

async fn set_link(ch: &Channel, board: &str, access: &str) {
    use pb::action_service_client::ActionServiceClient;
    use prost_types::{Struct, Value, value::Kind};
    let s = |v: &str| Value {
        kind: Some(Kind::StringValue(v.into())),
    };
    let args = Struct {
        fields: [
            ("board_id".to_string(), s(board)),
            ("access".to_string(), s(access)),
        ]
        .into_iter()
        .collect(),
    };
    ActionServiceClient::new(ch.clone())
        .invoke_action(pb::InvokeActionRequest {
            name: "set_link_access".into(),
            resource_type_id: "board".into(),
            args: Some(args),
            ..Default::default()
        })
        .await
        .unwrap();
}
