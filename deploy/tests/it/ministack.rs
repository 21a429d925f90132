//! On MiniStack, in process: a first create that fails half-way, after
//! CloudFormation has made the key and the tables, leaves them behind
//! (DeletionPolicy Retain); nothing is removed without approval, and with
//! it the retry cleans up and creates the stack.

use deploy::options::{Artifacts, AwsOptions, DeployOptions, ParamOptions, RequireApproval};
use deploy::report::{Approval, Captured};
use emulator::ministack::MiniStack;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use testkit::account::{Account, STACK};

/// MiniStack and an account in it.
struct MiniStackAccount {
    ms: MiniStack,
    account: Account,
    dir: PathBuf,
}

impl MiniStackAccount {
    /// `name`: the test's own scratch directory (the tests run in parallel).
    fn start(name: &str) -> Self {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("deploy-ministack-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ms = MiniStack::start(Default::default()).expect("MiniStack starts");
        let account = Account::new(&ms.endpoint_url());
        MiniStackAccount { ms, account, dir }
    }
}

impl MiniStackAccount {
    /// Requests to this MiniStack with its test credentials.
    fn aws(&self) -> AwsOptions {
        AwsOptions {
            region: Some(emulator::TEST_REGION.into()),
            profile: None,
            endpoint_url: Some(self.ms.endpoint_url()),
            static_credentials: Some((
                emulator::TEST_ACCESS_KEY_ID.into(),
                emulator::TEST_SECRET_ACCESS_KEY.into(),
            )),
        }
    }
}

/// The resources only an option adds (the budget and the backup selection
/// aside: MiniStack has neither).
const OPTION_RESOURCES: [&str; 4] = [
    "AlarmEmailSubscription",
    "BackupVault",
    "BackupPlan",
    "BackupRole",
];

impl Drop for MiniStackAccount {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A first create that fails half-way, after CloudFormation has created the
/// key and the tables: the rollback keeps those (DeletionPolicy Retain:
/// DELETE_SKIPPED). Without a terminal and
/// without `--yes` deploy lists them, prints the commands and changes
/// nothing, also on the retry; with good zips and `--yes` it removes the
/// empty tables, schedules the key's deletion and creates the stack, with no
/// manual AWS command.
#[test]
fn a_failed_first_create_is_cleaned_up_and_retried() {
    let e = MiniStackAccount::start("failed-create");
    // A `bootstrap` shell script: enough for a create that never gets to run it.
    let zips = testkit::account::zips(
        &e.dir.join("zips"),
        "#!/bin/sh\nexit 1\n",
        "#!/bin/sh\nexit 1\n",
    );
    // The failing template: the stack's own, plus a resource IAM refuses (a
    // role whose trust policy uses NotPrincipal), created once the key and
    // both tables exist. MiniStack's CloudFormation accepts
    // every input the real stack can be given, so the failure comes from
    // the template, deployed in process.
    let mut failing = crate::support::template();
    failing["Resources"]["AlwaysFails"] = json!({
        "Type": "AWS::IAM::Role",
        "DependsOn": ["DataKey", "SessionsTable", "UserProfilesTable"],
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "NotPrincipal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
            }
        }
    });
    let deploy = |template: Option<&serde_json::Value>, yes: bool| {
        let opts = DeployOptions {
            aws: e.aws(),
            stage: None,
            params: ParamOptions {
                arch: lambda_package::Arch::host(),
                user_pool_id: Some("us-east-1_Pool".into()),
                user_pool_client_id: Some("client".into()),
                ..ParamOptions::default()
            },
            require_approval: RequireApproval::Never,
            yes,
            allow_replacement: false,
            outputs_file: None,
            artifacts: Artifacts::Dir(zips.clone()),
            template: template.cloned(),
            smoke: false,
            protect: true,
            role_arn: None,
        };
        let mut report = Captured::default();
        let mut nobody = |_: &str| Approval::NoTerminal;
        let t = Instant::now();
        let r = e
            .account
            .block_on(deploy::apply::run(&opts, &mut report, &mut nobody));
        let text = match &r {
            Ok(_) => report.text(),
            Err(err) => format!("{}{err}\n", report.text()),
        };
        (r.is_ok(), text, t.elapsed())
    };
    let tables = || -> Vec<String> {
        let mut t: Vec<String> = e
            .account
            .block_on(e.account.dynamodb().list_tables().send())
            .unwrap()
            .table_names()
            .iter()
            .filter(|n| n.starts_with("voice-learning-"))
            .cloned()
            .collect();
        t.sort();
        t
    };
    let key_states = || -> Vec<String> {
        let kms = e.account.kms();
        let keys = e.account.block_on(kms.list_keys().send()).unwrap();
        let mut states = vec![];
        for k in keys.keys() {
            let d = e
                .account
                .block_on(kms.describe_key().key_id(k.key_id().unwrap()).send())
                .unwrap();
            let m = d.key_metadata().unwrap();
            if m.description().unwrap_or_default().contains(STACK) {
                states.push(format!("{:?}", m.key_state().unwrap()));
            }
        }
        states
    };
    let stack_status = || {
        e.account
            .block_on(e.account.cfn().describe_stacks().stack_name(STACK).send())
            .ok()
            .and_then(|o| {
                o.stacks()
                    .first()
                    .and_then(|s| s.stack_status().map(|x| x.as_str().to_string()))
            })
    };
    let both = vec![
        "voice-learning-sessions".to_string(),
        "voice-learning-user-profiles".to_string(),
    ];

