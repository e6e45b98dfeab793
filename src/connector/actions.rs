//! Resource actions (`ActionService`). Link access is not a principal, so it changes through an
//! action scoped to the `board` type: `set_link_access` sets who can open a board by its link
//! (`private`, `view`, `comment` or `edit`). It runs within the RPC, reading the board first, and
//! answers COMPLETE; the last results are kept (a bounded number) for GetActionStatus.
use std::{
    collections::VecDeque,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use prost_types::{Struct, value::Kind};
use tonic::{Request, Response, Status};

use super::{
    Connector, ConnectorError,
    ids::{BOARD, board_id, truncated},
    profile::{flag, profile, text},
};
use crate::{
    c1::config::v1 as cfg,
    miro::{boards::Reach, content_models::Access},
    pb::{self, action_service_server::ActionService},
};

pub(super) const SET_LINK_ACCESS: &str = "set_link_access";

/// How many results GetActionStatus can still find.
const KEPT: usize = 256;

#[derive(Default)]
pub(super) struct Recent {
    next: AtomicU64,
    done: Mutex<VecDeque<pb::GetActionStatusResponse>>,
}

impl Recent {
    fn keep(&self, r: pb::GetActionStatusResponse) {
        let mut d = self.done.lock().unwrap_or_else(|p| p.into_inner());
        if d.len() == KEPT {
            d.pop_front();
        }
        d.push_back(r);
    }
    fn find(&self, id: &str) -> Option<pb::GetActionStatusResponse> {
        let d = self.done.lock().unwrap_or_else(|p| p.into_inner());
        d.iter().find(|r| r.id == id).cloned()
    }
    /// The number of results held: bounded by `KEPT`.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.done.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

fn field(name: &str, display: &str, description: &str, kind: cfg::field::Field) -> cfg::Field {
    cfg::Field {
        name: name.into(),
        display_name: display.into(),
        description: description.into(),
        is_required: true,
        field: Some(kind),
        ..Default::default()
    }
}

pub(super) fn schema() -> pb::BatonActionSchema {
    let options = Access::ALL
        .iter()
        .map(|a| cfg::StringFieldOption {
            name: a.as_str().into(),
            value: a.as_str().into(),
            display_name: a.as_str().into(),
        })
        .collect();
    pb::BatonActionSchema {
        name: SET_LINK_ACCESS.into(),
        display_name: "Set link access".into(),
        description:
            "Set who can open the board by its link: private (nobody), view, comment or edit".into(),
        arguments: vec![
            field(
                "resource",
                "Board",
                "The board",
                cfg::field::Field::ResourceIdField(cfg::ResourceIdField {
                    default_value: None,
                }),
            ),
            field(
                "access",
                "Link access",
                "private, view, comment or edit",
                cfg::field::Field::StringField(cfg::StringField {
                    options,
                    ..Default::default()
                }),
            ),
        ],
        return_types: vec![
            field(
                "success",
                "Success",
                "The board's link access is what was asked",
                cfg::field::Field::BoolField(cfg::BoolField::default()),
            ),
            field(
                "previous_access",
                "Previous link access",
                "The link access before the action",
                cfg::field::Field::StringField(cfg::StringField::default()),
            ),
            field(
                "changed",
                "Changed",
                "Whether Miro was written to (false when the access was already so)",
                cfg::field::Field::BoolField(cfg::BoolField::default()),
            ),
        ],
        action_type: vec![pb::ActionType::Dynamic as i32],
        resource_type_id: BOARD.into(),
        ..Default::default()
    }
}

fn arg<'a>(args: Option<&'a Struct>, key: &str) -> Option<&'a Kind> {
    args?.fields.get(key)?.kind.as_ref()
}

fn string<'a>(s: &'a Struct, key: &str) -> Option<&'a str> {
    match s.fields.get(key)?.kind.as_ref()? {
        Kind::StringValue(v) => Some(v),
        _ => None,
    }
}

/// The board an invocation names: `resource` (a resource id, as the platform sends one) or
/// `board_id` (a string, handy on the command line).
fn board_arg(args: Option<&Struct>) -> Result<String, ConnectorError> {
    let bad = |why: &str| ConnectorError::InvalidArgument(format!("{SET_LINK_ACCESS}: {why}"));
    let id = match (arg(args, "resource"), arg(args, "board_id")) {
        (Some(Kind::StructValue(r)), _) => {
            let t = string(r, "resource_type_id").or_else(|| string(r, "resource_type"));
            if t.is_some_and(|t| t != BOARD) {
                return Err(bad("resource must be a board"));
            }
            string(r, "resource_id").ok_or_else(|| bad("resource needs resource_id"))?
        }
        (None, Some(Kind::StringValue(id))) => id.as_str(),
        _ => {
            return Err(bad(
                "name the board: resource {resource_type_id: board, resource_id: <id>} or board_id",
            ));
        }
    };
    Ok(board_id("board id", id)?.to_string())
}

fn access_arg(args: Option<&Struct>) -> Result<Access, ConnectorError> {
    match arg(args, "access") {
        Some(Kind::StringValue(a)) => Access::parse(a).filter(|a| *a != Access::Unknown),
        _ => None,
    }
    .ok_or_else(|| {
        ConnectorError::InvalidArgument(format!(
            "{SET_LINK_ACCESS}: access must be private, view, comment or edit{}",
            match arg(args, "access") {
                Some(Kind::StringValue(a)) => format!(", not {:?}", truncated(a)),
                _ => String::new(),
            }
        ))
    })
}

