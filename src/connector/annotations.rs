//! Annotations are `google.protobuf.Any` values typed `type.googleapis.com/c1.connector.v2.<Name>`.
use prost::{Message, Name};
use prost_types::Any;

pub fn pack<M: Message + Name>(m: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: m.encode_to_vec(),
    }
}

/// The first annotation of type `M`, if any.
pub fn find<M: Message + Name + Default>(annotations: &[Any]) -> Option<M> {
    let url = M::type_url();
    annotations
        .iter()
        .find(|a| a.type_url == url)
        .and_then(|a| M::decode(a.value.as_slice()).ok())
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
