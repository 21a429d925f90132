//! Names CloudFormation cannot create twice, on moto through the engine:
//! a role name taken in the account refuses a first create before anything
//! changes; a kept backup vault's name makes the stack use the next free
//! one.

use crate::support::Moto;
use testkit::account::STACK;

/// The same stage's roles exist (its stack in another region): the first
/// create here is refused with what to do, and nothing in the account
/// changes.
#[test]
fn a_first_create_whose_role_names_are_taken_is_refused() {
    let m = Moto::start("global-roles");
    let iam = aws_sdk_iam::Client::new(&m.account.conf);
    let names = stack::Names::new(None).unwrap();
    m.account
        .block_on(
            iam.create_role()
                .role_name(&names.context_manager_role)
                .assume_role_policy_document(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
                )
                .send(),
        )
        .unwrap();
    let zips = m.zips("v1", "#!/bin/sh\n", "#!/bin/sh\n");
    let before = m.account.snapshot();
    let mut opts = m.deploy_options(&zips);
    opts.yes = true;
    let (r, report) = m.deploy(&opts);
    let err = r.expect_err("refused").to_string();
    assert!(
        err.contains(&format!(
            "IAM role {} already exists",
            names.context_manager_role
        )),
        "{err}"
    );
    assert!(err.contains("--stage NAME"), "{err}");
    assert!(err.contains("Nothing was changed"), "{err}");
    assert!(!report.text().contains("uploaded"), "{}", report.text());
    assert_eq!(m.account.snapshot(), before, "the account changed");

    // Another stage has roles of its own: it deploys.
    let mut staged = m.deploy_options(&zips);
    staged.yes = true;
    staged.stage = Some("eu".into());
    let (r, report) = m.deploy(&staged);
    assert!(r.is_ok(), "{}", report.text());
    assert_eq!(
        m.account.stack_status(&format!("{STACK}-eu")).as_deref(),
        Some("CREATE_COMPLETE")
    );
}

/// A vault kept with its recovery points holds the default name: turning
/// backups on creates the next free one, and says so; a later deploy keeps it.
#[test]
fn backups_turned_on_next_to_a_kept_vault_get_a_vault_of_their_own() {
    let m = Moto::start("global-vault");
    let backup = aws_sdk_backup::Client::new(&m.account.conf);
    let names = stack::Names::new(None).unwrap();
    m.account
        .block_on(
            backup
                .create_backup_vault()
                .backup_vault_name(&names.backup_vault)
                .send(),
        )
        .unwrap();
    let zips = m.zips("v1", "#!/bin/sh\n", "#!/bin/sh\n");
    let mut opts = m.deploy_options(&zips);
    opts.yes = true;
    opts.params.backup_retention_days = Some(7);
    let (r, report) = m.deploy(&opts);
    assert!(r.is_ok(), "{}", report.text());
    let wanted = format!("{}_2", names.backup_vault);
    assert!(
        report.text().contains(&format!(
            "backup vault {} exists already",
            names.backup_vault
        )) && report.text().contains(&format!("new vault, {wanted}")),
        "{}",
        report.text()
    );
    assert_eq!(m.account.stack_params(STACK)["BackupVaultName"], wanted);

    // Backups stay on: the stack keeps its vault, nothing is said.
    let zips2 = m.zips("v2", "#!/bin/sh\necho 2\n", "#!/bin/sh\n");
    let mut again = m.deploy_options(&zips2);
    again.yes = true;
    let (r, report) = m.deploy(&again);
    assert!(r.is_ok(), "{}", report.text());
    assert!(
        !report.text().contains("exists already"),
        "{}",
        report.text()
    );
    assert_eq!(m.account.stack_params(STACK)["BackupVaultName"], wanted);
}
