//! Page tokens come from clients: decoding any bytes answers, and never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use miro_connector::connector::page_token::{decode, encode};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = decode("resources:user", &text);
    let _ = decode("grants:team:1", &format!("mc1.{text}"));
    // What this connector writes, it reads back.
    if !text.is_empty() && text.len() <= 1024 {
        let token = encode("resources:user", Some(&text));
        assert_eq!(
            decode("resources:user", &token).ok().flatten().as_deref(),
            Some(&*text)
        );
    }
});
