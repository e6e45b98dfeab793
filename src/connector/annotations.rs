//! Annotations are `google.protobuf.Any` values typed `type.googleapis.com/c1.connector.v2.<Name>`.
use prost::{Message, Name};
use prost_types::Any;

pub fn pack<M: Message + Name>(m: &M) -> Any {
    // Encoding into a growable buffer cannot run out of room, the only way it fails.
    Any::from_msg(m).unwrap_or_default()
}

/// The first annotation of type `M`, if any.
pub fn find<M: Message + Name + Default>(annotations: &[Any]) -> Option<M> {
    annotations.iter().find_map(|a| a.to_msg::<M>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;

    #[test]
    fn type_urls_match_the_sdk() {
        let a = pack(&pb::UserTrait::default());
        assert_eq!(a.type_url, "type.googleapis.com/c1.connector.v2.UserTrait");
        let g = pack(&pb::GrantReplaced {
            replaced_grant_id: "x".into(),
        });
        assert_eq!(
            find::<pb::GrantReplaced>(&[a, g])
                .unwrap()
                .replaced_grant_id,
            "x"
        );
    }
}
