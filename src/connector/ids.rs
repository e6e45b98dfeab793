//! The leaf every other module uses: resource type names, id formats, and the checks every id
//! passes at the protocol's edge before it can become part of a Miro URL.
use super::ConnectorError;
use crate::pb;

pub const USER: &str = "user";
pub const TEAM: &str = "team";
pub const ROLE: &str = "role";
pub const GROUP: &str = "group";
pub const LICENSE: &str = "license";
pub const BOARD: &str = "board";
/// A Space; Miro's API calls them projects.
pub const PROJECT: &str = "project";
pub const ORGANIZATION: &str = "organization";

/// The one entitlement slug of a group.
pub const MEMBER: &str = "member";

/// The one entitlement slug of a role.
pub const ASSIGNED: &str = "assigned";

/// How much of a caller's input an error message repeats.
const ECHO: usize = 128;

/// `s`, cut to a length fit to repeat in an error message or a log line.
pub fn truncated(s: &str) -> String {
    match s.char_indices().nth(ECHO) {
        Some((i, _)) => format!("{}… ({} bytes)", &s[..i], s.len()),
        None => s.to_string(),
    }
}

pub fn rid(resource_type: &str, id: &str) -> pb::ResourceId {
    pb::ResourceId {
        resource_type: resource_type.into(),
        resource: id.into(),
        baton_resource: false,
    }
}

/// `{type}:{resource}:{slug}`.
pub fn entitlement_id(resource: &pb::ResourceId, slug: &str) -> String {
    format!("{}:{}:{}", resource.resource_type, resource.resource, slug)
}

/// `{entitlement id}:{principal type}:{principal id}`.
pub fn grant_id(entitlement_id: &str, principal: &pb::ResourceId) -> String {
    format!(
        "{entitlement_id}:{}:{}",
        principal.resource_type, principal.resource
    )
}

/// A resource id with both parts present.
pub fn require_id<'a>(
    what: &str,
    id: Option<&'a pb::ResourceId>,
) -> Result<&'a pb::ResourceId, ConnectorError> {
    match id {
        Some(id) if !id.resource_type.is_empty() && !id.resource.is_empty() => Ok(id),
        _ => Err(ConnectorError::InvalidArgument(format!(
            "{what} is required: a resource id with resource_type and resource set"
        ))),
    }
}

/// Miro's ids (members, teams) are decimal strings. Anything else never reaches a URL.
pub fn miro_id<'a>(what: &str, id: &'a str) -> Result<&'a str, ConnectorError> {
    if !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        Err(ConnectorError::InvalidArgument(format!(
            "{what} {:?} is not a Miro id (a string of decimal digits)",
            truncated(id)
        )))
    }
}

/// Board ids are short URL-safe base64 strings (`uXjVOD6LSME=`): letters, digits, `-` and `_`,
/// with at most two `=` at the end. Anything else never reaches a URL.
pub fn board_id<'a>(what: &str, id: &'a str) -> Result<&'a str, ConnectorError> {
    let body = id.trim_end_matches('=');
    let shaped = !body.is_empty()
        && id.len() <= 32
        && id.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if shaped {
        Ok(id)
    } else {
        Err(ConnectorError::InvalidArgument(format!(
            "{what} {:?} is not a Miro board id (URL-safe base64 such as uXjVOD6LSME=)",
            truncated(id)
        )))
    }
}

/// The Miro id of a resource the client sent back (a user, team or group), checked.
pub fn resource_miro_id<'a>(what: &str, r: &'a pb::Resource) -> Result<&'a str, ConnectorError> {
    miro_id(what, r.id.as_ref().map_or("", |i| i.resource.as_str()))
}

/// The slug of an entitlement id `{type}:{resource}:{slug}`, checked against the entitlement's resource.
pub fn entitlement_slug<'a>(
    entitlement_id: &'a str,
    resource: &pb::ResourceId,
) -> Result<&'a str, ConnectorError> {
    let prefix = format!("{}:{}:", resource.resource_type, resource.resource);
    entitlement_id
        .strip_prefix(&prefix)
        .filter(|s| !s.is_empty() && !s.contains(':'))
        .ok_or_else(|| {
            ConnectorError::InvalidArgument(format!(
                "entitlement id {:?} does not belong to resource {}:{} (expected {}<slug>)",
                truncated(entitlement_id),
                truncated(&resource.resource_type),
                truncated(&resource.resource),
                truncated(&prefix)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_must_belong_to_their_resource() {
        let team = rid(TEAM, "42");
        assert_eq!(entitlement_slug("team:42:admin", &team).unwrap(), "admin");
        assert!(entitlement_slug("team:43:admin", &team).is_err());
        assert!(entitlement_slug("role:42:admin", &team).is_err());
        assert!(entitlement_slug("team:42:", &team).is_err());
        assert!(entitlement_slug("team:42:admin:extra", &team).is_err());
    }

    #[test]
    fn only_decimal_ids_pass() {
        assert_eq!(
            miro_id("user", "3458764517517852417").unwrap(),
            "3458764517517852417"
        );
        let long = "9".repeat(10_000);
        for bad in [
            ".",
            "..",
            "%2e%2e",
            "a/b",
            "?x=1",
            "",
            "1 2",
            "١٢",
            long.as_str(),
        ] {
            let e = miro_id("user", bad).unwrap_err().to_string();
            assert!(e.len() < 400, "echo is capped: {} bytes", e.len());
        }
    }

    #[test]
    fn only_board_shaped_ids_pass() {
        for good in ["uXjVOD6LSME=", "o9J_k1JKnbc=", "a-b_C", "x=="] {
            assert_eq!(board_id("board", good).unwrap(), good);
        }
        for bad in [
            "", "=", "a===", "a=b", "a/b", "..", "a b", "%2e", "a:b", "é",
        ] {
            assert!(board_id("board", bad).is_err(), "{bad:?}");
        }
        assert!(board_id("board", &"a".repeat(33)).is_err());
    }

    #[test]
    fn cap_cuts_on_a_char_boundary() {
        assert_eq!(truncated("short"), "short");
        let s = "é".repeat(200);
        let c = truncated(&s);
        assert!(
            c.starts_with(&"é".repeat(128)) && c.ends_with("(400 bytes)"),
            "{c}"
        );
    }

    proptest::proptest! {
        #![proptest_config(crate::test_support::deterministic())]

        #[test]
        fn an_id_passes_only_if_it_is_decimal(id in "\\PC{0,40}") {
            let decimal = !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit());
            proptest::prop_assert_eq!(miro_id("user", &id).is_ok(), decimal);
        }

        #[test]
        fn echoes_are_capped(s in "\\PC{0,600}") {
            proptest::prop_assert!(truncated(&s).chars().count() <= 128 + 20);
        }
    }
}
