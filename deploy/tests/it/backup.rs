//! Backups and restores: on moto (CreateBackup, ListBackups,
//! DescribeContinuousBackups, RestoreTableFromBackup,
//! RestoreTableToPointInTime, the item count and the refusals), and the
//! wait for a restore that takes a while on recorded DynamoDB answers.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, ScalarAttributeType,
};
use deploy::aws::Aws;
use deploy::backup::{self, RestoreOptions, RestoreSource, TableChoice};
use deploy::report::Captured;
use std::time::Duration;
use testkit::account::Account;

fn table(account: &Account, name: &str, keys: &[&str], items: usize) {
    let db = account.dynamodb();
    let mut req = db
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (i, k) in keys.iter().enumerate() {
        req = req
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*k)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(*k)
                    .key_type(if i == 0 {
                        KeyType::Hash
                    } else {
                        KeyType::Range
                    })
                    .build()
                    .unwrap(),
            );
    }
    account.block_on(req.send()).expect("CreateTable");
    account
        .block_on(
            db.update_continuous_backups()
                .table_name(name)
                .point_in_time_recovery_specification(
                    PointInTimeRecoverySpecification::builder()
                        .point_in_time_recovery_enabled(true)
                        .build()
                        .unwrap(),
                )
                .send(),
        )
        .expect("PITR on");
    for i in 0..items {
        let mut put = db.put_item().table_name(name);
        for k in keys {
            put = put.item(*k, AttributeValue::S(format!("{k}-{i}")));
        }
        account.block_on(put.send()).expect("PutItem");
    }
}

fn restore_opts(source: RestoreSource, target: Option<&str>) -> RestoreOptions {
    RestoreOptions {
        aws: Default::default(),
        stage: None,
        source,
        target_table: target.map(str::to_string),
        poll_interval: Duration::from_millis(10),
    }
}

#[test]
fn backup_list_and_restore_into_a_new_table_on_moto() {
    let server = emulator::MotoServer::start(Default::default()).expect("moto starts");
    let account = Account::new(&server.endpoint_url());
    let aws = Aws::from_conf(account.conf.clone(), "123456789012");
    let names = stack::Names::new(None).unwrap();

    // No tables yet: one sentence saying the stack is not there.
    let err = account
        .block_on(backup::create(&aws, &names, Some(TableChoice::Sessions)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("voice-learning-sessions does not exist")
            && err.contains("cargo xtask deploy"),
        "{err}"
    );

    table(&account, &names.sessions_table, &["sessionId", "sk"], 3);
    table(&account, &names.user_profiles_table, &["userId"], 2);

    let made = account
        .block_on(backup::create(&aws, &names, None))
        .expect("backups");
    assert_eq!(made.len(), 2);
    assert_eq!(made[0].table, "voice-learning-sessions");
    assert!(made.iter().all(|b| b.arn.contains("/backup/")), "{made:?}");
    std::thread::sleep(Duration::from_millis(1100));
    let later = account
        .block_on(backup::create(&aws, &names, Some(TableChoice::Profiles)))
        .expect("backup");
    assert_eq!(later.len(), 1);

    let (all, windows) = account.block_on(backup::list(&aws, &names)).expect("list");
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0].arn, later[0].arn, "newest first: {all:?}");
    assert!(windows.iter().all(|w| w.enabled), "{windows:?}");

    // From a backup, into the default name; the items are counted.
    let mut report = Captured::default();
    let r = account
        .block_on(backup::restore(
            &aws,
            &names,
            &restore_opts(
                RestoreSource::Backup {
                    arn: made[0].arn.clone(),
                },
                None,
            ),
            &mut report,
        ))
        .expect("restore");
    assert!(
        r.target_table
            .starts_with("voice-learning-sessions-restored-"),
        "{r:?}"
    );
    assert_eq!(r.item_count, 3);
    assert!(
        report.text().contains("is ACTIVE with 3 items"),
        "{}",
        report.text()
    );
    let steps = r.switch_steps.join("\n");
    for must in [
        "delete-table --table-name voice-learning-sessions ",
        "--target-table-name voice-learning-sessions ",
        "update-time-to-live --table-name voice-learning-sessions ",
        "PointInTimeRecoveryEnabled=true",
        "cargo xtask verify",
    ] {
        assert!(steps.contains(must), "{must}: {steps}");
    }

    // Never over a live table, never over an existing one.
    for (target, says) in [
        ("voice-learning-sessions", "is a live table of the stack"),
        (r.target_table.as_str(), "already exists"),
        ("no spaces allowed", "is not a DynamoDB table name"),
    ] {
        let err = account
            .block_on(backup::restore(
                &aws,
                &names,
                &restore_opts(
                    RestoreSource::Backup {
                        arn: made[0].arn.clone(),
                    },
                    Some(target),
                ),
                &mut Captured::default(),
            ))
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{target}: {err}");
    }

    // A point in time, into a name of our own; a time outside the window is refused.
    let when = windows
        .iter()
        .find(|w| w.table == "voice-learning-user-profiles")
        .and_then(|w| w.latest.clone())
        .expect("a latest restorable time");
    let p = account
        .block_on(backup::restore(
            &aws,
            &names,
            &restore_opts(
                RestoreSource::PointInTime {
                    table: TableChoice::Profiles,
                    time: when,
                },
                Some("profiles-copy"),
            ),
            &mut Captured::default(),
        ))
        .expect("point-in-time restore");
    assert_eq!(
        (p.target_table.as_str(), p.item_count),
        ("profiles-copy", 2)
    );
    let err = account
        .block_on(backup::restore(
            &aws,
            &names,
            &restore_opts(
                RestoreSource::PointInTime {
                    table: TableChoice::Profiles,
                    time: "2001-01-01T00:00:00Z".into(),
                },
                Some("profiles-too-old"),
            ),
            &mut Captured::default(),
        ))
        .unwrap_err()
        .to_string();
    assert!(err.contains("is outside what"), "{err}");
    let err = backup::parse_time("yesterday").unwrap_err().to_string();
    assert!(err.contains("2026-11-29T15:00:00Z"), "{err}");
}

