//! The operating commands as a user runs them (the real binary, moto):
//! one sentence when there is no stack, `backup` → `backups` → `restore`
//! with `--json`, `cost`'s output, and the new deploy flags checked before
//! anything in the account changes.

use crate::support::*;

#[test]
fn logs_backups_restore_and_cost_through_the_binary() {
    let h = Harness::start("ops");

    // No stack: one sentence each, saying what to do.
    let logs = h.run(&["logs", "--since", "1h"]).failed();
    assert!(
        logs.stderr
            .contains("No stack VoiceLearningAssistantStack is deployed")
            && logs.stderr.contains("--stage"),
        "{}",
        logs.stderr
    );
    assert_eq!(logs.stderr.lines().count(), 1, "{}", logs.stderr);
    let b = h.run(&["backup"]).failed();
    assert!(
        b.stderr.contains("voice-learning-sessions does not exist")
            && b.stderr.contains("cargo xtask deploy"),
        "{}",
        b.stderr
    );
    let bad = h.run(&["logs", "--since", "soon"]).failed();
    assert!(
        bad.stderr.contains("--since") && bad.stderr.contains("15m"),
        "{}",
        bad.stderr
    );

    // The stack's tables (as deploy creates them, keys only), with items.
    let db = h.account.dynamodb();
    for (table, key) in [
        ("voice-learning-sessions", "sessionId"),
        ("voice-learning-user-profiles", "userId"),
    ] {
        use aws_sdk_dynamodb::types::*;
        h.account
            .block_on(
                db.create_table()
                    .table_name(table)
                    .billing_mode(BillingMode::PayPerRequest)
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name(key)
                            .attribute_type(ScalarAttributeType::S)
                            .build()
                            .unwrap(),
                    )
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name(key)
                            .key_type(KeyType::Hash)
                            .build()
                            .unwrap(),
                    )
                    .send(),
            )
            .unwrap();
        for i in 0..2 {
            h.account
                .block_on(
                    db.put_item()
                        .table_name(table)
                        .item(key, AttributeValue::S(format!("k{i}")))
                        .send(),
                )
                .unwrap();
        }
    }

    let made = h.run(&["backup", "--table", "sessions", "--json"]).ok();
    let arn = made.json()["backups"][0]["arn"]
        .as_str()
        .expect("an ARN")
        .to_string();
    let listed = h.run(&["backups", "--json"]).ok().json();
    assert_eq!(listed["backups"][0]["arn"], arn.as_str(), "{listed}");
    let human = h.run(&["backups"]).ok();
    assert!(human.stdout.contains(&arn), "{}", human.stdout);

    // A name not after the stack's tables: the restored copy keeps the
    // stack's key, which the key policy keeps to those names. Refused, and
    // no table appears.
    let tables_before = h.account.table_names();
    let off = h
        .run(&[
            "restore",
            "--backup-arn",
            &arn,
            "--target-table",
            "sessions-copy",
        ])
        .failed();
    assert!(
        off.stderr.contains("must start with the table's own name"),
        "{}",
        off.stderr
    );
    assert_eq!(h.account.table_names(), tables_before);
    let restored = h
        .run(&[
            "restore",
            "--backup-arn",
            &arn,
            "--target-table",
            "voice-learning-sessions-copy",
            "--json",
        ])
        .ok();
    let r = restored.json();
    assert_eq!(r["targetTable"], "voice-learning-sessions-copy", "{r}");
    assert_eq!(r["itemCount"], 2, "{r}");
    assert!(r["switchSteps"].as_array().unwrap().len() > 5, "{r}");
    let again = h
        .run(&[
            "restore",
            "--backup-arn",
            &arn,
            "--target-table",
            "voice-learning-sessions-copy",
        ])
        .failed();
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let neither = h.run(&["restore"]).failed();
    assert!(neither.stderr.contains("--to-time"), "{}", neither.stderr);

    // cost: the guide's example, and JSON.
    let cost = h.run(&["cost"]).ok();
    assert!(
        cost.stdout.contains("940,000 API requests"),
        "{}",
        cost.stdout
    );
    let j = h.run(&["cost", "--students", "10", "--json"]).ok().json();
    assert_eq!(j["requests"], 9400.0, "{j}");
}

#[test]
fn the_backup_and_budget_flags_are_checked_before_any_change() {
    let h = Harness::start("opsflags");
    let v1 = h.zips("v1", "s", "c");
    let before = h.account.snapshot();
    for (extra, says) in [
        (
            vec!["--backup-retention-days", "36"],
            "--backup-retention-days 36 is more than 35",
        ),
        (
            vec!["--monthly-budget-usd", "50", "--alarm-email", ""],
            "needs an e-mail",
        ),
    ] {
        let mut args = vec![
            "deploy",
            "--artifacts-dir",
            v1.to_str().unwrap(),
            "--yes",
            "--user-pool-id",
            POOL_ID,
            "--user-pool-client-id",
            CLIENT_ID,
        ];
        args.extend(extra);
        let r = h.run(&args).failed();
        assert!(r.stderr.contains(says), "{}", r.stderr);
    }
    assert_eq!(h.account.snapshot(), before, "something changed");
}
