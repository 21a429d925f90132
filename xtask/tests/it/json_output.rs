//! `--json`: stdout is exactly one JSON document, with the fields the
//! docs (docs/commands.md, "JSON output") show, also on errors (`{"error": {"message", "kind"}}`);
//! and a closed stdout (`| head -c0`) is not a panic.

use crate::support::*;
use serde_json::Value;
use std::process::{Command, Stdio};

/// Runs `c` with its stdout already closed by the reader (EPIPE on the first write).
fn run_with_closed_stdout(mut c: Command) -> Run {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    c.stdout(writer).stderr(Stdio::piped());
    let t = std::time::Instant::now();
    let out = c.output().expect("xtask runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: t.elapsed(),
    }
}

fn assert_no_panic(r: &Run) {
    assert_ne!(r.code, 101, "panicked:\n{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

/// `{"error": {"message", "kind"}}` and a non-zero exit.
fn assert_error_doc(r: &Run, kind: &str, message: &str) -> Value {
    assert_ne!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["error"]["kind"], kind, "{j}");
    let m = j["error"]["message"].as_str().expect("a message");
    documented(&j);
    assert!(m.contains(message), "{m}");
    j
}

fn has_fields(j: &Value, fields: &[&str]) {
    for f in fields {
        assert!(j.get(f).is_some(), "no {f:?} in {j}");
    }
}

/// The examples of the "JSON output" section of docs/commands.md, parsed.
pub fn documented_examples() -> Vec<Value> {
    let page = emulator::workspace_root().join("docs/commands.md");
    let readme = std::fs::read_to_string(page).unwrap();
    let start = readme
        .find("## JSON output")
        .expect("docs/commands.md has a JSON output section");
    let section = &readme[start..];
    let section = &section[..section[4..].find("\n## ").map_or(section.len(), |e| e + 4)];
    section
        .split("```json\n")
        .skip(1)
        .map(|b| {
            let block = &b[..b.find("```").unwrap()];
            serde_json::from_str(block)
                .unwrap_or_else(|e| panic!("docs/commands.md example ({e}):\n{block}"))
        })
        .collect()
}

/// `doc` has exactly the top-level fields of one of the documented examples.
pub fn documented(doc: &Value) {
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let have = keys(doc);
    assert!(
        documented_examples().iter().any(|e| keys(e) == have),
        "no example in docs/commands.md (JSON output) has the fields {have:?}:\n{doc:#}"
    );
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("xtask-json-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn errors_before_any_aws_call_are_one_json_document() {
    let home = scratch("errors");
    let env = [("AWS_REGION", "us-east-1".to_string())];
    let r = run_cmd(xtask(
        &home,
        &env,
        &[
            "deploy",
            "--json",
            "--user-pool-id",
            "my-pool",
            "--user-pool-client-id",
            CLIENT_ID,
        ],
    ));
    assert_error_doc(&r, "invalid-input", "--user-pool-id `my-pool`");
    assert!(r.stderr.contains("error:"), "{}", r.stderr);

    // Every bad value at once, not one per run.
    let r = run_cmd(xtask(
        &home,
        &env,
        &[
            "deploy",
            "--user-pool-id",
            "my-pool",
            "--user-pool-client-id",
            CLIENT_ID,
            "--alarm-email",
            "nobody",
            "--reserved-concurrency",
            "9999",
        ],
    ));
    assert_ne!(r.code, 0);
    for e in [
        "--user-pool-id `my-pool`",
        "--alarm-email `nobody`",
        "--reserved-concurrency 9999",
    ] {
        assert!(r.stderr.contains(e), "{e} missing in:\n{}", r.stderr);
    }

    // diff: trouble is exit 2, apart from --fail's 1 for differences.
    let r = run_cmd(xtask(
        &home,
        &env,
        &[
            "diff",
            "--fail",
            "--json",
            "--endpoint-url",
            "http://127.0.0.1:1",
        ],
    ));
    assert_eq!(r.code, 2, "{}", r.stderr);
    // No credentials in this environment: that is said before any call.
    assert_eq!(r.json()["error"]["kind"], "credentials", "{}", r.stdout);

    // A bad flag value: clap's usage error, as a document too.
    let r = run_cmd(xtask(&home, &env, &["deploy", "--json", "--arch", "sparc"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.json()["error"]["kind"], "usage");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn dev_token_into_a_closed_pipe_does_not_panic() {
    let home = scratch("token");
    let mut c = xtask(&home, &[], &["dev", "token"]);
    c.env("XTASK_DEV_DIR", home.join("dev"));
    let r = run_with_closed_stdout(c);
    assert_no_panic(&r);
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn every_json_output_is_one_document_with_its_fields() {
    let h = Harness::start("json");
    let zips = h.zips("v1", "s", "c");
    let dir = zips.to_str().unwrap();

    // Nothing deployed: verify and diff into a closed pipe end without a panic.
    assert_no_panic(&run_with_closed_stdout(
        h.command(&["verify", "--no-smoke"]),
    ));
    assert_no_panic(&run_with_closed_stdout(h.command(&[
        "diff",
        "--json",
        "--artifacts-dir",
        dir,
    ])));

    let d = h
        .run(&["diff", "--json", "--artifacts-dir", dir, "--stage", "json"])
        .ok();
    let j = d.json();
    has_fields(&j, &["stack", "deployed", "differences", "codeNote"]);
    documented(&j);
    assert_eq!(j["codeStale"], false, "{j}");
    assert!(
        j["codeNote"].as_str().unwrap().contains("last build"),
        "{j}"
    );

    // Zips older than the functions' sources: diff says it compares a stale build.
    let old = h.zips("old", "s", "c");
    for f in [SESSION_FN, CONTEXT_FN] {
        std::fs::File::options()
            .write(true)
            .open(old.join(format!("{f}.zip")))
            .unwrap()
            .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(86400))
            .unwrap();
    }
    let stale = h
        .run(&["diff", "--artifacts-dir", old.to_str().unwrap()])
        .ok();
    assert!(
        stale.stdout.contains("older than") && stale.stdout.contains("cargo xtask build"),
        "{}",
        stale.stdout
    );

    let deploy = h
        .run(&[
            "deploy",
            "--json",
            "--no-verify",
            "--stage",
            "json",
            "--artifacts-dir",
            dir,
            "--user-pool-id",
            POOL_ID,
            "--user-pool-client-id",
            CLIENT_ID,
            "--yes",
        ])
        .ok();
    let j = deploy.json();
    documented(&j);
    has_fields(
        &j,
        &["stack", "result", "uploaded", "outputs", "elapsedSeconds"],
    );
    assert_eq!(j["result"], "deployed");
    // Seconds rounded to hundredths: no float noise.
    let secs = j["elapsedSeconds"].to_string();
    assert!(
        secs.split('.').nth(1).is_none_or(|d| d.len() <= 2),
        "{secs}"
    );
    // The human text (plan, progress) went to stderr.
    assert!(deploy.stderr.contains("Resources"), "{}", deploy.stderr);

    let noop = h
        .run(&[
            "deploy",
            "--json",
            "--no-verify",
            "--stage",
            "json",
            "--artifacts-dir",
            dir,
        ])
        .ok();
    assert_eq!(noop.json()["result"], "no-changes");

    let v = h
        .run(&["verify", "--json", "--no-smoke", "--stage", "json"])
        .failed();
    let j = v.json();
    documented(&j);
    has_fields(
        &j,
        &["stack", "account", "region", "ok", "summary", "checks"],
    );
    for c in j["checks"].as_array().unwrap() {
        has_fields(c, &["name", "outcome", "detail"]);
        if c["outcome"] != "ok" {
            assert!(!c["detail"].as_str().unwrap().is_empty(), "no reason: {c}");
        }
    }

    // The text: where it checked, then aligned rows, each FAIL with its reason.
    let v = h.run(&["verify", "--no-smoke", "--stage", "json"]).failed();
    let mut lines = v.stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        "VoiceLearningAssistantStack-json → account 123456789012, region us-east-1"
    );
    let rows: Vec<&str> = lines.take_while(|l| !l.contains(" checks: ")).collect();
    let fails: Vec<&&str> = rows.iter().filter(|r| r.starts_with("FAIL")).collect();
    assert!(!fails.is_empty(), "{}", v.stdout);
    // Every row's name starts in the same column; a FAIL row goes on past it with a reason.
    let name_col = rows[0][4..].find(|c: char| c != ' ').unwrap() + 4;
    let widest = rows
        .iter()
        .map(|r| r[name_col..].split("  ").next().unwrap().len())
        .max()
        .unwrap();
    for r in &rows {
        assert!(
            r[name_col..].chars().next().is_some_and(|c| c != ' '),
            "{r}"
        );
    }
    for f in &fails {
        assert!(
            f.len() > name_col + widest + 2,
            "FAIL without a reason: {f}"
        );
    }
    for bad in ["Some(", "None", "(\""] {
        assert!(!v.stdout.contains(bad), "{bad} in:\n{}", v.stdout);
    }
    // A stack that does not exist: one sentence, no table.
    let none = h
        .run(&["verify", "--no-smoke", "--stage", "absent"])
        .failed();
    assert!(none.stdout.is_empty(), "{}", none.stdout);
    assert!(
        none.stderr.contains("VoiceLearningAssistantStack-absent does not exist in account 123456789012, region us-east-1"),
        "{}",
        none.stderr
    );
    assert_eq!(none.stderr.trim().lines().count(), 1, "{}", none.stderr);

    // Refused without a terminal and without --yes: the error, as a document.
    let refused = h.run(&["destroy", "--json", "--stage", "json"]);
    assert_error_doc(&refused, "refused", "--yes");

    let gone = h
        .run(&["destroy", "--json", "--yes", "--stage", "json"])
        .ok();
    let j = gone.json();
    documented(&j);
    has_fields(&j, &["stack", "result"]);
    assert_eq!(j["result"], "deleted", "{j}");
}
