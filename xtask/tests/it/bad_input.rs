//! Bad input is one clear error before anything in the account changes.

use crate::support::*;

fn run(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Runs a deploy that must fail and checks that nothing changed.
fn refused(h: &Harness, args: &[&str], expect: &[&str]) -> Run {
    let before = h.account.snapshot();
    let run = h.run(args).failed();
    for e in expect {
        assert!(run.stderr.contains(e), "expected {e:?} in:\n{}", run.stderr);
    }
    // One sentence, not a stack of SDK errors.
    assert!(run.stderr.lines().count() <= 3, "{}", run.stderr);
    assert!(
        !run.stderr.contains("DispatchFailure") && !run.stderr.contains("ServiceError"),
        "{}",
        run.stderr
    );
    assert_eq!(h.account.snapshot(), before, "something changed");
    run
}

#[test]
fn bad_input_is_refused_before_any_change() {
    let h = Harness::start("bad");
    let v1 = h.zips("v1", "s", "c");
    let dir = v1.to_str().unwrap();
    let base = ["deploy", "--artifacts-dir", dir, "--yes"];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };

    // Unknown stage characters.
    let a = with(&[
        "--stage",
        "Dev_2",
        "--user-pool-id",
        POOL_ID,
        "--user-pool-client-id",
        CLIENT_ID,
    ]);
    refused(&h, &run(&a), &["invalid stage name `Dev_2`"]);

    // An outputs file that cannot be written.
    let a = with(&[
        "--outputs-file",
        "/nonexistent-dir/outputs.json",
        "--user-pool-id",
        POOL_ID,
        "--user-pool-client-id",
        CLIENT_ID,
    ]);
    refused(
        &h,
        &run(&a),
        &["--outputs-file /nonexistent-dir/outputs.json cannot be written"],
    );

    // An invalid user pool id.
    let a = with(&[
        "--user-pool-id",
        "my-pool",
        "--user-pool-client-id",
        CLIENT_ID,
    ]);
    refused(
        &h,
        &run(&a),
        &["--user-pool-id `my-pool` is not a Cognito user pool id"],
    );

    // No user pool id on the first deploy.
    let a = with(&["--user-pool-client-id", CLIENT_ID]);
    refused(
        &h,
        &run(&a),
        &["--user-pool-id", "required on the first deploy"],
    );

    // An invalid alarm e-mail.
    let a = with(&[
        "--alarm-email",
        "ops",
        "--user-pool-id",
        POOL_ID,
        "--user-pool-client-id",
        CLIENT_ID,
    ]);
    refused(
        &h,
        &run(&a),
        &["--alarm-email `ops` is not an e-mail address"],
    );

    // Several app clients, one of them not a client id.
    let a = with(&[
        "--user-pool-id",
        POOL_ID,
        "--user-pool-client-id",
        CLIENT_ID,
        "--user-pool-client-id",
        "mobile client!",
    ]);
    refused(
        &h,
        &run(&a),
        &["--user-pool-client-id `mobile client!` is not a Cognito app client id"],
    );

    // A CORS origin with a path, and a loopback origin for a deployed stage.
    let a = with(&[
        "--cors-origin",
        "https://app.example.com/",
        "--cors-origin",
        "http://localhost:5173",
        "--user-pool-id",
        POOL_ID,
        "--user-pool-client-id",
        CLIENT_ID,
    ]);
    refused(
        &h,
        &run(&a),
        &[
            "--cors-origin `https://app.example.com/` is not an origin",
            "--cors-origin `http://localhost:5173` is a loopback origin",
            "--allow-local-origins",
        ],
    );

    // Missing zips.
    let a: Vec<String> = [
        "deploy",
        "--artifacts-dir",
        "/nonexistent-dir",
        "--user-pool-id",
        POOL_ID,
        "--user-pool-client-id",
        CLIENT_ID,
        "--yes",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    refused(&h, &run(&a), &["cargo xtask build"]);

    // No credentials at all.
    let owned = with(&[
        "--user-pool-id",
        POOL_ID,
        "--user-pool-client-id",
        CLIENT_ID,
    ]);
    let args = run(&owned);
    let before = h.account.snapshot();
    let mut c = h.command(&args);
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let r = run_cmd(c).failed();
    assert!(
        r.stderr.contains("No usable AWS credentials"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("aws configure"), "{}", r.stderr);
    assert_eq!(h.account.snapshot(), before);

    // A profile that does not exist.
    let mut c = h.command(&args);
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .arg("--profile")
        .arg("nope");
    let r = run_cmd(c).failed();
    assert!(
        r.stderr.contains("No usable AWS credentials") && r.stderr.contains("--profile nope"),
        "{}",
        r.stderr
    );

    // Not a region.
    let mut c = h.command(&args);
    c.env("AWS_REGION", "moon-base");
    let r = run_cmd(c).failed();
    assert!(
        r.stderr.contains("`moon-base` is not an AWS region name"),
        "{}",
        r.stderr
    );

    // An endpoint nobody listens on.
    let mut c = h.command(&args);
    c.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let r = run_cmd(c).failed();
    assert!(
        r.stderr.contains("Cannot reach http://127.0.0.1:9"),
        "{}",
        r.stderr
    );
    // Not a speed goal: a hang guard (retries against a dead endpoint must end).
    assert!(r.elapsed.as_secs() < 30, "{:?}", r.elapsed);

    assert!(h.account.stacks().is_empty());
    assert!(h.account.buckets().is_empty());
}

#[test]
fn diff_and_destroy_without_a_stack() {
    let h = Harness::start("nostack");
    let d = h.run(&["destroy", "--yes", "--json"]).ok();
    assert_eq!(d.json()["result"], "absent");
    assert!(d.stderr.contains("does not exist"), "{}", d.stderr);
    // Without built zips, diff says so and still compares the template.
    let d = h
        .run(&[
            "diff",
            "--artifacts-dir",
            h.dir.join("none").to_str().unwrap(),
            "--json",
        ])
        .ok();
    let j = d.json();
    assert_eq!(j["deployed"], false);
    assert!(
        j["codeNote"]
            .as_str()
            .unwrap()
            .contains("cargo xtask build"),
        "{j}"
    );
    assert!(j["resources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["action"] == "added" && r["replacement"] == false));
    // A value not set yet is null, not a marker string.
    let pool = j["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "UserPoolId")
        .expect("UserPoolId");
    assert_eq!(pool["new"], serde_json::Value::Null, "{pool}");
    assert!(!d.stdout.contains("(not set)"), "{}", d.stdout);
    // Bad stage on diff and destroy too.
    let r = h.run(&["diff", "--stage", "x y"]).failed();
    assert!(r.stderr.contains("invalid stage name"), "{}", r.stderr);
    let r = h.run(&["destroy", "--stage", "UPPER", "--yes"]).failed();
    assert!(r.stderr.contains("invalid stage name"), "{}", r.stderr);
}

/// An x86_64 ELF header without sections: enough for the architecture check.
fn x86_64_elf() -> Vec<u8> {
    let mut b = vec![0u8; 64];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2; // 64-bit
    b[5] = 1; // little endian
    b[6] = 1;
    b[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    b[52..54].copy_from_slice(&64u16.to_le_bytes());
    b
}

#[test]
fn zips_for_the_other_architecture_are_refused_before_any_upload() {
    let h = Harness::start("arch");
    let dir = h.dir.join("x86");
    std::fs::create_dir_all(&dir).unwrap();
    let zip = lambda_package::archive::reproducible_zip(&x86_64_elf()).unwrap();
    for f in [SESSION_FN, CONTEXT_FN] {
        std::fs::write(dir.join(format!("{f}.zip")), &zip).unwrap();
    }
    let dir = dir.to_str().unwrap();
    refused(
        &h,
        &[
            "deploy",
            "--artifacts-dir",
            dir,
            "--arch",
            "arm64",
            "--user-pool-id",
            POOL_ID,
            "--user-pool-client-id",
            CLIENT_ID,
            "--yes",
        ],
        &["built for x86_64", "run on arm64"],
    );
}