fn unknown(name: &str) -> ConnectorError {
    ConnectorError::NotFound(format!(
        "no action {:?}; ListActionSchemas lists them ({SET_LINK_ACCESS} on boards, with content access on)",
        truncated(name)
    ))
}

impl Connector {
    fn schemas(&self, resource_type: &str) -> Vec<pb::BatonActionSchema> {
        let on = self.content_on("boards").is_ok();
        if on && (resource_type.is_empty() || resource_type == BOARD) {
            vec![schema()]
        } else {
            Vec::new()
        }
    }

    async fn set_link_access(&self, r: &pb::InvokeActionRequest) -> Result<Struct, ConnectorError> {
        if r.name != SET_LINK_ACCESS
            || !(r.resource_type_id.is_empty() || r.resource_type_id == BOARD)
        {
            return Err(unknown(&r.name));
        }
        self.content_on("boards")?;
        let board = board_arg(r.args.as_ref())?;
        let want = access_arg(r.args.as_ref())?;
        self.require_provisioning()?;
        let _turn = self.writes.turn(format!("{BOARD}:{board}")).await;
        // board_level reads the board and refuses a team the scope leaves out, before any write.
        let (team, now) = self.board_level(&board, Reach::Link).await?;
        // The board's sharing shows in its grants and in its team's board listing.
        let _forget = self.forget_after(Some(vec![board.to_string(), team]));
        let changed = now != want;
        if changed {
            self.miro()
                .rest
                .set_board_access(&board, Reach::Link, want)
                .await?;
        }
        Ok(profile(vec![
            ("success", flag(true)),
            ("board_id", text(&board)),
            ("access", text(want.as_str())),
            ("previous_access", text(now.as_str())),
            ("changed", flag(changed)),
        ]))
    }
}

type Rpc<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl ActionService for Connector {
    async fn invoke_action(
        &self,
        req: Request<pb::InvokeActionRequest>,
    ) -> Rpc<pb::InvokeActionResponse> {
        let (meta, _, r) = req.into_parts();
        let response = self
            .within(&meta, self.set_link_access(&r))
            .await
            .0
            .map_err(Status::from)?;
        let id = format!(
            "{SET_LINK_ACCESS}-{}",
            self.actions.next.fetch_add(1, Ordering::Relaxed) + 1
        );
        let status = pb::BatonActionStatus::Complete as i32;
        self.actions.keep(pb::GetActionStatusResponse {
            name: r.name.clone(),
            id: id.clone(),
            status,
            annotations: Vec::new(),
            response: Some(response.clone()),
        });
        Ok(Response::new(pb::InvokeActionResponse {
            id,
            status,
            annotations: Vec::new(),
            response: Some(response),
            name: r.name,
        }))
    }

    async fn get_action_status(
        &self,
        req: Request<pb::GetActionStatusRequest>,
    ) -> Rpc<pb::GetActionStatusResponse> {
        let id = &req.get_ref().id;
        self.actions.find(id).map(Response::new).ok_or_else(|| {
            Status::from(ConnectorError::NotFound(format!(
                "no action with id {:?}: results of the last {KEPT} actions are kept",
                truncated(id)
            )))
        })
    }

    async fn get_action_schema(
        &self,
        req: Request<pb::GetActionSchemaRequest>,
    ) -> Rpc<pb::GetActionSchemaResponse> {
        let name = &req.get_ref().name;
        self.schemas("")
            .into_iter()
            .find(|s| &s.name == name)
            .map(|s| {
                Response::new(pb::GetActionSchemaResponse {
                    schema: Some(s),
                    annotations: Vec::new(),
                })
            })
            .ok_or_else(|| Status::from(unknown(name)))
    }

    async fn list_action_schemas(
        &self,
        req: Request<pb::ListActionSchemasRequest>,
    ) -> Rpc<pb::ListActionSchemasResponse> {
        Ok(Response::new(pb::ListActionSchemasResponse {
            schemas: self.schemas(&req.get_ref().resource_type_id),
            annotations: Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: Vec<(&str, prost_types::Value)>) -> Option<Struct> {
        Some(profile(pairs))
    }

    #[test]
    fn arguments_are_read_and_checked() {
        let resource = prost_types::Value {
            kind: Some(Kind::StructValue(profile(vec![
                ("resource_type_id", text("board")),
                ("resource_id", text("uXjVOD6LSME=")),
            ]))),
        };
        assert_eq!(
            board_arg(args(vec![("resource", resource)]).as_ref()).unwrap(),
            "uXjVOD6LSME="
        );
        assert_eq!(
            board_arg(args(vec![("board_id", text("o9J_k1JKnbc="))]).as_ref()).unwrap(),
            "o9J_k1JKnbc="
        );
        assert!(board_arg(args(vec![("board_id", text("../x"))]).as_ref()).is_err());
        assert!(board_arg(None).is_err());
        assert_eq!(
            access_arg(args(vec![("access", text("edit"))]).as_ref()).unwrap(),
            Access::Edit
        );
        assert!(access_arg(args(vec![("access", text("unknown"))]).as_ref()).is_err());
        assert!(access_arg(args(vec![("access", flag(true))]).as_ref()).is_err());
    }

    #[test]
    fn kept_results_are_bounded() {
        let r = Recent::default();
        for i in 0..1000 {
            r.keep(pb::GetActionStatusResponse {
                id: i.to_string(),
                ..Default::default()
            });
        }
        assert_eq!(r.len(), KEPT);
        assert!(r.find("999").is_some() && r.find("0").is_none());
    }
}
