//! The safety rails against moto: the replacement guard and IAM-widening
//! approval refuse before anything changes (the change set is deleted), and
//! a narrowing goes through without approval.

mod deploy_support;

use deploy_support::*;
use serde_json::json;

fn baseline(h: &Harness) -> String {
    let v1 = h.zips("v1", "s", "c");
    let dir = v1.to_str().unwrap().to_string();
    h.run(&[
        "deploy",
        "--no-verify",
        "--artifacts-dir",
        &dir,
        "--user-pool-id",
        POOL_ID,
        "--user-pool-client-id",
        CLIENT_ID,
        "--yes",
    ])
    .ok();
    dir
}

#[test]
fn sessions_table_key_schema_change_is_refused_without_allow_replacement() {
    let h = Harness::start("replace");
    let dir = baseline(&h);
    let mut t = template();
    t["Resources"]["SessionsTable"]["Properties"]["KeySchema"] = json!([{"AttributeName": "userId", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]);
    let file = h.template_file("rekeyed.json", &t);
    let before = h.snapshot();

    let run = h
        .run(&[
            "deploy",
            "--no-verify",
            "--artifacts-dir",
            &dir,
            "--yes",
            "--template-file",
            file.to_str().unwrap(),
        ])
        .failed();
    let err = run.all();
    assert!(err.contains("refusing to deploy"), "{err}");
    assert!(err.contains("replace SessionsTable"), "{err}");
    assert!(err.contains("KeySchema"), "{err}");
    assert!(err.contains("--allow-replacement"), "{err}");
    // Refused from the templates alone: before any upload or change set.
    assert!(err.contains("Nothing was uploaded or changed"), "{err}");
    assert!(!run.stdout.contains("Plan for"), "{}", run.stdout);
    // Nothing changed and no change set is left (moto keeps executed ones listed).
    assert_eq!(h.snapshot(), before);
    assert!(h.change_sets(STACK).iter().all(|(_, s)| s != "AVAILABLE"));

    // diff marks the replacement as well.
    let d = h
        .run(&[
            "diff",
            "--artifacts-dir",
            &dir,
            "--template-file",
            file.to_str().unwrap(),
        ])
        .ok();
    assert!(
        d.stdout
            .contains("[~] AWS::DynamoDB::Table SessionsTable  REPLACE (KeySchema changes)"),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("(requires replacement)"), "{}", d.stdout);
}

#[test]
fn iam_widening_needs_yes_without_a_terminal_and_a_narrowing_does_not() {
    let h = Harness::start("approval");
    let dir = baseline(&h);

    // Widening: a new action for the session persistence role.
    let mut wide = template();
    wide["Resources"]["SessionPersistenceRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"][0]["Action"]
        .as_array_mut()
        .unwrap()
        .push(json!("dynamodb:Scan"));
    let wide_file = h.template_file("wide.json", &wide);
    let before = h.snapshot();
    let run = h
        .run(&[
            "deploy",
            "--no-verify",
            "--artifacts-dir",
            &dir,
            "--template-file",
            wide_file.to_str().unwrap(),
        ])
        .failed();
    assert!(
        run.stdout.contains("+ (widening)") && run.stdout.contains("dynamodb:Scan"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("widens IAM permissions"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("rerun with --yes"), "{}", run.stderr);
    assert_eq!(h.snapshot(), before, "nothing changed, change set deleted");

    // Narrowing: one action fewer on the context manager role; no approval needed.
    let mut narrow = template();
    let actions = narrow["Resources"]["ContextManagerRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"][0]["Action"]
        .as_array_mut()
        .unwrap();
    let removed = actions.pop().unwrap();
    let narrow_file = h.template_file("narrow.json", &narrow);
    let run = h
        .run(&[
            "deploy",
            "--no-verify",
            "--artifacts-dir",
            &dir,
            "--template-file",
            narrow_file.to_str().unwrap(),
        ])
        .ok();
    assert!(!run.stdout.contains("(widening)"), "{}", run.stdout);
    assert!(
        run.stdout.contains(removed.as_str().unwrap()),
        "{}",
        run.stdout
    );
    assert_eq!(h.stack_status(STACK).as_deref(), Some("UPDATE_COMPLETE"));
    assert_eq!(h.deployed_template(STACK), narrow);

    // --require-approval any-change asks even for a narrowing-free change.
    let run = h
        .run(&[
            "deploy",
            "--no-verify",
            "--artifacts-dir",
            &dir,
            "--require-approval",
            "any-change",
            "--alarm-email",
            "ops@example.com",
            "--template-file",
            narrow_file.to_str().unwrap(),
        ])
        .failed();
    assert!(run.stderr.contains("any-change"), "{}", run.stderr);
    assert_eq!(h.stack_params(STACK)["AlarmEmail"], "");
}
