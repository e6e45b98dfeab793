//! Self-contained, opaque, versioned page tokens. The client stores them and may resume days later,
//! so a token carries everything needed to continue: what it lists and Miro's cursor. A checksum
//! catches a corrupted or truncated token, and the listing it names catches one sent to another
//! listing. The checksum is not a signature (anyone can recompute FNV-1a, and a test forges one): a
//! forged token can only hand Miro a cursor of a listing the caller may read anyway, which Miro
//! checks, and every cursor is bounded before it is used.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use super::ConnectorError;

const PREFIX: &str = "mc1.";
/// The longest cursor a token may carry (Miro's are far shorter), and the longest token that can
/// carry it: JSON escapes a character in at most 6 bytes, base64 adds a third. A longer token is
/// refused before decoding.
const MAX_CURSOR: usize = 1024;
const MAX_TOKEN: usize = PREFIX.len() + (6 * MAX_CURSOR + 64) * 4 / 3 + 16;

#[derive(Serialize, Deserialize)]
struct Token {
    /// What this token lists, e.g. `resources:user` or `grants:team:123`.
    s: String,
    /// Miro's cursor for the next page.
    c: String,
}

// FNV-1a: stable across builds and platforms, unlike std's hasher.
pub(crate) fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The token for the page after this one; an empty string when there is none.
pub fn encode(scope: &str, cursor: Option<&str>) -> String {
    let Some(cursor) = cursor else {
        return String::new();
    };
    let json = serde_json::to_vec(&Token {
        s: scope.into(),
        c: cursor.into(),
    })
    .unwrap_or_default();
    seal(PREFIX, json)
}

/// `prefix` and the body with its checksum, in URL-safe base64: the envelope of page tokens and
/// event cursors.
pub(crate) fn seal(prefix: &str, mut body: Vec<u8>) -> String {
    let sum = checksum(&body);
    body.extend_from_slice(&sum.to_be_bytes());
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(body))
}

/// The body `seal` wrapped, or why the token is not one.
pub(crate) fn open(prefix: &str, token: &str, max: usize) -> Result<Vec<u8>, &'static str> {
    if token.len() > max {
        return Err("too long");
    }
    let body = token
        .strip_prefix(prefix)
        .ok_or("unknown format or version")?;
    let mut bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| "not base64")?;
    if bytes.len() < 8 {
        return Err("too short");
    }
    let sum = bytes.split_off(bytes.len() - 8);
    if checksum(&bytes).to_be_bytes() != sum.as_slice() {
        return Err("checksum mismatch");
    }
    Ok(bytes)
}

/// Miro's cursor from a token (`None` for the first page).
pub fn decode(scope: &str, token: &str) -> Result<Option<String>, ConnectorError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = |why: &str| ConnectorError::BadPageToken(why.to_string());
    let json = open(PREFIX, token, MAX_TOKEN).map_err(bad)?;
    let t: Token = serde_json::from_slice(&json).map_err(|_| bad("unreadable"))?;
    if t.s != scope {
        return Err(bad(&format!(
            "it belongs to {}",
            super::ids::truncated(&t.s)
        )));
    }
    if t.c.is_empty() || t.c.len() > MAX_CURSOR {
        return Err(bad("no cursor, or one longer than Miro's"));
    }
    Ok(Some(t.c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        assert_eq!(encode("resources:user", None), "");
        let t = encode("resources:user", Some("3074457345600000100"));
        assert_eq!(
            decode("resources:user", &t).unwrap().as_deref(),
            Some("3074457345600000100")
        );
        assert_eq!(decode("resources:user", "").unwrap(), None);
        assert!(
            decode("resources:team", &t).is_err(),
            "token of another listing"
        );
        assert!(decode("resources:user", "garbage").is_err());
        assert!(decode("resources:user", "mc1.!!!").is_err());
        // Flip one character of the payload: the checksum catches it.
        let mut chars: Vec<char> = t.chars().collect();
        let i = PREFIX.len() + 5;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(decode("resources:user", &tampered).is_err());
        // A well-formed token around a 1 MB cursor is bad input, refused here.
        let huge = encode("resources:user", Some(&"1".repeat(1 << 20)));
        assert!(matches!(
            decode("resources:user", &huge),
            Err(ConnectorError::BadPageToken(_))
        ));
        // The fuzz target found this: JSON escapes a control character in 6 bytes, so the longest
        // cursor a token carries must still fit the token limit.
        let escaped = "\u{1b}".repeat(MAX_CURSOR);
        let t = encode("resources:user", Some(&escaped));
        assert_eq!(decode("resources:user", &t).unwrap(), Some(escaped));
        let long_cursor = encode("resources:user", Some(&"1".repeat(2000)));
        assert!(long_cursor.len() < MAX_TOKEN);
        assert!(decode("resources:user", &long_cursor).is_err());
    }

    proptest::proptest! {
        #![proptest_config(crate::test_support::deterministic())]

        /// Whatever a client sends, decoding answers (never panics), and what decodes is exactly
        /// what this listing's `encode` writes for that cursor.
        #[test]
        fn any_string_is_refused_or_decoded(token in ".{0,300}", scope in "[a-z:0-9]{1,20}") {
            for t in [token.clone(), format!("{PREFIX}{token}")] {
                if let Ok(cursor) = decode(&scope, &t) {
                    proptest::prop_assert_eq!(encode(&scope, cursor.as_deref()), t);
                }
            }
        }

        #[test]
        fn tokens_round_trip(scope in "[a-z:0-9]{1,20}", cursor in "[ -~]{1,200}") {
            let t = encode(&scope, Some(&cursor));
            proptest::prop_assert_eq!(decode(&scope, &t).unwrap(), Some(cursor));
            let other = format!("{scope}x");
            proptest::prop_assert!(decode(&other, &t).is_err());
        }
    }
}
