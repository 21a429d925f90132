//! `deploy`, `diff` and `destroy` end to end against moto: deploy, deploy
//! again (no-op), a code change, diff, destroy, stages. The functions are
//! small fake zips (`--artifacts-dir`).

use crate::support::*;

#[test]
fn deploy_noop_code_change_diff_and_destroy() {
    let h = Harness::start("e2e");
    let v1 = h.zips(
        "v1",
        "#!/bin/sh\necho session v1\n",
        "#!/bin/sh\necho context v1\n",
    );
    let v1_dir = v1.to_str().unwrap();
    let outputs = h.dir.join("outputs.json");

    // diff before anything exists: everything added; exit 0, or 1 with --fail.
    let d = h.run(&["diff", "--artifacts-dir", v1_dir]).ok();
    assert!(d.stdout.contains("not deployed yet"), "{}", d.stdout);
    assert!(
        d.stdout.contains("[+] AWS::DynamoDB::Table SessionsTable"),
        "{}",
        d.stdout
    );
    h.run(&["diff", "--artifacts-dir", v1_dir, "--fail"])
        .failed();

    // First deploy.
    let first = h
        .run(&[
            "deploy",
            "--no-verify",
            "--artifacts-dir",
            v1_dir,
            "--user-pool-id",
            POOL_ID,
            "--user-pool-client-id",
            CLIENT_ID,
            "--yes",
            "--json",
            "--outputs-file",
            outputs.to_str().unwrap(),
        ])
        .ok();
    eprintln!("first deploy took {:?}", first.elapsed);
    let j = first.json();
    assert_eq!(j["result"], "deployed", "{j}");
    assert_eq!(
        h.account.stack_status(STACK).as_deref(),
        Some("CREATE_COMPLETE")
    );
    // The plan (human text on stderr with --json): a new stack's IAM
    // summary first, nothing its conditions leave out listed as added; the
    // JSON keeps the complete plan (every statement, widening).
    let iam = first
        .stderr
        .find("IAM: who may do what")
        .expect(&first.stderr);
    assert!(iam < first.stderr.find("Resources").unwrap());
    assert!(
        !first.stderr.contains("[+] AWS::Backup"),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("not created (BackupEnabled is false"),
        "{}",
        first.stderr
    );
    assert_eq!(j["plan"]["newStack"], true, "{j}");
    assert_eq!(j["plan"]["iamWidening"], true, "{j}");
    assert!(
        j["plan"]["notCreated"]
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["logicalId"] == "BackupVault")),
        "{j}"
    );
    // Both zips under content-addressed keys in the managed bucket.
    let bucket = "vla-deploy-assets-123456789012-us-east-1";
    let objects = h.account.objects();
    let session_key = format!(
        "code/{}.zip",
        sha256_hex(&v1.join(format!("{SESSION_FN}.zip")))
    );
    let context_key = format!(
        "code/{}.zip",
        sha256_hex(&v1.join(format!("{CONTEXT_FN}.zip")))
    );
    assert!(
        objects.contains_key(&format!("{bucket}/{session_key}")),
        "{objects:?}"
    );
    assert!(
        objects.contains_key(&format!("{bucket}/{context_key}")),
        "{objects:?}"
    );
    assert_eq!(j["uploaded"].as_array().unwrap().len(), 2, "{j}");
    // The bucket's settings: encryption, public access blocked, lifecycle. (The
    // TLS-only policy is left out for a plain-http endpoint, which could not satisfy it.)
    let s3 = h.account.s3();
    let enc = h
        .account
        .block_on(s3.get_bucket_encryption().bucket(bucket).send())
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    let pab = h
        .account
        .block_on(s3.get_public_access_block().bucket(bucket).send())
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let lc = h
        .account
        .block_on(
            s3.get_bucket_lifecycle_configuration()
                .bucket(bucket)
                .send(),
        )
        .unwrap();
    assert_eq!(lc.rules()[0].expiration().unwrap().days(), Some(365));
    let params = h.account.stack_params(STACK);
    assert_eq!(params["SessionPersistenceCodeKey"], session_key);
    assert_eq!(params["ContextManagerCodeKey"], context_key);
    assert_eq!(params["CodeBucket"], bucket);
    assert_eq!(params["UserPoolId"], POOL_ID);
    // The deployment guide's check: ListFunctions filtered on the two prefixes.
    let functions = h.account.function_names();
    let session: Vec<&String> = functions
        .iter()
        .filter(|f| f.contains("voice-learning-session"))
        .collect();
    let context: Vec<&String> = functions
        .iter()
        .filter(|f| f.contains("voice-learning-context"))
        .collect();
    assert_eq!(session, vec![SESSION_FN]);
    assert_eq!(context, vec![CONTEXT_FN]);
    // Outputs file: moto reports no outputs for change-set stacks, so a warning and {}.
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs).unwrap()).unwrap();
    assert!(written[STACK].is_object(), "{written}");
    assert!(
        first
            .stderr
            .contains("warning: VoiceLearningAssistantStack reports no outputs"),
        "{}",
        first.stderr
    );

    // Second deploy, nothing changed: "no changes", no upload, no change set.
    let objects_before = h.account.objects();
    let change_sets_before = h.account.change_sets(STACK);
    let second = h
        .run(&["deploy", "--no-verify", "--artifacts-dir", v1_dir])
        .ok();
    eprintln!("no-op deploy took {:?}", second.elapsed);
    assert!(second.stdout.contains("no changes"), "{}", second.stdout);
    assert!(!second.stdout.contains("uploaded"), "{}", second.stdout);
    assert!(!second.stdout.contains("Plan for"), "{}", second.stdout);
    // Same objects (the deployed code is rewritten in place to keep it young
    // for the lifecycle rule, so only the keys are compared).
    assert!(
        h.account.objects().keys().eq(objects_before.keys()),
        "nothing uploaded"
    );
    assert_eq!(
        h.account.change_sets(STACK),
        change_sets_before,
        "no change set created"
    );
    assert!(
        h.account
            .change_sets(STACK)
            .iter()
            .all(|(_, s)| s != "AVAILABLE"),
        "a change set was left behind"
    );
    // The user pool parameters were kept from the deployed stack.
    assert_eq!(h.account.stack_params(STACK), params);

    // diff: same → exit 0 even with --fail.
    let same = h.run(&["diff", "--artifacts-dir", v1_dir, "--fail"]).ok();
    assert!(same.stdout.contains("no differences"), "{}", same.stdout);

    // A code change in one function.
    let v2 = h.zips(
        "v2",
        "#!/bin/sh\necho session v1\n",
        "#!/bin/sh\necho context v2\n",
    );
    let v2_dir = v2.to_str().unwrap();
    assert_eq!(
        sha256_hex(&v2.join(format!("{SESSION_FN}.zip"))),
        sha256_hex(&v1.join(format!("{SESSION_FN}.zip")))
    );
    let changed = h.run(&["diff", "--artifacts-dir", v2_dir]).ok();
    assert!(
        changed.stdout.contains("[~] ContextManagerCodeKey"),
        "{}",
        changed.stdout
    );
    assert!(
        !changed.stdout.contains("SessionPersistenceCodeKey"),
        "{}",
        changed.stdout
    );
    let failed = h
        .run(&["diff", "--artifacts-dir", v2_dir, "--fail", "--json"])
        .failed();
    assert_eq!(failed.code, 1);
    assert_eq!(failed.json()["differences"], true);

    // The code being replaced is the rollback target: deploy rewrites it so
    // the bucket's lifecycle rule counts its age from now.
    let old_context_key = params["ContextManagerCodeKey"].clone();
    let bucket = params["CodeBucket"].clone();
    let modified = |key: &str| {
        h.account
            .block_on(h.account.s3().head_object().bucket(&bucket).key(key).send())
            .unwrap()
            .last_modified()
            .copied()
            .unwrap()
    };
    let before_refresh = modified(&old_context_key);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let third = h
        .run(&["deploy", "--no-verify", "--artifacts-dir", v2_dir, "--json"])
        .ok();
    assert!(
        modified(&old_context_key).secs() > before_refresh.secs(),
        "the replaced code (rollback target) was not refreshed"
    );
    let j = third.json();
    assert_eq!(j["result"], "deployed", "{j}");
    let new_context_key = format!(
        "code/{}.zip",
        sha256_hex(&v2.join(format!("{CONTEXT_FN}.zip")))
    );
    assert_eq!(
        j["uploaded"],
        serde_json::json!([new_context_key]),
        "only the changed zip is uploaded"
    );
    let after = h.account.stack_params(STACK);
    for (k, v) in &params {
        if k == "ContextManagerCodeKey" {
            assert_eq!(after[k], new_context_key);
            assert_ne!(&after[k], v);
        } else {
            assert_eq!(&after[k], v, "{k} changed");
        }
    }
    assert_eq!(
        h.account.stack_status(STACK).as_deref(),
        Some("UPDATE_COMPLETE")
    );

    // destroy: needs --yes without a terminal; then the stack is gone, tables stay.
    let refused = h.run(&["destroy"]).failed();
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert!(h.account.stack_status(STACK).is_some());
    let destroy = h.run(&["destroy", "--yes"]).ok();
    eprintln!("destroy took {:?}", destroy.elapsed);
    assert!(
        destroy
            .stdout
            .contains("DynamoDB table voice-learning-sessions"),
        "{}",
        destroy.stdout
    );
    assert!(
        destroy
            .stdout
            .contains("DynamoDB table voice-learning-user-profiles"),
        "{}",
        destroy.stdout
    );
    assert!(destroy.stdout.contains("KMS key"), "{}", destroy.stdout);
    // With the exact commands to back up and delete what it kept.
    for command in [
        "aws dynamodb create-backup --table-name voice-learning-sessions --backup-name voice-learning-sessions-final --region",
        "aws dynamodb update-table --table-name voice-learning-sessions --no-deletion-protection-enabled --region",
        "aws dynamodb delete-table --table-name voice-learning-user-profiles --region",
        "aws kms schedule-key-deletion --key-id",
    ] {
        assert!(destroy.stdout.contains(command), "{command}\n{}", destroy.stdout);
    }
    assert_eq!(h.account.stack_status(STACK), None);
    let tables = h.account.table_names();
    assert!(
        tables.contains(&"voice-learning-sessions".to_string()),
        "{tables:?}"
    );
    assert!(
        tables.contains(&"voice-learning-user-profiles".to_string()),
        "{tables:?}"
    );
    assert!(h.account.function_names().is_empty());

    // A new create would collide with the kept tables: refused up front, nothing changed.
    let before = h.account.snapshot();
    let again = h
        .run(&[
            "deploy",
            "--no-verify",
            "--artifacts-dir",
            v1_dir,
            "--user-pool-id",
            POOL_ID,
            "--user-pool-client-id",
            CLIENT_ID,
            "--yes",
        ])
        .failed();
    assert!(
        again
            .stderr
            .contains("voice-learning-sessions, voice-learning-user-profiles already exist"),
        "{}",
        again.stderr
    );
    // It says how to start fresh and bring the data back.
    for said in [
        "aws dynamodb delete-table --table-name voice-learning-user-profiles --region",
        "cargo xtask restore --backup-arn ARN --target-table NAME",
    ] {
        assert!(again.stderr.contains(said), "{said}\n{}", again.stderr);
    }
    assert_eq!(h.account.snapshot(), before);

    // destroy again: a clear message, exit 0.
    let again = h.run(&["destroy", "--yes"]).ok();
    assert!(again.stdout.contains("does not exist"), "{}", again.stdout);
}

