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
        // API Gateway authorizes by HTTP method on the resource path.
        ("apigatewayv2", op) if op.starts_with("Get") => &["apigateway:GET"],
        _ => &[],
    };
    if renamed.is_empty() {
        vec![format!("{prefix}:{op}")]
    } else {
        renamed.iter().map(|s| s.to_string()).collect()
    }
}

/// The IAM actions of every SDK call recorded in `record`.
fn recorded_actions(record: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_to_string(record)
        .expect("the deploy recorded its calls")
        .lines()
        .flat_map(iam_actions)
        .collect()
}

/// Every action a `deployer-policy` document allows.
fn allowed_actions(stdout: &str) -> BTreeSet<String> {
    let doc: serde_json::Value = serde_json::from_str(stdout).expect(stdout);
    testkit::policy_actions(&doc).into_iter().collect()
}

const SERVICE_ROLE: &str = "arn:aws:iam::123456789012:role/voice-learning-cfn";

#[test]
fn the_deploy_engine_stays_inside_the_deployer_policy() {
    engine_stays_inside("policy", None);
}

/// Deploying through a CloudFormation service role, the engine's own calls
/// stay inside the narrowed policy `deployer-policy --role-arn` prints (the
/// resource handlers' permissions are the role's: `handler_permissions.rs`).
#[test]
fn the_deploy_engine_with_a_service_role_stays_inside_the_narrowed_policy() {
    engine_stays_inside("policy-role", Some(SERVICE_ROLE));
}

fn engine_stays_inside(name: &str, role_arn: Option<&str>) {
    let h = Harness::start(name);
    let record = h.dir.join("calls.txt");
    let v1 = h.zips("v1", "#!/bin/sh\necho 1\n", "#!/bin/sh\necho 1\n");
    let v2 = h.zips("v2", "#!/bin/sh\necho 2\n", "#!/bin/sh\necho 1\n");
    let run = |args: &[&str]| {
        let mut c = h.command(args);
        c.env("XTASK_RECORD_SDK_CALLS", &record);
        run_cmd(c)
    };
    let deploy = |dir: &std::path::Path| {
        let mut args = vec![
            "deploy",
            "--no-verify",
            "--artifacts-dir",
            dir.to_str().unwrap(),
            "--user-pool-id",
            POOL_ID,
            "--user-pool-client-id",
            CLIENT_ID,
            "--yes",
        ];
        if let Some(r) = role_arn {
            args.extend(["--role-arn", r]);
        }
        run(&args).ok();
    };
    deploy(&v1);
    deploy(&v2);
    deploy(&v2);
    run(&["diff", "--artifacts-dir", v2.to_str().unwrap()]).ok();
    // verify's reads (moto has no HTTP API, so it reports failures).
    run(&["verify", "--no-smoke"]);
    run(&["destroy", "--yes"]).ok();

    let mut args = vec![
        "deployer-policy",
        "--account",
        "123456789012",
        "--region",
        emulator::TEST_REGION,
    ];
    if let Some(r) = role_arn {
        args.extend(["--role-arn", r]);
    }
    let allowed = allowed_actions(&h.run(&args).ok().stdout);
    if role_arn.is_some() {
        for write in [
            "dynamodb:CreateTable",
            "lambda:CreateFunction",
            "iam:CreateRole",
        ] {
            assert!(!allowed.contains(write), "{write} in {allowed:?}");
        }
        assert!(allowed.contains("iam:PassRole"));
    }
    let recorded = recorded_actions(&record);
    assert!(recorded.contains("lambda:ListFunctions"), "{recorded:?}");
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
    // TOOL_ACTIONS (what the narrowed policy keeps) names every call the
    // engine made outside CloudFormation and the asset bucket.
    let unlisted: Vec<&String> = recorded
        .iter()
        .filter(|a| !a.starts_with("cloudformation:") && !a.starts_with("s3:"))
        .filter(|a| !deploy::deployer_policy::TOOL_ACTIONS.contains(&a.as_str()))
        .collect();
    assert!(unlisted.is_empty(), "not in TOOL_ACTIONS: {unlisted:?}");
    eprintln!(
        "DEPLOYER POLICY: {} recorded actions inside a policy of {} actions",
        recorded.len(),
        allowed.len()
    );
}

#[test]
fn a_role_arn_that_is_not_an_iam_role_is_refused_before_anything_changes() {
    let h = Harness::start("policy-bad-role");
    for bad in [
        "voice-learning-cfn",
        "arn:aws:iam::1234:role/x",
        "arn:aws:iam::123456789012:user/x",
        "arn:aws:s3:::123456789012:role/x",
    ] {
        let r = h
            .run(&[
                "deployer-policy",
                "--account",
                "123456789012",
                "--region",
                "us-east-1",
                "--role-arn",
                bad,
            ])
            .failed();
        assert!(r.stderr.contains("is not an IAM role ARN"), "{}", r.stderr);
        assert!(r.stdout.is_empty());
        let d = h
            .run(&[
                "deploy",
                "--no-verify",
                "--role-arn",
                bad,
                "--user-pool-id",
                POOL_ID,
                "--user-pool-client-id",
                CLIENT_ID,
                "--yes",
            ])
            .failed();
        assert!(d.stderr.contains("is not an IAM role ARN"), "{}", d.stderr);
    }
    // Nothing was created.
    let stages = h.run(&["stages", "--json"]).ok();
    assert!(
        !stages.stdout.contains("VoiceLearning"),
        "{}",
        stages.stdout
    );
    let r = h
        .run(&[
            "deployer-policy",
            "--for",
            "cloudformation-role",
            "--role-arn",
            SERVICE_ROLE,
            "--account",
            "123456789012",
            "--region",
            "us-east-1",
        ])
        .failed();
    assert!(
        r.stderr.contains("--role-arn goes with --for caller"),
        "{}",
        r.stderr
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
