//! Board classification (Enterprise): the organization's settings and each board's label, as the
//! spec's "Board classification" operations answer them. Both reads are Level 2.
use axum::{
    Json, Router,
    extract::{Path, State},
    routing::get,
};
use rand::{Rng, rngs::StdRng};
use serde_json::{Value, json};

use super::{
    AppState,
    answer::{Result, bad, check_org, not_found, read, team},
    state::{Classification, Label, Org},
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v2/orgs/{org_id}/data-classification-settings",
            get(settings),
        )
        .route(
            "/v2/orgs/{org_id}/teams/{team_id}/boards/{board_id}/data-classification",
            get(board_label),
        )
}

/// Labels as an organization typically sets them up, one for each sharing recommendation.
const LABELS: &[(&str, &str, &str)] = &[
    ("Public", "#8FD14F", "NO_SHARING_RESTRICTIONS"),
    ("Internal", "#F5DC80", "ONLY_WITHIN_ORGANIZATION"),
    ("Confidential", "#FAC710", "ONLY_WITHIN_TEAM"),
    ("Restricted", "#F24726", "ONLY_WITH_AUTHORIZED_TEAM_MEMBERS"),
];

/// Classification on, with the four labels (Internal the default); about seven boards in ten
/// carry a label, most of them Internal.
pub(super) fn add_labels(rng: &mut StdRng, org: &mut Org) {
    let labels: Vec<Label> = LABELS
        .iter()
        .enumerate()
        .map(|(i, (name, color, recommendation))| Label {
            id: format!("{:019}", 3_000_457_366_756_290_000u64 + i as u64),
            name: (*name).into(),
            color: (*color).into(),
            description: format!("Boards that are {}", name.to_lowercase()),
            sharing_recommendation: (*recommendation).into(),
            default: i == 1,
        })
        .collect();
    for b in org.boards.values_mut() {
        if rng.random_bool(0.7) {
            let i = [0, 1, 1, 1, 1, 2, 2, 3][rng.random_range(0..8)];
            b.classification = Some(labels[i].id.clone());
        }
    }
    org.classification = Classification {
        enabled: true,
        labels,
    };
}

async fn settings(State(s): State<AppState>, Path(o): Path<String>) -> Result<Json<Value>> {
    let org = read(&s);
    check_org(&org, &o)?;
    let c = &org.classification;
    let labels: Vec<Value> = c
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({"id": l.id, "name": l.name, "color": l.color, "description": l.description,
                "default": l.default, "orderNumber": i, "sharingRecommendation": l.sharing_recommendation,
                "type": "data-classification-label"})
        })
        .collect();
    Ok(Json(json!({
        "enabled": c.enabled, "labels": labels, "type": "data-classification-organization-settings"
    })))
}

/// A board's label; an unlabelled board answers the object with no label in it.
async fn board_label(
    State(s): State<AppState>,
    Path((o, t, b)): Path<(String, String, String)>,
) -> Result<Json<Value>> {
    let org = read(&s);
    team(&org, &o, &t)?;
    let board = org
        .boards
        .get(&b)
        .filter(|x| x.team_id == t)
        .ok_or_else(|| not_found("Board"))?;
    if !org.classification.enabled {
        return Err(bad(
            "Board classification is not enabled for this organization",
        ));
    }
    let label = board
        .classification
        .as_ref()
        .and_then(|id| org.classification.labels.iter().find(|l| &l.id == id));
    Ok(Json(match label {
        Some(l) => json!({"id": l.id, "name": l.name, "color": l.color,
            "description": l.description, "sharingRecommendation": l.sharing_recommendation,
            "type": "board-data-classification-label"}),
        None => json!({"type": "board-data-classification-label"}),
    }))
}