#[test]
fn stages_are_separate_stacks_sharing_the_asset_bucket() {
    let h = Harness::start("stage");
    let v1 = h.zips("v1", "s", "c");
    let dir = v1.to_str().unwrap();
    for stage in ["dev", "qa"] {
        h.run(&[
            "deploy",
            "--no-verify",
            "--stage",
            stage,
            "--artifacts-dir",
            dir,
            "--user-pool-id",
            POOL_ID,
            "--user-pool-client-id",
            CLIENT_ID,
            "--yes",
        ])
        .ok();
    }
    assert_eq!(
        h.account
            .stack_status("VoiceLearningAssistantStack-dev")
            .as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(
        h.account
            .stack_status("VoiceLearningAssistantStack-qa")
            .as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(h.account.buckets().len(), 1);
    // A stage's template is over the 51,200-byte inline limit, so each
    // went through the bucket too (`templates/<sha256>.json`).
    let code: Vec<String> = h
        .account
        .objects()
        .into_keys()
        .filter(|k| k.contains("/code/"))
        .collect();
    assert_eq!(
        code.len(),
        2,
        "same zips, same keys: uploaded once: {code:?}"
    );
    assert!(h
        .account
        .function_names()
        .contains(&"voice-learning-session-persistence-qa".to_string()));
    h.run(&["destroy", "--stage", "dev", "--yes"]).ok();
    assert_eq!(
        h.account.stack_status("VoiceLearningAssistantStack-dev"),
        None
    );
    assert!(h
        .account
        .stack_status("VoiceLearningAssistantStack-qa")
        .is_some());
}
