//! `cargo xtask synth` as a user runs it.

use std::process::Command;

fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("xtask-synth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn prints_yaml_by_default_and_json_on_request() {
    let yaml = xtask().arg("synth").output().unwrap();
    assert!(yaml.status.success());
    let y: serde_json::Value = serde_norway::from_slice(&yaml.stdout).unwrap();
    let json = xtask()
        .args(["synth", "--format", "json"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let j: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(y, j);
    assert!(j["Resources"]["SessionsTable"].is_object());
}

#[test]
fn writes_to_out_and_suffixes_a_stage() {
    let d = tmpdir("out");
    let out = d.join("nested/t.json");
    let st = xtask()
        .args(["synth", "--format", "json", "--stage", "qa", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        v["Resources"]["SessionsTable"]["Properties"]["TableName"],
        "voice-learning-sessions-qa"
    );
}

#[test]
fn a_bad_stage_is_a_clear_error_and_writes_nothing() {
    let d = tmpdir("bad");
    let out = d.join("t.yaml");
    let o = xtask()
        .args(["synth", "--stage", "Prod_1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("invalid stage name `Prod_1`"), "{err}");
    assert!(!out.exists(), "nothing may be written on error");
}

#[test]
fn check_passes_on_the_committed_template() {
    let ok = xtask().args(["synth", "--check"]).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn out_errors_are_one_sentence_and_check_refuses_out() {
    let d = tmpdir("out-errors");
    let r = xtask().args(["synth", "--out"]).arg(&d).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("is a directory: give a file path"), "{err}");
    assert!(!err.contains("os error"), "{err}");

    // A path below a file cannot be created.
    let file = d.join("file");
    std::fs::write(&file, "x").unwrap();
    let r = xtask()
        .args(["synth", "--out"])
        .arg(file.join("t.yaml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot write it") && !err.contains("os error"),
        "{err}"
    );

    // --check compares the committed file: an --out with it is refused, not ignored.
    let r = xtask()
        .args(["synth", "--check", "--out"])
        .arg(d.join("x.yaml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot be used with"), "{err}");
    assert!(!d.join("x.yaml").exists());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn help_names_the_command_as_it_is_run() {
    for args in [&["--help"][..], &["deploy", "--help"][..]] {
        let r = xtask().args(args).output().unwrap();
        let out = String::from_utf8_lossy(&r.stdout);
        let want = format!(
            "Usage: cargo xtask{}",
            if args.len() > 1 { " deploy" } else { "" }
        );
        assert!(out.contains(&want), "{out}");
    }
}

#[test]
fn completions_and_man_pages_come_from_the_flags() {
    let r = xtask().args(["completions", "bash"]).output().unwrap();
    assert!(r.status.success());
    let bash = String::from_utf8_lossy(&r.stdout);
    assert!(
        bash.contains("_xtask()") && bash.contains("--artifacts-dir") && bash.contains("deploy"),
        "{bash}"
    );
    let r = xtask().args(["completions", "zsh"]).output().unwrap();
    assert!(r.status.success() && String::from_utf8_lossy(&r.stdout).contains("#compdef xtask"));

    let r = xtask().arg("man").output().unwrap();
    let page = String::from_utf8_lossy(&r.stdout);
    assert!(page.contains(".TH cargo-xtask 1"), "{page}");
    let d = tmpdir("man");
    let r = xtask().args(["man", "--out"]).arg(&d).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let deploy = std::fs::read_to_string(d.join("cargo-xtask-deploy.1")).unwrap();
    assert!(deploy.contains("allow\\-replacement"), "{deploy}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// Facts the stack states about the functions, kept equal to the
/// functions' own: the trust-store names, and the metric (namespace and
/// name) the untrusted-certificate alarm counts.
#[test]
fn the_stack_and_the_functions_agree_on_trust_stores_and_the_alarmed_log_value() {
    assert_eq!(
        stack::module::TLS_TRUST_STORES,
        functions::tls::Trust::NAMES
    );
    assert_eq!(
        stack::module::UNTRUSTED_CERTIFICATE,
        functions::error::UNTRUSTED_CERTIFICATE
    );
    assert_eq!(
        stack::module::METRIC_NAMESPACE,
        functions::error::METRIC_NAMESPACE
    );
}
