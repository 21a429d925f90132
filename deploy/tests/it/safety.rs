//! The safety rails, run in process against moto with modified templates:
//! the replacement guard and IAM-widening approval refuse before anything
//! changes (the change set is deleted), a narrowing goes through without
//! approval, and a template over the inline limit goes through the bucket.

use crate::support::{template, Moto};
use cfn_plan::iam::Sign;
use cfn_plan::template_diff::ResourceAction;
use deploy::options::{DiffOptions, RequireApproval};
use serde_json::json;
use testkit::account::STACK;

fn baseline(m: &Moto) -> std::path::PathBuf {
    let dir = m.zips("v1", "s", "c");
    let mut opts = m.deploy_options(&dir);
    opts.yes = true;
    let (r, report) = m.deploy(&opts);
    r.unwrap_or_else(|e| panic!("{e}\n{}", report.text()));
    dir
}

#[test]
fn sessions_table_key_schema_change_is_refused_without_allow_replacement() {
    let m = Moto::start("replace");
    let dir = baseline(&m);
    let mut t = template();
    t["Resources"]["SessionsTable"]["Properties"]["KeySchema"] = json!([{"AttributeName": "userId", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]);
    let before = m.account.snapshot();

    let mut opts = m.deploy_options(&dir);
    opts.yes = true;
    opts.template = Some(t.clone());
    let (r, report) = m.deploy(&opts);
    let err = r.unwrap_err().to_string();
    assert!(err.contains("refusing to deploy"), "{err}");
    assert!(err.contains("replace SessionsTable"), "{err}");
    assert!(err.contains("KeySchema"), "{err}");
    assert!(err.contains("--allow-replacement"), "{err}");
    // Refused from the templates alone: before any upload or change set.
    assert!(err.contains("Nothing was uploaded or changed"), "{err}");
    assert!(report.plans.is_empty(), "{}", report.text());
    // Nothing changed and no change set is left (moto keeps executed ones listed).
    assert_eq!(m.account.snapshot(), before);
    assert!(m
        .account
        .change_sets(STACK)
        .iter()
        .all(|(_, s)| s != "AVAILABLE"));

    // diff marks the replacement as well.
    let d = m
        .account
        .block_on(deploy::diff::run(&DiffOptions {
            aws: opts.aws.clone(),
            stage: None,
            params: Default::default(),
            artifacts_dir: dir.clone(),
            template: Some(t),
        }))
        .unwrap();
    let table = d
        .resources
        .iter()
        .find(|r| r.logical_id == "SessionsTable")
        .unwrap();
    assert_eq!(table.action, ResourceAction::Modified);
    assert_eq!(table.replaced_by, vec!["KeySchema"]);
    assert!(table
        .changes
        .iter()
        .all(|c| c.path.starts_with(".Properties.KeySchema")));
}

#[test]
fn iam_widening_needs_yes_without_a_terminal_and_a_narrowing_does_not() {
    let m = Moto::start("approval");
    let dir = baseline(&m);

    // Widening: a new action for the session persistence role.
    let mut wide = template();
    wide["Resources"]["SessionPersistenceRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"][0]["Action"]
        .as_array_mut()
        .unwrap()
        .push(json!("dynamodb:Scan"));
    let before = m.account.snapshot();
    let mut opts = m.deploy_options(&dir);
    opts.template = Some(wide);
    let (r, report) = m.deploy(&opts);
    let err = r.unwrap_err().to_string();
    let plan = &report.plans[0];
    assert!(
        plan.iam.iter().any(|c| c.label() == "+ (widening)"
            && c.stmt.actions.contains(&"dynamodb:Scan".to_string())),
        "{plan:#?}"
    );
    assert!(err.contains("widens IAM permissions"), "{err}");
    assert!(err.contains("rerun with --yes"), "{err}");
    assert_eq!(report.results[0]["result"], "needs-approval");
    assert_eq!(
        m.account.snapshot(),
        before,
        "nothing changed, change set deleted"
    );

    // Narrowing: one action fewer on the context manager role; no approval needed.
    let mut narrow = template();
    let actions = narrow["Resources"]["ContextManagerRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"][0]["Action"]
        .as_array_mut()
        .unwrap();
    let removed = actions.pop().unwrap();
    opts.template = Some(narrow.clone());
    let (r, report) = m.deploy(&opts);
    r.unwrap_or_else(|e| panic!("{e}\n{}", report.text()));
    let plan = &report.plans[0];
    assert!(!plan.widens_iam(), "{plan:#?}");
    assert!(plan.iam.iter().any(|c| c.sign == Sign::Removed
        && c.stmt
            .actions
            .contains(&removed.as_str().unwrap().to_string())));
    assert_eq!(
        m.account.stack_status(STACK).as_deref(),
        Some("UPDATE_COMPLETE")
    );
    assert_eq!(m.account.deployed_template(STACK), narrow);

    // --require-approval any-change asks even for a narrowing-free change.
    opts.require_approval = RequireApproval::AnyChange;
    opts.params.alarm_email = Some("ops@example.com".into());
    let (r, _) = m.deploy(&opts);
    assert!(r.unwrap_err().to_string().contains("any-change"));
    assert_eq!(m.account.stack_params(STACK)["AlarmEmail"], "");
}

#[test]
fn templates_over_the_inline_limit_go_through_the_asset_bucket() {
    let m = Moto::start("big");
    let dir = m.zips("v1", "s", "c");
    let mut t = template();
    t["Metadata"] = json!({"Notes": "x".repeat(60_000)});
    let mut opts = m.deploy_options(&dir);
    opts.yes = true;
    opts.template = Some(t.clone());
    let (r, report) = m.deploy(&opts);
    r.unwrap_or_else(|e| panic!("{e}\n{}", report.text()));
    assert!(
        report.text().contains("sent via s3://"),
        "{}",
        report.text()
    );
    let templates: Vec<String> = m
        .account
        .objects()
        .into_keys()
        .filter(|k| k.contains("/templates/"))
        .collect();
    assert_eq!(templates.len(), 1, "{templates:?}");
    assert_eq!(
        m.account.stack_status(STACK).as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(m.account.deployed_template(STACK), t);
}