    // 1. The failed create: the rollback keeps the tables and the key, and
    //    without a terminal or --yes nothing is removed.
    let (ok, text, first) = deploy(Some(&failing), false);
    assert!(!ok, "{text}");
    assert_eq!(
        stack_status().as_deref(),
        Some("ROLLBACK_COMPLETE"),
        "{text}"
    );
    assert!(text.contains("DELETE_SKIPPED"), "{text}");
    assert!(text.contains("there is no terminal to ask"), "{text}");
    assert!(
        text.contains("aws dynamodb delete-table --table-name voice-learning-sessions"),
        "{text}"
    );
    assert_eq!(tables(), both, "nothing removed without approval");
    assert_eq!(key_states(), ["Enabled"]);

    // 2. The retry without approval refuses before changing anything.
    let (ok, text, second) = deploy(Some(&failing), false);
    assert!(!ok, "{text}");
    assert!(text.contains("rerun with --yes"), "{text}");
    assert_eq!(stack_status().as_deref(), Some("ROLLBACK_COMPLETE"));
    assert_eq!(tables(), both);
    assert_eq!(key_states(), ["Enabled"]);

    // 3. The stack's own template and --yes: cleans up and creates the stack.
    let (ok, text, third) = deploy(None, true);
    assert!(ok, "{text}");
    assert!(
        text.contains("deleted the empty table voice-learning-sessions"),
        "{text}"
    );
    assert_eq!(stack_status().as_deref(), Some("CREATE_COMPLETE"), "{text}");
    assert_eq!(tables(), both, "the new stack's tables");
    let mut states = key_states();
    states.sort();
    assert_eq!(
        states,
        ["Enabled", "PendingDeletion"],
        "the old key scheduled for deletion, the new one in use"
    );
    eprintln!(
        "failed create {:?}, refused retry {:?}, cleanup + create {:?}",
        first, second, third
    );
}

