//! Why a method of `c1.connector.v2` is not served: the answer to a call the daemon has no service
//! for is UNIMPLEMENTED, and its message says what is not supported and why, so that a runner's
//! log (a rotate-credential task, say) tells the operator something.

/// The message of the UNIMPLEMENTED answer to `path` (`/package.Service/Method`). The path is the
/// client's, so it is named only when it is made of a gRPC path's characters and short.
pub fn why(path: &str) -> String {
    let named = path.len() <= 120
        && path.starts_with('/')
        && path[1..].split('/').count() == 2
        && path[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/'));
    let what = if named {
        path.trim_start_matches('/')
    } else {
        "this method"
    };
    let service = if named {
        path[1..].split('/').next().unwrap_or_default()
    } else {
        ""
    };
    let reason = match service {
        "c1.connector.v2.CredentialManagerService" => {
            "Miro's API cannot set, issue or rotate a member's credentials (members sign in through Miro or the company's SSO)"
        }
        "c1.connector.v2.TicketsService" => "miro-connector does not open tickets",
        "c1.connector.v2.SchemaService" => {
            "miro-connector's settings are its own (flags, file, environment), not a config schema"
        }
        "c1.connector.v2.AssetService" => "miro-connector serves no assets",
        _ => "miro-connector does not serve it",
    };
    format!("{what} is not supported: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_method_and_why() {
        let m = why("/c1.connector.v2.CredentialManagerService/RotateCredential");
        assert!(m.starts_with("c1.connector.v2.CredentialManagerService/RotateCredential is not supported: Miro's API cannot"), "{m}");
        assert!(why("/c1.connector.v2.AssetService/GetAsset").contains("no assets"));
        assert_eq!(
            why("/x/<script>"),
            "this method is not supported: miro-connector does not serve it"
        );
        assert!(why(&format!("/{}/M", "a".repeat(200))).starts_with("this method"));
    }
}
