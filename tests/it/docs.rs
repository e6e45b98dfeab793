//! The README is a front door: its map reaches every document, and its tour shows what the demo
//! really prints. (The configuration reference is checked against the settings in
//! `src/config/load.rs`.)
use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
};

const BIN: &str = env!("CARGO_BIN_EXE_miro-connector");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(name)).unwrap()
}

/// The targets of the Markdown links in `text` that point at files of this repository.
fn local_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|t| !t.starts_with("http") && !t.starts_with('#'))
        .map(|t| t.split('#').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_readme_maps_every_document_and_every_link_resolves() {
    let readme = read("README.md");
    let linked = local_links(&readme);
    let mut docs: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("docs"))
        .unwrap()
        .map(|e| format!("docs/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    docs.push("ARCHITECTURE.md".into());
    for doc in &docs {
        assert!(linked.contains(doc), "the README's map leaves out {doc}");
    }
    // Links between the documents resolve too, relative to the file that holds them.
    for file in docs.iter().chain(std::iter::once(&"README.md".to_string())) {
        let dir = Path::new(ROOT).join(file);
        let dir = dir.parent().unwrap();
        for target in local_links(&read(file)) {
            assert!(
                dir.join(&target).exists(),
                "{file} links to {target}, which does not exist"
            );
        }
    }
}

#[test]
fn the_readme_tour_shows_the_commands_the_demo_prints() {
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--members",
            "40",
            "--teams",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("Serving until"))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let addr = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("connector gRPC"))
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();
    let printed: Vec<String> = lines.iter().map(|l| l.trim().to_string()).collect();
    let readme = read("README.md");
    let tour = readme
        .split("## A one-screen tour")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let mut shown = 0;
    for line in tour.lines() {
        let command = line
            .replace("cargo run --release -- ", "miro-connector ")
            .replace("./baton-miro-bridge", "baton-miro-bridge")
            .replace("127.0.0.1:50051", &addr);
        let daemon_command = ["grpcurl ", "miro-connector sync ", "baton-miro-bridge "]
            .iter()
            .any(|p| command.starts_with(p));
        if daemon_command {
            shown += 1;
            assert!(
                printed.contains(&command),
                "the README's tour shows `{line}`, which the demo does not print:\n{}",
                printed.join("\n")
            );
        }
    }
    assert!(shown >= 4, "the tour shows {shown} of the demo's commands");
}
