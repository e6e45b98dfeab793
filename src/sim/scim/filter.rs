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
    let mut clauses = Vec::new();
    let mut joiners = Vec::new();
    let mut rest = filter.trim_start();
    loop {
        let (attr, r) = word(rest).ok_or_else(|| format!("Unsupported filter clause '{rest}'"))?;
        let (op, r) = word(r).ok_or_else(|| format!("Unsupported filter clause '{rest}'"))?;
        let op = op.to_ascii_lowercase();
        if !["eq", "ne", "co", "sw"].contains(&op.as_str()) {
            return Err(format!("Unsupported filter operator '{op}'"));
        }
        let (value, r) = literal(r)?;
        clauses.push(Clause {
            attr: attr.to_ascii_lowercase(),
            op,
            value,
        });
        rest = r.trim_start();
        if rest.is_empty() {
            break;
        }
        let (joiner, r) = word(rest).ok_or_else(|| format!("Unsupported filter '{rest}'"))?;
        let joiner = joiner.to_ascii_lowercase();
        if joiner != "and" && joiner != "or" {
            return Err(format!("Unsupported filter joiner '{joiner}'"));
        }
        joiners.push(joiner);
        rest = r.trim_start();
    }
    joiners.dedup();
    match joiners.as_slice() {
        [] => Ok((clauses, true)),
        [j] => Ok((clauses, j == "or")),
        _ => Err("Mixing 'and' and 'or' in one filter is not supported".into()),
    }
}

/// A run of non-space characters, and what follows it.
fn word(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let end = s.find(' ').unwrap_or(s.len());
    (end > 0).then(|| (&s[..end], &s[end..]))
}

/// A value: a JSON string (escapes and all, as SCIM filters write them) or a bare word.
fn literal(s: &str) -> std::result::Result<(String, &str), String> {
    let s = s.trim_start();
    if !s.starts_with('"') {
        return word(s)
            .map(|(w, r)| (w.to_string(), r))
            .ok_or_else(|| "A filter clause needs a value".to_string());
    }
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let v: String = serde_json::from_str(&s[..=i])
                    .map_err(|e| format!("Invalid string in filter: {e}"))?;
                return Ok((v, &s[i + 1..]));
            }
            _ => {}
        }
    }
    Err("Unterminated string in filter".into())
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

    proptest::proptest! {
        #![proptest_config(crate::test_support::deterministic())]

        /// Any filter string is parsed or refused, never a panic.
        #[test]
        fn any_filter_is_parsed_or_refused(f in "\\PC{0,200}") {
            let _ = parse_filter(&f);
        }

        /// The adapter's quoting survives the simulator's parser, whatever the id holds.
        #[test]
        fn quoted_values_round_trip(v in "[ -~]{0,60}") {
            let q = crate::miro::models::scim_quoted(&v);
            let (clauses, _) = parse_filter(&format!("id eq {q}")).unwrap();
            proptest::prop_assert_eq!(&clauses[0].value, &v);
        }
    }
}