/// A restore that takes a while: DynamoDB's recorded answers say CREATING
/// twice, then ACTIVE; the item count takes two Scan pages.
#[test]
fn a_slow_restore_shows_progress_and_counts_every_page() {
    let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/voice-learning-sessions/backup/01732000000000-abcdef12";
    let table = |status: &str| {
        serde_json::json!({"operation": "DescribeTable", "body": {"Table": {
            "TableName": "sessions-copy", "TableStatus": status,
            "TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/sessions-copy"}}})
    };
    let replay = testkit::replay::Replay::from_json(&serde_json::json!({"responses": [
        {"operation": "DescribeBackup", "body": {"BackupDescription": {
            "BackupDetails": {"BackupArn": arn, "BackupName": "b", "BackupStatus": "AVAILABLE",
                              "BackupType": "USER", "BackupCreationDateTime": 1732000000},
            "SourceTableDetails": {"TableName": "voice-learning-sessions", "TableId": "t",
                                   "KeySchema": [{"AttributeName": "sessionId", "KeyType": "HASH"}],
                                   "TableCreationDateTime": 1731000000,
                                   "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
                                   "ItemCount": 5}}}},
        {"operation": "DescribeTable", "status": 400, "body": {
            "__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
            "message": "Requested resource not found"}},
        {"operation": "RestoreTableFromBackup", "body": {"TableDescription": {
            "TableName": "sessions-copy", "TableStatus": "CREATING",
            "TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/sessions-copy"}}},
        table("CREATING"),
        table("CREATING"),
        table("ACTIVE"),
        {"operation": "Scan", "body": {"Count": 3, "ScannedCount": 3,
            "LastEvaluatedKey": {"sessionId": {"S": "s-3"}}}},
        {"operation": "Scan", "body": {"Count": 2, "ScannedCount": 2}},
    ]}));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conf = rt.block_on(replay.sdk_config());
    let aws = Aws::from_conf(conf, "123456789012");
    let names = stack::Names::new(None).unwrap();
    let mut report = Captured::default();
    let r = rt
        .block_on(backup::restore(
            &aws,
            &names,
            &restore_opts(
                RestoreSource::Backup { arn: arn.into() },
                Some("sessions-copy"),
            ),
            &mut report,
        ))
        .expect("restore");
    assert_eq!((r.item_count, r.expected_items), (5, Some(5)));
    let text = report.text();
    assert_eq!(text.matches("sessions-copy: CREATING").count(), 2, "{text}");
    assert!(!text.contains("warning"), "{text}");
    assert_eq!(replay.requests("Scan").len(), 2);
    assert!(replay.requests("Scan")[1].contains("ExclusiveStartKey"));
}
