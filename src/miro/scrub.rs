//! What Miro (or a proxy, a WAF, an error page in between) says goes into errors and logs only
//! after this: both configured tokens and anything shaped like a bearer credential are cut out, and
//! the text is capped. A proxy that echoes request headers must not turn an error into a leak.
use secrecy::{ExposeSecret, SecretString};

/// Longest piece of Miro's text an error repeats.
const MAX: usize = 200;
const REDACTED: &str = "[REDACTED]";

#[derive(Default)]
pub(crate) struct Scrubber {
    secrets: Vec<SecretString>,
}

impl Scrubber {
    pub(crate) fn new(secrets: impl IntoIterator<Item = SecretString>) -> Self {
        Self {
            secrets: secrets
                .into_iter()
                .filter(|s| !s.expose_secret().is_empty())
                .collect(),
        }
    }

    /// `text` without credentials, on one line, at most `MAX` characters.
    pub(crate) fn clean(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            out = out.replace(s.expose_secret(), REDACTED);
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
}
