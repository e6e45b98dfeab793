//! The SCIM filter subset Miro's clients use.
use super::{render::display_name, *};

/// One clause of a filter: `attr op "value"`.
pub(super) struct Clause {
    pub(super) attr: String,
    pub(super) op: String,
    pub(super) value: String,
}

/// The subset of SCIM filters Miro's clients use: clauses joined by `or` (or a single `and` chain)
/// with `eq`, `ne`, `co`, `sw` on userName, id, displayName, active, userType, emails.value.
pub(super) fn parse_filter(filter: &str) -> std::result::Result<(Vec<Clause>, bool), String> {
    let lower = filter.to_ascii_lowercase();
    let (joiner, any) = if lower.contains(" and ") {
        (" and ", false)
    } else {
        (" or ", true)
    };
    let mut clauses = Vec::new();
    let mut rest = filter;
    loop {
        let idx = rest.to_ascii_lowercase().find(joiner);
        let part = idx.map_or(rest, |i| &rest[..i]).trim();
        let mut it = part.splitn(3, ' ');
        let (attr, op, value) = (it.next(), it.next(), it.next());
        let (Some(attr), Some(op), Some(value)) = (attr, op, value) else {
            return Err(format!("Unsupported filter clause '{part}'"));
        };
        let op = op.to_ascii_lowercase();
        if !["eq", "ne", "co", "sw"].contains(&op.as_str()) {
            return Err(format!("Unsupported filter operator '{op}'"));
        }
        let value = value.trim().trim_matches('"').to_string();
        clauses.push(Clause {
            attr: attr.to_ascii_lowercase(),
            op,
            value,
        });
        match idx {
            Some(i) => rest = &rest[i + joiner.len()..],
            None => break,
        }
    }
    Ok((clauses, any))
}

pub(super) fn clause_matches(c: &Clause, m: &Member) -> std::result::Result<bool, String> {
    let field = match c.attr.as_str() {
        "username" | "emails.value" | "emails" => m.email.clone(),
        "id" => m.id.clone(),
        "displayname" => display_name(m),
        "active" => m.active.to_string(),
        "usertype" => license_to_user_type(&m.license).to_string(),
        other => return Err(format!("Unsupported filter attribute '{other}'")),
    };
    let (f, v) = (field.to_lowercase(), c.value.to_lowercase());
    Ok(match c.op.as_str() {
        "eq" => f == v,
        "ne" => f != v,
        "co" => f.contains(&v),
        _ => f.starts_with(&v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let (c, any) = parse_filter(r#"id eq "1" or id eq "2""#).unwrap();
        assert!(any);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].value, "2");
        let (c, any) = parse_filter(r#"userName eq "a@b.co" and active eq true"#).unwrap();
        assert!(!any);
        assert_eq!(c[1].attr, "active");
        assert!(parse_filter("userName gt 3").is_err());
        assert!(parse_filter("garbage").is_err());
    }
}
