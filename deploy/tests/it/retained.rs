//! What a failed first create kept, the plan to remove it, and the removal on moto.

use crate::support::recording;
use aws_sdk_kms::types::KeyState;
use deploy::aws::{Aws, Target};
use deploy::events::StackEvent;
use deploy::report::{Approval, Captured};
use deploy::retained::{commands, describe, from_events, plan, Action, Found, Kind, Retained};
use deploy::retained_cleanup::{may_recreate, offer, Executed, Offer, Offered};
use stack::resources::KmsKey;

/// Every event of a recording: its last poll has the whole history.
fn history(name: &str) -> Vec<StackEvent> {
    let (rec, _) = recording(name);
    rec.polls.last().expect("polls").events.stack_events.clone()
}

const KEY: &str = "3f8c2a71-5d4e-4b9a-8e6f-1a2b3c4d5e6f";

fn target() -> Target {
    Target {
        region: "eu-west-1".into(),
        endpoint_url: None,
    }
}

#[test]
fn delete_skipped_events_are_the_retained_list() {
    let r = from_events(&history("events-create-failed-retained.json"));
    let got: Vec<(&str, &str, Kind, bool)> = r
        .iter()
        .map(|r| {
            (
                r.logical_id.as_str(),
                r.physical_id.as_str(),
                r.kind,
                r.created_here,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "UserProfilesTable",
                "voice-learning-user-profiles",
                Kind::Table,
                true
            ),
            (
                "SessionsTable",
                "voice-learning-sessions",
                Kind::Table,
                true
            ),
            ("DataKey", KEY, Kind::Key, true),
        ]
    );
    assert_eq!(r[2].resource_type, KmsKey::TYPE);
    // The same events in any order (pages are newest first) give the same list.
    let mut reversed = history("events-create-failed-retained.json");
    reversed.reverse();
    assert_eq!(from_events(&reversed), r);
}

#[test]
fn a_rollback_that_deleted_everything_retained_nothing() {
    // The key's creation was cancelled and deleted; nothing said DELETE_SKIPPED.
    assert!(from_events(&history("events-create-failed-rollback.json")).is_empty());
    // A recording without the create's events: what it skipped is listed,
    // but not as created here, so nothing would be touched.
    let d = from_events(&history("events-delete.json"));
    assert_eq!(d.len(), 3, "{d:?}");
    assert!(d.iter().all(|r| !r.created_here), "{d:?}");
}

#[test]
fn a_skipped_resource_the_stack_never_created_is_not_touched() {
    let events: Vec<StackEvent> = history("events-create-failed-retained.json")
        .into_iter()
        .filter(|e| {
            !(e.logical_resource_id == "SessionsTable"
                && e.resource_status
                    == aws_sdk_cloudformation::types::ResourceStatus::CreateComplete)
        })
        .collect();
    let r = from_events(&events);
    let sessions = r.iter().find(|r| r.logical_id == "SessionsTable").unwrap();
    assert!(!sessions.created_here);
    let found = vec![
        Found::Table {
            empty: true,
            deletion_protection: true,
            kms_key: None,
        };
        2
    ]
    .into_iter()
    .chain([Found::Key {
        state: KeyState::Enabled,
        deletion_date: None,
    }])
    .collect::<Vec<_>>();
    let steps = plan(&r, &found);
    let s = steps
        .iter()
        .find(|s| s.resource.logical_id == "SessionsTable")
        .unwrap();
    assert!(
        matches!(&s.action, Action::Keep(why) if why.contains("predate")),
        "{s:?}"
    );
    // A table that stays but is not encrypted with the key does not hold it back.
    let k = steps.iter().find(|s| s.resource.kind == Kind::Key).unwrap();
    assert!(matches!(k.action, Action::ScheduleKeyDeletion), "{k:?}");
}

fn retained() -> Vec<Retained> {
    from_events(&history("events-create-failed-retained.json"))
}

fn table(empty: bool, key: Option<&str>) -> Found {
    Found::Table {
        empty,
        deletion_protection: true,
        kms_key: key.map(str::to_string),
    }
}