/// Every option on a deployed stage, end to end on MiniStack: a stage
/// created with the defaults, updated to the alarm e-mail, reserved
/// concurrency, daily backups and a budget, then back to the defaults.
///
/// MiniStack's gaps are asserted, never skipped: its CloudFormation has no
/// `AWS::Backup::BackupSelection` and no `AWS::Budgets::Budget` (it refuses
/// the template, as CloudFormation does in a region without a type), so
/// after that refusal the all-on step deploys the stack's template without
/// those two; they are covered by the registry schemas instead (cfn-lint on
/// the all-on template in `template_invariants`, their handler permissions
/// in `handler_permissions`). It also drops `ReservedConcurrentExecutions`
/// (asserted below; the template invariants check the property).
#[test]
fn every_option_deploys_on_a_stage_and_turns_off_again() {
    use stack::module::ids::{BACKUP_SELECTION, BUDGET};
    let e = MiniStackAccount::start("every-option");
    let zips = testkit::account::zips(
        &e.dir.join("zips"),
        "#!/bin/sh\nexit 1\n",
        "#!/bin/sh\nexit 1\n",
    );
    let stage = "qa";
    let names = stack::Names::new(Some(stage)).unwrap();
    let deploy =
        |params: ParamOptions, template: Option<&serde_json::Value>, allow_replacement: bool| {
            let opts = DeployOptions {
                aws: e.aws(),
                stage: Some(stage.into()),
                params: ParamOptions {
                    arch: lambda_package::Arch::host(),
                    user_pool_id: Some("us-east-1_Pool".into()),
                    user_pool_client_id: Some("client".into()),
                    ..params
                },
                require_approval: RequireApproval::Never,
                yes: true,
                allow_replacement,
                outputs_file: None,
                artifacts: Artifacts::Dir(zips.clone()),
                template: template.cloned(),
                smoke: false,
                protect: true,
                role_arn: None,
            };
            let mut report = Captured::default();
            let mut nobody = |_: &str| Approval::NoTerminal;
            let r = e
                .account
                .block_on(deploy::apply::run(&opts, &mut report, &mut nobody));
            match r {
                Ok(_) => Ok(report.text()),
                Err(err) => Err(format!("{}{err}\n", report.text())),
            }
        };
    let resources = || -> Vec<(String, String)> {
        let out = e
            .account
            .block_on(
                e.account
                    .cfn()
                    .describe_stack_resources()
                    .stack_name(&names.stack)
                    .send(),
            )
            .unwrap();
        let mut r: Vec<(String, String)> = out
            .stack_resources()
            .iter()
            .map(|r| {
                (
                    r.logical_resource_id().unwrap_or_default().to_string(),
                    r.resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        r.sort();
        r
    };
    let has = |id: &str| resources().iter().any(|(r, _)| r == id);
    let physical_id = |id: &str| -> String {
        let out = e
            .account
            .block_on(
                e.account
                    .cfn()
                    .describe_stack_resource()
                    .stack_name(&names.stack)
                    .logical_resource_id(id)
                    .send(),
            )
            .unwrap();
        out.stack_resource_detail()
            .and_then(|d| d.physical_resource_id())
            .unwrap_or_default()
            .to_string()
    };
    let all_on = ParamOptions {
        alarm_email: Some("ops@example.com".into()),
        reserved_concurrency: Some(5),
        backup_retention_days: Some(7),
        monthly_budget_usd: Some(50),
        tls_trust_store: Some("public".into()),
        ..ParamOptions::default()
    };

    // 1. The stage with the defaults: no option resource.
    let text = deploy(ParamOptions::default(), None, false).unwrap_or_else(|t| panic!("{t}"));
    assert_eq!(
        e.account.stack_status(&names.stack).as_deref(),
        Some("CREATE_COMPLETE"),
        "{text}"
    );
    for id in OPTION_RESOURCES {
        assert!(!has(id), "{id} with the defaults");
    }
    // Termination protection is on: a plain DeleteStack is refused.
    let described = e
        .account
        .block_on(
            e.account
                .cfn()
                .describe_stacks()
                .stack_name(&names.stack)
                .send(),
        )
        .unwrap();
    assert_eq!(
        described.stacks()[0].enable_termination_protection(),
        Some(true),
        "{text}"
    );
    let refused = e.account.block_on(
        e.account
            .cfn()
            .delete_stack()
            .stack_name(&names.stack)
            .send(),
    );
    assert!(
        refused.is_err(),
        "DeleteStack went through termination protection"
    );
    assert_eq!(
        e.account.stack_status(&names.stack).as_deref(),
        Some("CREATE_COMPLETE")
    );

    // 2. Every option on, the stack's own template: MiniStack refuses the
    //    two types it lacks (its gap), and nothing changes.
    let refused = deploy(all_on.clone(), None, false).expect_err("MiniStack lacks two types");
    assert!(
        refused.contains("AWS::Backup::BackupSelection")
            || refused.contains("AWS::Budgets::Budget"),
        "{refused}"
    );
    assert_eq!(
        e.account.stack_status(&names.stack).as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert!(!has("BackupVault"));

    // 3. Every option on, without those two types: every other option
    //    resource is created.
    let mut without_gaps = stack::synth(&stack::StackOptions {
        stage: Some(stage.into()),
        region: Some(emulator::TEST_REGION.into()),
    })
    .unwrap()
    .to_json_value();
    let r = without_gaps["Resources"].as_object_mut().unwrap();
    assert!(r.remove(BACKUP_SELECTION).is_some() && r.remove(BUDGET).is_some());
    // MiniStack's change set marks the key's new policy statement and tags
    // as "requires recreation" (on AWS both update with no interruption,
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html),
    // so this step allows it, and the key must still be the same one after.
    let key_before = physical_id("DataKey");
    let updated_keeping_the_key = |text: &str| {
        assert_eq!(
            physical_id("DataKey"),
            key_before,
            "the key was replaced: {text}"
        );
        assert_eq!(
            e.account.stack_status(&names.stack).as_deref(),
            Some("UPDATE_COMPLETE"),
            "{text}"
        );
    };
    let text = deploy(all_on.clone(), Some(&without_gaps), true).unwrap_or_else(|t| panic!("{t}"));
    updated_keeping_the_key(&text);
    for id in OPTION_RESOURCES {
        assert!(
            has(id),
            "{id} missing with every option on: {:?}",
            resources()
        );
    }
    let params = e.account.stack_params(&names.stack);
    assert_eq!(params["ReservedConcurrency"], "5");
    assert_eq!(params["BackupRetentionDays"], "7");
    assert_eq!(params["AlarmEmail"], "ops@example.com");
    assert_eq!(params["TlsTrustStore"], "public");
    // MiniStack's gap: the function's reserved concurrency is not applied.
    let concurrency = e
        .account
        .block_on(
            e.account
                .lambda()
                .get_function_concurrency()
                .function_name(&names.session_persistence_function)
                .send(),
        )
        .unwrap();
    assert_eq!(
        concurrency.reserved_concurrent_executions(),
        None,
        "MiniStack applies reserved concurrency now: assert 5 here"
    );

    // 4. Back to the defaults: the option resources go, except the vault
    //    (Retain: it holds recovery points).
    let off = ParamOptions {
        alarm_email: Some(String::new()),
        reserved_concurrency: Some(0),
        backup_retention_days: Some(0),
        monthly_budget_usd: Some(0),
        ..ParamOptions::default()
    };
    let text = deploy(off, None, true).unwrap_or_else(|t| panic!("{t}"));
    updated_keeping_the_key(&text);
    for id in OPTION_RESOURCES {
        assert!(!has(id), "{id} left in the stack: {:?}", resources());
    }

    // `destroy --yes` turns termination protection off and deletes it.
    let destroy = deploy::options::DestroyOptions {
        aws: e.aws(),
        stage: Some(stage.into()),
        yes: true,
    };
    let mut report = Captured::default();
    let mut nobody = |_: &str| Approval::NoTerminal;
    let r = e
        .account
        .block_on(deploy::destroy::run(&destroy, &mut report, &mut nobody));
    assert!(r.is_ok(), "{}{r:?}", report.text());
    assert!(
        report.text().contains("termination protection turned off"),
        "{}",
        report.text()
    );
    assert_eq!(e.account.stack_status(&names.stack), None);
}
