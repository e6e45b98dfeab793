//! What Miro (or a proxy, a WAF, an error page in between) says goes into errors and logs only
//! after this: both configured tokens and anything shaped like a bearer credential are cut out, and
//! the text is capped. A proxy that echoes request headers must not turn an error into a leak,
//! whether it echoes a token as sent, in another case, or base64-encoded (a `Basic` header, a
//! debug dump), alone or inside a longer base64 string.
use base64::{
    Engine,
    engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD},
};
use secrecy::{ExposeSecret, SecretString};

/// Longest piece of Miro's text an error repeats.
const MAX: usize = 200;
const REDACTED: &str = "[REDACTED]";

/// The shortest base64 run of a token that is cut out: shorter ones would match by chance.
const MIN_ENCODED: usize = 8;

#[derive(Default)]
pub(crate) struct Scrubber {
    /// Each token's forms, ASCII-lowercased: the token, and its base64 at each of the three
    /// alignments it can have inside a longer encoding (the characters that depend on the bytes
    /// around it left out), in both alphabets. As secret as the tokens themselves.
    forms: Vec<SecretString>,
}

/// The forms of one token that `Scrubber` looks for.
fn forms(token: &str) -> Vec<String> {
    let mut out = vec![token.to_ascii_lowercase()];
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        for lead in 0..3 {
            let mut bytes = vec![0u8; lead];
            bytes.extend_from_slice(token.as_bytes());
            let encoded = engine.encode(&bytes);
            // Characters mixing the leading bytes, and the last group mixing what follows.
            let (start, end) = ([0, 2, 3][lead], 4 * ((lead + token.len()) / 3));
            if end >= start + MIN_ENCODED {
                out.push(encoded[start..end].to_ascii_lowercase());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `text` with every occurrence of `needle` (lowercase ASCII) cut out, in any ASCII case.
fn cut(text: &str, needle: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in lower.match_indices(needle) {
        out.push_str(&text[last..i]);
        out.push_str(REDACTED);
        last = i + needle.len();
    }
    out.push_str(&text[last..]);
    out
}

impl Scrubber {
    pub(crate) fn new(secrets: impl IntoIterator<Item = SecretString>) -> Self {
        Self {
            forms: secrets
                .into_iter()
                .filter(|s| !s.expose_secret().is_empty())
                .flat_map(|s| forms(s.expose_secret()))
                .map(SecretString::from)
                .collect(),
        }
    }

    /// `text` without credentials, on one line, at most `MAX` characters.
    pub(crate) fn clean(&self, text: &str) -> String {
        let mut out = text.to_string();
        for f in &self.forms {
            out = cut(&out, f.expose_secret());
        }
        let out = redact_schemes(&out);
        let one_line: String = out
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        match one_line.char_indices().nth(MAX) {
            Some((i, _)) => format!("{}…", &one_line[..i]),
            None => one_line,
        }
    }
}

/// `Bearer <credential>` and `Basic <credential>`, in any case, lose the credential.
fn redact_schemes(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let hit = ["bearer", "basic"]
            .iter()
            .find_map(|scheme| lower[i..].starts_with(scheme).then_some(scheme.len()));
        let Some(n) = hit else {
            let c = text[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
            continue;
        };
        out.push_str(&text[i..i + n]);
        i += n;
        // Separators between the scheme and the credential: spaces, ':', '=', quotes.
        let sep = text[i..]
            .find(|c: char| !(c == ' ' || c == ':' || c == '=' || c == '"' || c == '\''))
            .unwrap_or(text.len() - i);
        if sep == 0 {
            continue;
        }
        out.push_str(&text[i..i + sep]);
        i += sep;
        let cred = text[i..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',' || c == '<')
            .unwrap_or(text.len() - i);
        if cred > 0 {
            out.push_str(REDACTED);
            i += cred;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_bearer_credentials_go() {
        let s = Scrubber::new([
            SecretString::from("tok-123"),
            SecretString::from("scim-456"),
        ]);
        let echoed = "<html>Authorization: Bearer abc.def-ghi\nX-Other: tok-123 and scim-456 \"authorization\": \"BEARER zzz\"</html>";
        let clean = s.clean(echoed);
        for leaked in ["abc.def-ghi", "tok-123", "scim-456", "zzz", "\n"] {
            assert!(!clean.contains(leaked), "{leaked} in {clean}");
        }
        assert!(clean.contains("Bearer [REDACTED]"), "{clean}");
        assert_eq!(
            s.clean("Basically fine"),
            "Basically fine",
            "a word, not a scheme"
        );
        assert!(s.clean(&"x".repeat(1000)).chars().count() <= MAX + 1);
    }

    #[test]
    fn tokens_echoed_in_another_case_or_base64_go() {
        let token = "eyJtaXJvIjoidG9rZW4ifQ_Abc-123xyz";
        let s = Scrubber::new([SecretString::from(token)]);
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let url = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let mut echoes = vec![
            token.to_uppercase(),
            token.to_lowercase(),
            b64(token.as_bytes()),
            url(token.as_bytes()),
            b64(token.as_bytes()).to_uppercase(),
        ];
        // Inside longer encodings, at each alignment: a Basic header, a dumped header line.
        for prefix in ["", "u:", "ab:", "user:", "Authorization: Bearer "] {
            let inner = format!("{prefix}{token}\r\nX-Next: 1");
            echoes.push(format!("Basic {}", b64(inner.as_bytes())));
            echoes.push(format!("dump={}", url(inner.as_bytes())));
        }
        for echo in &echoes {
            let text = format!("proxy said: {echo} (end)");
            let clean = s.clean(&text);
            assert!(clean.contains(REDACTED), "{echo} was not cut: {clean}");
            for form in forms(token) {
                assert!(
                    !clean.to_ascii_lowercase().contains(&form),
                    "{form} left in {clean}"
                );
            }
            assert!(
                clean.starts_with("proxy said: ") && clean.ends_with("(end)"),
                "{clean}"
            );
        }
        assert_eq!(s.clean("nothing secret here"), "nothing secret here");
    }
}
