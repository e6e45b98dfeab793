//! The `set_link_access` action on boards, through ActionService: listed for boards alone, applied
//! once, a repeat that writes nothing, its result readable by id, bad arguments never reach Miro.
use miro_connector::pb;
use tonic::Code;

use super::{common::*, writer::*};

fn action_args(board: &str, access: &str) -> prost_types::Struct {
    use prost_types::{Struct, Value, value::Kind};
    let s = |v: &str| Value {
        kind: Some(Kind::StringValue(v.into())),
    };
    let resource = Struct {
        fields: [("resource_type_id", s("board")), ("resource_id", s(board))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    };
    Struct {
        fields: [
            (
                "resource".to_string(),
                Value {
                    kind: Some(Kind::StructValue(resource)),
                },
            ),
            ("access".to_string(), s(access)),
        ]
        .into_iter()
        .collect(),
    }
}

/// Link access changes through the `set_link_access` action on boards: once, then a repeat that
/// writes nothing; its result stays readable by id; bad arguments never reach Miro.
#[tokio::test]
async fn the_link_access_action_sets_a_boards_link_once() {
    use pb::action_service_client::ActionServiceClient;
    let p = Fixture::new()
        .writes()
        .content(ContentMode::Sharing)
        .start()
        .await;
    let mut a = ActionServiceClient::new(p.ch.clone());
    let schemas = a
        .list_action_schemas(pb::ListActionSchemasRequest {
            resource_type_id: "board".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .schemas;
    assert_eq!(schemas.len(), 1);
    assert_eq!(schemas[0].name, "set_link_access");
    assert_eq!(schemas[0].resource_type_id, "board");
    let none = a
        .list_action_schemas(pb::ListActionSchemasRequest {
            resource_type_id: "team".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.into_inner().schemas.is_empty());

    let org = p.sim.org();
    let b = board_with(&org, |b| b.sharing.access == "private")
        .id
        .clone();
    let invoke = |access: &str| pb::InvokeActionRequest {
        name: "set_link_access".into(),
        resource_type_id: "board".into(),
        args: Some(action_args(&b, access)),
        ..Default::default()
    };
    let w = p.writes();
    let r = a.invoke_action(invoke("edit")).await.unwrap().into_inner();
    assert_eq!(r.status, pb::BatonActionStatus::Complete as i32);
    assert_eq!(p.sim.org().boards[&b].sharing.access, "edit");
    assert_eq!(p.writes(), w + 1);
    let again = a.invoke_action(invoke("edit")).await.unwrap().into_inner();
    assert_eq!(p.writes(), w + 1, "the repeat writes nothing");
    let changed = &again.response.as_ref().unwrap().fields["changed"];
    assert_eq!(
        changed.kind,
        Some(prost_types::value::Kind::BoolValue(false))
    );
    let status = a
        .get_action_status(pb::GetActionStatusRequest {
            id: r.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status, pb::BatonActionStatus::Complete as i32);
    assert_eq!(status.response, r.response);

    p.sim.reset_stats();
    let e = a.invoke_action(invoke("everyone")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let mut bad = invoke("view");
    bad.args = Some(action_args("../x", "view"));
    assert_eq!(
        a.invoke_action(bad).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let mut other = invoke("view");
    other.name = "delete_board".into();
    assert_eq!(
        a.invoke_action(other).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(p.sim.stats().requests, 0);
    p.daemon.shutdown().await;
}
