//! `cargo xtask deployer-policy` covers what the deploy engine really calls:
//! a first deploy, a code change, a no-op, diff and destroy against moto,
//! with every SDK operation recorded (`XTASK_RECORD_SDK_CALLS`), each mapped
//! to its IAM action and found in the printed policy. (What CloudFormation
//! then does with the deployer's permissions is not visible to a recorder;
//! the policy lists those actions from the service authorization reference.)

use crate::support::*;
use std::collections::BTreeSet;

/// The IAM actions an SDK operation (`Service:Operation`, as the SDK's
/// metadata names it) needs, where they differ from its name.
fn iam_actions(operation: &str) -> Vec<String> {
    let (service, op) = operation.split_once(':').unwrap_or(("", operation));
    let prefix = service.to_ascii_lowercase();
    let renamed: &[&str] = match (prefix.as_str(), op) {
        ("s3", "HeadBucket") => &["s3:ListBucket"],
        ("s3", "HeadObject") => &["s3:GetObject"],
        ("s3", "CopyObject") => &["s3:GetObject", "s3:PutObject"],
        ("s3", "PutBucketEncryption") => &["s3:PutEncryptionConfiguration"],
        ("s3", "PutPublicAccessBlock") => &["s3:PutBucketPublicAccessBlock"],
        ("s3", "PutBucketLifecycleConfiguration") => &["s3:PutLifecycleConfiguration"],
        ("lambda", "Invoke") => &["lambda:InvokeFunction"],
        _ => &[],
    };
    if renamed.is_empty() {
        vec![format!("{prefix}:{op}")]
    } else {
        renamed.iter().map(|s| s.to_string()).collect()
    }
}

#[test]
fn the_deploy_engine_stays_inside_the_deployer_policy() {
    let h = Harness::start("policy");
    let record = h.dir.join("calls.txt");
    let v1 = h.zips("v1", "#!/bin/sh\necho 1\n", "#!/bin/sh\necho 1\n");
    let v2 = h.zips("v2", "#!/bin/sh\necho 2\n", "#!/bin/sh\necho 1\n");
    let run = |args: &[&str]| {
        let mut c = h.command(args);
        c.env("XTASK_RECORD_SDK_CALLS", &record);
        run_cmd(c)
    };
    let deploy = |dir: &std::path::Path| {
        run(&[
            "deploy",
            "--no-verify",
            "--artifacts-dir",
            dir.to_str().unwrap(),
            "--user-pool-id",
            POOL_ID,
            "--user-pool-client-id",
            CLIENT_ID,
            "--yes",
        ])
        .ok();
    };
    deploy(&v1);
    deploy(&v2);
    deploy(&v2);
    run(&["diff", "--artifacts-dir", v2.to_str().unwrap()]).ok();
    run(&["destroy", "--yes"]).ok();

    let policy = h
        .run(&[
            "deployer-policy",
            "--account",
            "123456789012",
            "--region",
            emulator::TEST_REGION,
        ])
        .ok();
    let doc: serde_json::Value = serde_json::from_str(&policy.stdout).expect(&policy.stdout);
    let allowed: BTreeSet<String> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let recorded: BTreeSet<String> = std::fs::read_to_string(&record)
        .expect("the deploy recorded its calls")
        .lines()
        .flat_map(iam_actions)
        .collect();
    assert!(
        recorded.contains("cloudformation:ExecuteChangeSet"),
        "{recorded:?}"
    );
    assert!(recorded.contains("s3:PutObject"), "{recorded:?}");
    let outside: Vec<&String> = recorded.difference(&allowed).collect();
    assert!(
        outside.is_empty(),
        "calls outside the deployer policy: {outside:?}"
    );
    eprintln!(
        "DEPLOYER POLICY: {} recorded actions inside a policy of {} actions",
        recorded.len(),
        allowed.len()
    );
}

#[test]
fn an_account_that_is_not_twelve_digits_is_refused() {
    let h = Harness::start("policy-bad");
    let r = h
        .run(&[
            "deployer-policy",
            "--account",
            "1234",
            "--region",
            "us-east-1",
        ])
        .failed();
    assert!(r.stderr.contains("12 digits"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}