fn enabled() -> Found {
    Found::Key {
        state: KeyState::Enabled,
        deletion_date: None,
    }
}

#[test]
fn empty_tables_are_deleted_a_table_with_items_is_kept_and_the_key_scheduled() {
    // Order of the retained list: UserProfilesTable, SessionsTable, DataKey.
    let steps = plan(
        &retained(),
        &[table(false, None), table(true, Some(KEY)), enabled()],
    );
    let by = |id: &str| {
        steps
            .iter()
            .find(|s| s.resource.logical_id == id)
            .unwrap()
            .action
            .clone()
    };
    assert_eq!(
        by("SessionsTable"),
        Action::DeleteTable {
            deletion_protection: true
        }
    );
    assert!(
        matches!(by("UserProfilesTable"), Action::Keep(why) if why.contains("holds items") && why.contains("create-backup")),
    );
    assert_eq!(by("DataKey"), Action::ScheduleKeyDeletion);
    assert_eq!(
        commands(&steps, &target()),
        vec![
            "aws dynamodb scan --table-name voice-learning-sessions --select COUNT --consistent-read --region eu-west-1   # must say \"Count\": 0",
            "aws dynamodb update-table --table-name voice-learning-sessions --no-deletion-protection-enabled --region eu-west-1",
            "aws dynamodb delete-table --table-name voice-learning-sessions --region eu-west-1",
            &format!("aws kms schedule-key-deletion --key-id {KEY} --pending-window-in-days 7 --region eu-west-1"),
        ]
    );
}

#[test]
fn the_key_stays_while_a_remaining_table_is_encrypted_with_it() {
    let arn = format!("arn:aws:kms:eu-west-1:111122223333:key/{KEY}");
    for kept in [
        table(false, Some(&arn)),
        Found::Unknown("AccessDeniedException".into()),
    ] {
        let steps = plan(&retained(), &[kept, table(true, Some(&arn)), enabled()]);
        let key = steps.iter().find(|s| s.resource.kind == Kind::Key).unwrap();
        assert!(
            matches!(&key.action, Action::Keep(why) if why.contains("voice-learning-user-profiles") && why.contains("unreadable")),
            "{key:?}"
        );
        assert!(!commands(&steps, &target())
            .iter()
            .any(|c| c.contains("kms")));
    }
}

#[test]
fn the_create_is_retried_only_once_no_retained_table_takes_its_name() {
    let offer = |offered: Offered, tables: &[&str]| Offer {
        offered,
        tables_left: tables.iter().map(|t| t.to_string()).collect(),
        commands: vec![],
    };
    assert!(may_recreate(&offer(Offered::NothingToDo, &[]), "S").is_ok());
    assert!(may_recreate(&offer(Offered::Removed(Executed::default()), &[]), "S").is_ok());
    // Declined with only the key left: it costs money but blocks nothing.
    assert!(may_recreate(&offer(Offered::Declined, &[]), "S").is_ok());
    let e = may_recreate(&offer(Offered::NoTerminal, &[]), "S")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("rerun with --yes") && e.contains("Nothing was changed"),
        "{e}"
    );
    for o in [Offered::Declined, Offered::Removed(Executed::default())] {
        let e = may_recreate(&offer(o, &["voice-learning-user-profiles"]), "S")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("voice-learning-user-profiles") && e.contains("another --stage"),
            "{e}"
        );
    }
}

#[test]
fn what_is_gone_or_already_scheduled_needs_nothing() {
    let steps = plan(
        &retained(),
        &[
            Found::Gone,
            Found::Gone,
            Found::Key {
                state: KeyState::PendingDeletion,
                deletion_date: Some("2026-03-10T10:00:00Z".into()),
            },
        ],
    );
    assert!(
        steps.iter().all(|s| matches!(s.action, Action::Nothing(_))),
        "{steps:?}"
    );
    assert!(commands(&steps, &target()).is_empty());
    assert!(describe(&steps[2]).contains("already scheduled for deletion on 2026-03-10"));
}

// --------------------------------------------------------- on moto

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, SseSpecification, SseType,
};

