//! Names that CloudFormation cannot create twice, checked before anything
//! changes.
//!
//! - IAM role names are global to the account (an IAM ARN has no region),
//!   so the same stage deployed in a second region would fail half-way on
//!   them. A first create whose role names already exist is refused with
//!   what to do (`--stage` for a second region). The dashboard's name is
//!   global too and is the deployment guide's, so it stays; a stage's roles
//!   always exist with its dashboard, so the role check finds a second
//!   region. A dashboard made by hand with that name is refused by
//!   CloudFormation's own pre-deployment validation, whose reasons `deploy`
//!   prints.
//! - The backup vault is kept (`Retain`) when backups are turned off, the
//!   stack is destroyed or a first create rolls back: it holds the recovery
//!   points. When backups are turned on again its name is taken, so the
//!   stack gets a new vault, `<name>_2`, `_3`, ... (`_` never occurs in a
//!   stage's names), through the `BackupVaultName` parameter; the old vault
//!   and its recovery points stay restorable (`cargo xtask restore`).

use crate::aws::{explain, Aws};
use crate::error::{failed, Result};
use crate::report::Report;
use stack::module::ids;
use stack::resources::Properties;
use std::collections::BTreeMap;

/// What exists already that a first create would make.
async fn taken(
    aws: &Aws,
    t: &stack::Template,
    r: &stack::resolve::Resolver,
) -> Result<Vec<String>> {
    let iam = crate::record::recorded_client!(aws_sdk_iam, &aws.conf);
    let mut out = vec![];
    for (_, res) in &t.resources {
        if res
            .condition
            .as_deref()
            .is_some_and(|c| r.condition(c) != Some(true))
        {
            continue;
        }
        let Properties::Role(role) = &res.properties else {
            continue;
        };
        match iam.get_role().role_name(&role.role_name).send().await {
            Ok(_) => out.push(format!("IAM role {}", role.role_name)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) => {}
            Err(e) => {
                return Err(explain(
                    e,
                    &format!("checking whether the IAM role {} exists", role.role_name),
                    &aws.target(),
                ))
            }
        }
    }
    Ok(out)
}

/// Before a first create: refuses when a role name (global to the
/// account) is taken. Before every deploy that creates the backup vault: its name, a
/// free one when the kept vault holds it (returned as the parameter value).
pub async fn check(
    aws: &Aws,
    stage: Option<&str>,
    creating: bool,
    params: &BTreeMap<String, String>,
    deployed: Option<&BTreeMap<String, String>>,
    report: &mut impl Report,
) -> Result<Option<String>> {
    let t = stack::synth(&stack::StackOptions {
        stage: stage.map(str::to_string),
        region: Some(aws.region.clone()),
    })?;
    let mut place = stack::resolve::Place::new(&aws.account, &aws.region);
    place.stack_name = stack::Names::new(stage)?.stack;
    let r = stack::resolve::Resolver::new(&t, &place, params, "key", "key-arn");
    if creating {
        let taken = taken(aws, &t, &r).await?;
        if !taken.is_empty() {
            return Err(failed!(kind = Refused,
                "{} already exist{} in account {}. IAM roles are global to an account, so this is most likely this stage's stack in another region (or something left from an earlier one). Deploy this region as another stage (`--stage NAME`), or, if they are leftovers, delete them first. Nothing was changed.",
                taken.join(", "),
                if taken.len() == 1 { "s" } else { "" },
                aws.account
            ));
        }
    }
    vault_name(aws, &t, &r, params, deployed, report).await
}

/// Backups on, and the deployed stack had none: the vault will be created.
async fn vault_name(
    aws: &Aws,
    t: &stack::Template,
    r: &stack::resolve::Resolver,
    params: &BTreeMap<String, String>,
    deployed: Option<&BTreeMap<String, String>>,
    report: &mut impl Report,
) -> Result<Option<String>> {
    let backups = |p: &BTreeMap<String, String>| {
        p.get(ids::P_BACKUP_RETENTION_DAYS)
            .is_some_and(|d| d != "0")
    };
    let vault_on = t.resources.iter().any(|(_, res)| {
        matches!(res.properties, Properties::BackupVault(_))
            && res
                .condition
                .as_deref()
                .is_none_or(|c| r.condition(c) == Some(true))
    });
    if !vault_on || deployed.is_some_and(backups) {
        return Ok(None);
    }
    let Some(wanted) = params.get(ids::P_BACKUP_VAULT_NAME) else {
        return Ok(None);
    };
    let backup = crate::record::recorded_client!(aws_sdk_backup, &aws.conf);
    let base = wanted.split('_').next().unwrap_or(wanted).to_string();
    let candidates = std::iter::once(wanted.clone()).chain((2..100).map(|n| format!("{base}_{n}")));
    for name in candidates {
        match backup
            .describe_backup_vault()
            .backup_vault_name(&name)
            .send()
            .await
        {
            Ok(_) => continue,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                if name == *wanted {
                    return Ok(None);
                }
                report.say(&format!(
                    "backup vault {wanted} exists already (kept with its recovery points when backups were turned off or the stack was deleted; `cargo xtask backups` lists them): new backups go to a new vault, {name}"
                ));
                return Ok(Some(name));
            }
            Err(e) => {
                return Err(explain(
                    e,
                    &format!("checking whether the backup vault {name} exists"),
                    &aws.target(),
                ))
            }
        }
    }
    Err(failed!(
        "backup vaults {base} to {base}_99 all exist: delete the empty ones (`aws backup delete-backup-vault --backup-vault-name NAME`) and deploy again. Nothing was changed."
    ))
}
