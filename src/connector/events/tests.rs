//! The feeds' own rules: bounded labels, and the answer to an unknown feed.
use super::*;

#[test]
fn unmapped_event_names_are_a_bounded_set_of_labels() {
    let u = Unmapped::default();
    for i in 0..200 {
        let want = if i < LABELS_MAX {
            format!("event_{i}")
        } else {
            "other".into()
        };
        assert_eq!(u.label(&format!("event_{i}")), want);
    }
    assert_eq!(
        u.label("event_3"),
        "event_3",
        "a name counted before keeps its label"
    );
    assert_eq!(
        u.label("a name with spaces, from a hostile answer"),
        "other"
    );
    assert_eq!(u.label(&"x".repeat(65)), "other");
    assert_eq!(
        u.label(MALFORMED),
        MALFORMED,
        "its own label, never `other`"
    );
    let seen = u.0.lock().unwrap();
    assert_eq!(seen.len(), LABELS_MAX);
    assert!(seen.iter().all(|n| n.starts_with("event_")));
}

#[test]
fn an_unknown_feed_is_not_found_and_names_the_feeds() {
    for id in ["", "nope"] {
        let e = Feed::named(id).unwrap_err();
        assert!(matches!(e, ConnectorError::NotFound(_)));
        assert!(e.to_string().contains("miro_usage and miro_changes"), "{e}");
    }
    assert_eq!(Feed::named("miro_changes").unwrap(), Feed::Changes);
}