struct Emulated {
    _moto: emulator::MotoServer,
    aws: Aws,
    kms: aws_sdk_kms::Client,
}

async fn emulated() -> Emulated {
    let moto = emulator::MotoServer::start(Default::default()).expect("moto starts");
    let conf = testkit::account::sdk_config(&moto.endpoint_url()).await;
    Emulated {
        _moto: moto,
        kms: aws_sdk_kms::Client::new(&conf),
        aws: Aws::from_conf(conf, "123456789012"),
    }
}

/// What a failed create would have retained, made through the APIs: the
/// key, the sessions table (empty, encrypted with the key) and the
/// profiles table (one item; encrypted with the key when `profiles_under_key`).
async fn make_retained(e: &Emulated, profiles_under_key: bool) -> String {
    let key = e
        .kms
        .create_key()
        .description("retained by a failed create")
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    for (name, pk, under_key) in [
        ("voice-learning-sessions", "sessionId", true),
        ("voice-learning-user-profiles", "userId", profiles_under_key),
    ] {
        let mut req = e
            .aws
            .dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .deletion_protection_enabled(true)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(pk)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(pk)
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            );
        if under_key {
            req = req.sse_specification(
                SseSpecification::builder()
                    .enabled(true)
                    .sse_type(SseType::Kms)
                    .kms_master_key_id(&key)
                    .build(),
            );
        }
        req.send().await.unwrap();
    }
    e.aws
        .dynamodb
        .put_item()
        .table_name("voice-learning-user-profiles")
        .item("userId", AttributeValue::S("student-1".into()))
        .send()
        .await
        .unwrap();
    key
}

/// The recorded DELETE_SKIPPED list, its key pointed at the emulator's key.
fn recorded_pointing_at(key: &str) -> Vec<Retained> {
    let events: Vec<StackEvent> = history("events-create-failed-retained.json")
        .into_iter()
        .map(|mut e| {
            if e.physical_resource_id.as_deref() == Some(KEY) {
                e.physical_resource_id = Some(key.to_string());
            }
            e
        })
        .collect();
    from_events(&events)
}

/// Tables (name, deletion protection, items) and the key's state and deletion date.
async fn snapshot(e: &Emulated, key: &str) -> String {
    let mut s = String::new();
    let mut names = e
        .aws
        .dynamodb
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .to_vec();
    names.sort();
    for n in names {
        let t = e
            .aws
            .dynamodb
            .describe_table()
            .table_name(&n)
            .send()
            .await
            .unwrap();
        let items = e
            .aws
            .dynamodb
            .scan()
            .table_name(&n)
            .send()
            .await
            .unwrap()
            .count();
        s.push_str(&format!(
            "{n}: protection={:?} items={items}\n",
            t.table().unwrap().deletion_protection_enabled()
        ));
    }
    let k = e.kms.describe_key().key_id(key).send().await.unwrap();
    let m = k.key_metadata().unwrap();
    s.push_str(&format!(
        "key: {:?} {:?}\n",
        m.key_state(),
        m.deletion_date()
    ));
    s
}

