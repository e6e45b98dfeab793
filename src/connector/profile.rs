//! Free-form profiles (`google.protobuf.Struct`): built from strings, flags and lists, read back.
use prost_types::{Struct, Value, value::Kind};

pub(super) fn profile(fields: Vec<(&str, Value)>) -> Struct {
    Struct {
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

pub(super) fn text(s: impl Into<String>) -> Value {
    Value {
        kind: Some(Kind::StringValue(s.into())),
    }
}

pub(super) fn flag(b: bool) -> Value {
    Value {
        kind: Some(Kind::BoolValue(b)),
    }
}

pub(super) fn list(items: impl IntoIterator<Item = String>) -> Value {
    Value {
        kind: Some(Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(text).collect(),
        })),
    }
}

pub(super) fn profile_text<'a>(p: Option<&'a Struct>, key: &str) -> Option<&'a str> {
    match p?.fields.get(key)?.kind.as_ref()? {
        Kind::StringValue(s) => Some(s),
        _ => None,
    }
}

pub(super) fn profile_list(p: Option<&Struct>, key: &str) -> Option<Vec<String>> {
    match p?.fields.get(key)?.kind.as_ref()? {
        Kind::ListValue(l) => Some(
            l.values
                .iter()
                .filter_map(|v| match &v.kind {
                    Some(Kind::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}
