//! What the walk checks and keeps of each answer, as the official client does: the traits a type
//! declares, the skip annotations, the SDK version, the rate-limit waits, and each resource kept
//! encoded for the later phases.
use prost_types::Any;
use tonic::Status;

use crate::{connector::annotations::find, pb};

/// A resource as the later phases need it: whether they visit it, and what to send them, encoded
/// (a decoded resource takes several times the room, and a large organization has many). What is
/// sent is the whole resource when its entitlements are listed (its name is in them), else what
/// its grants need: users as id, profile and skip annotations.
pub(super) struct Kept {
    pub(super) entitlements: bool,
    pub(super) grants: bool,
    encoded: Box<[u8]>,
}

impl Kept {
    pub(super) fn of(types: &[pb::ResourceType], r: pb::Resource) -> Self {
        use prost::Message;
        let entitlements = !skipped(types, &r, true);
        let grants = !skipped(types, &r, false);
        let sent = if entitlements {
            r
        } else {
            pb::Resource {
                annotations: r
                    .annotations
                    .into_iter()
                    .filter(|a| a.type_url.contains(".Skip"))
                    .collect(),
                id: r.id,
                profile: r.profile,
                ..Default::default()
            }
        };
        Self {
            entitlements,
            grants,
            encoded: sent.encode_to_vec().into_boxed_slice(),
        }
    }

    pub(super) fn resource(&self) -> pb::Resource {
        use prost::Message;
        // It was encoded here a moment ago; decoding it cannot fail.
        pb::Resource::decode(&*self.encoded).unwrap_or_default()
    }
}

/// What a page says it waited on Miro's rate limits.
pub(super) fn waited_ms(annotations: &[Any]) -> u64 {
    find::<pb::RateLimitWaitReport>(annotations)
        .map_or(0, |w| u64::try_from(w.wait_ms).unwrap_or(0))
}

fn skips<M: prost::Message + prost::Name + Default>(a: &[Any]) -> bool {
    find::<M>(a).is_some()
}

/// Whether the official client skips a resource's entitlements (or grants), by its own or its
/// type's annotations.
fn skipped(types: &[pb::ResourceType], r: &pb::Resource, entitlements: bool) -> bool {
    let rt =
        r.id.as_ref()
            .map(|i| i.resource_type.as_str())
            .unwrap_or_default();
    let of_type = types
        .iter()
        .find(|t| t.id == rt)
        .map(|t| t.annotations.as_slice())
        .unwrap_or_default();
    [of_type, r.annotations.as_slice()].iter().any(|a| {
        skips::<pb::SkipEntitlementsAndGrants>(a)
            || if entitlements {
                skips::<pb::SkipEntitlements>(a)
            } else {
                skips::<pb::SkipGrants>(a)
            }
    })
}

/// The official client fails a sync when a resource lacks the trait its type declares.
pub(super) fn check_traits(t: &pb::ResourceType, r: &pb::Resource) -> Result<(), Status> {
    use pb::resource_type::Trait;
    for tr in &t.traits {
        let ok = match Trait::try_from(*tr) {
            Ok(Trait::User) => skips::<pb::UserTrait>(&r.annotations),
            Ok(Trait::Group) => skips::<pb::GroupTrait>(&r.annotations),
            Ok(Trait::Role) => skips::<pb::RoleTrait>(&r.annotations),
            _ => true,
        };
        if !ok {
            return Err(Status::internal(format!(
                "resource {:?} was missing expected trait {tr}",
                r.id
            )));
        }
    }
    Ok(())
}

pub(super) fn semver_at_least(v: &str, min: (u64, u64, u64)) -> bool {
    let mut parts = v
        .trim_start_matches('v')
        .split(['.', '-', '+'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let got = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    got >= min
}