#[tokio::test(flavor = "current_thread")]
async fn cleanup_on_moto_deletes_the_empty_table_keeps_the_full_one_and_schedules_the_key() {
    let e = emulated().await;
    let key = make_retained(&e, false).await;
    let retained = recorded_pointing_at(&key);

    // Refused (no terminal, no --yes): nothing changes, the commands are listed.
    let before = snapshot(&e, &key).await;
    let mut report = Captured::default();
    let o = offer(
        &e.aws,
        &mut report,
        &mut |_: &str| Approval::NoTerminal,
        &retained,
        false,
    )
    .await
    .unwrap();
    assert_eq!(o.offered, Offered::NoTerminal);
    assert_eq!(snapshot(&e, &key).await, before);
    let out = report.text();
    assert!(
        out.contains("no terminal to ask and --yes was not given"),
        "{out}"
    );
    assert!(
        out.contains("aws dynamodb delete-table --table-name voice-learning-sessions"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "aws kms schedule-key-deletion --key-id {key} --pending-window-in-days 7"
        )),
        "{out}"
    );
    assert!(
        !out.contains("delete-table --table-name voice-learning-user-profiles"),
        "{out}"
    );

    // Answered no at the prompt: nothing changes either.
    static ASKED: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
    let mut report = Captured::default();
    let mut ask = |q: &str| {
        ASKED.lock().unwrap().push_str(q);
        Approval::No
    };
    let o = offer(&e.aws, &mut report, &mut ask, &retained, false)
        .await
        .unwrap();
    assert_eq!(o.offered, Offered::Declined);
    assert_eq!(snapshot(&e, &key).await, before);
    assert_eq!(
        *ASKED.lock().unwrap(),
        "Delete 1 empty table(s) and schedule the KMS key's deletion in 7 days as listed above?"
    );
    assert!(report
        .text()
        .contains("Nothing was removed. To remove them later, run:"));

    // Approved (--yes).
    let mut report = Captured::default();
    let mut never = |_: &str| -> Approval { panic!("--yes does not ask") };
    let o = offer(&e.aws, &mut report, &mut never, &retained, true)
        .await
        .unwrap();
    let out = report.text();
    let Offered::Removed(done) = &o.offered else {
        panic!("{o:?}\n{out}")
    };
    assert_eq!(
        done.deleted_tables,
        vec!["voice-learning-sessions"],
        "{out}"
    );
    assert_eq!(done.scheduled_keys, vec![key.clone()], "{out}");
    assert!(done.failed.is_empty(), "{out}");
    assert_eq!(o.tables_left, vec!["voice-learning-user-profiles"]);
    assert!(out.contains("holds items"), "{out}");
    assert!(
        out.contains(&format!("aws kms cancel-key-deletion --key-id {key}")),
        "{out}"
    );

    let tables = e.aws.dynamodb.list_tables().send().await.unwrap();
    assert_eq!(tables.table_names(), ["voice-learning-user-profiles"]);
    let kept = e
        .aws
        .dynamodb
        .describe_table()
        .table_name("voice-learning-user-profiles")
        .send()
        .await
        .unwrap();
    assert_eq!(
        kept.table().unwrap().deletion_protection_enabled(),
        Some(true)
    );
    let k = e.kms.describe_key().key_id(&key).send().await.unwrap();
    let m = k.key_metadata().unwrap();
    assert_eq!(m.key_state(), Some(&KeyState::PendingDeletion));
    let days = (m.deletion_date().unwrap().as_secs_f64()
        - std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64())
        / 86_400.0;
    assert!((6.9..=7.01).contains(&days), "{days} days");

    // Run again: the deleted table and the scheduled key need nothing.
    let mut report = Captured::default();
    let mut never = |_: &str| -> Approval { panic!("nothing to ask") };
    let again = offer(&e.aws, &mut report, &mut never, &retained, false)
        .await
        .unwrap();
    assert_eq!(again.offered, Offered::NothingToDo);
    assert_eq!(again.tables_left, vec!["voice-learning-user-profiles"]);
}

#[tokio::test(flavor = "current_thread")]
async fn on_moto_the_key_of_a_kept_table_with_items_is_not_scheduled() {
    let e = emulated().await;
    let key = make_retained(&e, true).await;
    let mut report = Captured::default();
    let mut never = |_: &str| -> Approval { panic!("--yes does not ask") };
    let o = offer(
        &e.aws,
        &mut report,
        &mut never,
        &recorded_pointing_at(&key),
        true,
    )
    .await
    .unwrap();
    let out = report.text();
    let Offered::Removed(done) = &o.offered else {
        panic!("{o:?}\n{out}")
    };
    assert_eq!(
        done.deleted_tables,
        vec!["voice-learning-sessions"],
        "{out}"
    );
    assert!(done.scheduled_keys.is_empty(), "{out}");
    assert!(out.contains("unreadable"), "{out}");
    let k = e.kms.describe_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        k.key_metadata().unwrap().key_state(),
        Some(&KeyState::Enabled)
    );
}
