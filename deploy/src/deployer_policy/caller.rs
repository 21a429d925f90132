//! The deployer policy without a service role, statement by statement:
//! the tool's own calls and every resource handler's permissions, each
//! scoped to the names the typed stack model gives.

use crate::assets::{bucket_name, partition, url_suffix};
use crate::error::Result;
use serde_json::{json, Value};
use stack::resources::Properties;

/// The policy without a service role: the tool's calls and every handler's.
pub(super) fn caller_policy(stage: Option<&str>, account: &str, region: &str) -> Result<Value> {
    let names = stack::Names::new(stage)?;
    let t = stack::synth(&stack::StackOptions {
        stage: stage.map(str::to_string),
        region: Some(region.to_string()),
    })?;
    let p = partition(region);
    let arn = |service: &str, rest: &str| format!("arn:{p}:{service}:{region}:{account}:{rest}");
    let mut tables = vec![];
    let mut roles = vec![];
    let mut all_roles = vec![];
    let mut functions = vec![];
    let mut log_groups = vec![];
    let mut alarms = vec![];
    let mut topics = vec![];
    let mut dashboards = vec![];
    let mut aliases = vec![];
    let mut backup_roles = vec![];
    let mut vaults = vec![];
    let mut budgets = vec![];
    for (_, r) in &t.resources {
        match &r.properties {
            Properties::Table(tb) => {
                let a = arn("dynamodb", &format!("table/{}", tb.table_name));
                tables.push(json!(format!("{a}/index/*")));
                tables.push(json!(a));
            }
            Properties::Role(role) => {
                let role_arn = json!(format!("arn:{p}:iam::{account}:role/{}", role.role_name));
                // Each role is passed only to the service that assumes it.
                let trusts = |service: &str| {
                    role.assume_role_policy_document.statement.iter().any(|s| {
                        s.principal == Some(stack::iam::Principal::Service(stack::expr::s(service)))
                    })
                };
                if trusts("backup.amazonaws.com") {
                    backup_roles.push(role_arn.clone());
                } else if trusts("lambda.amazonaws.com") {
                    roles.push(role_arn.clone());
                }
                all_roles.push(role_arn);
            }
            // The kept vault and the ones `deploy` names after it
            // (`global_names`): `_` never occurs in a stage's names.
            Properties::BackupVault(_) => {
                for name in [
                    names.backup_vault.clone(),
                    format!("{}_*", names.backup_vault),
                ] {
                    vaults.push(json!(arn("backup", &format!("backup-vault:{name}"))));
                }
            }
            Properties::Budget(b) => budgets.push(json!(format!(
                "arn:{p}:budgets::{account}:budget/{}",
                b.budget.budget_name
            ))),
            // The function, and its versions and aliases (qualified ARNs).
            Properties::Function(f) => {
                for name in [f.function_name.clone(), format!("{}:*", f.function_name)] {
                    functions.push(json!(arn("lambda", &format!("function:{name}"))));
                }
            }
            Properties::LogGroup(g) => {
                log_groups.push(json!(arn(
                    "logs",
                    &format!("log-group:{}", g.log_group_name)
                )));
                log_groups.push(json!(arn(
                    "logs",
                    &format!("log-group:{}:*", g.log_group_name)
                )));
            }
            Properties::Alarm(a) => {
                alarms.push(json!(arn("cloudwatch", &format!("alarm:{}", a.alarm_name))))
            }
            Properties::Topic(tp) => topics.push(json!(arn("sns", &tp.topic_name))),
            Properties::Dashboard(d) => dashboards.push(json!(format!(
                "arn:{p}:cloudwatch::{account}:dashboard/{}",
                d.dashboard_name
            ))),
            Properties::KmsAlias(a) => {
                if let stack::expr::Expr::Str(name) = &a.alias_name {
                    aliases.push(json!(arn("kms", name)));
                }
            }
            _ => {}
        }
    }
    let bucket = bucket_name(account, region);
    let stack_arn = arn("cloudformation", &format!("stack/{}/*", names.stack));
    let any_key = arn("kms", "key/*");
    let via = |services: &[&str]| -> Value {
        services
            .iter()
            .map(|s| json!(format!("{s}.{region}.{}", url_suffix(region))))
            .collect()
    };
    let st = |sid: &str, actions: &[&str], resources: Value| {
        let mut actions: Vec<&str> = actions.to_vec();
        actions.sort_unstable();
        json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
    };
    let mut pass_role = st(
        "PassTheFunctionRolesToLambda",
        &["iam:PassRole"],
        json!(roles),
    );
    pass_role["Condition"] =
        json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}});
    let mut key_via = st(
        "UseTheKeyThroughTheServicesThatEncryptWithIt",
        &[
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext",
        ],
        json!([any_key]),
    );
    key_via["Condition"] = json!({"StringEquals": {"kms:ViaService": via(&["backup", "dynamodb", "lambda", "logs", "sns"])}});
    let mut statements = vec![
        st(
            "WhoAmIAndAccountSettings",
            &[
                "sts:GetCallerIdentity",
                "lambda:GetAccountSettings",
                "kms:CreateKey",
                "kms:ListAliases",
                // `cargo xtask stages`: ListStacks takes no stack resource.
                "cloudformation:ListStacks",
                // `verify` finds the functions by name prefix.
                "lambda:ListFunctions",
                // The read handlers of log groups and subscriptions: these
                // take no resource (service authorization reference).
                "logs:DescribeLogGroups",
                "logs:DescribeIndexPolicies",
                "sns:GetSubscriptionAttributes",
                "sns:SetSubscriptionAttributes",
                "sns:Unsubscribe",
            ],
            json!("*"),
        ),
        st(
            "TheStackAndItsChangeSets",
            &[
                "cloudformation:ContinueUpdateRollback",
                "cloudformation:CreateChangeSet",
                "cloudformation:DeleteChangeSet",
                "cloudformation:DeleteStack",
                "cloudformation:DescribeChangeSet",
                // A failed change set's validation events.
                "cloudformation:DescribeEvents",
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStackResource",
                "cloudformation:DescribeStackResources",
                "cloudformation:DescribeStacks",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:GetStackPolicy",
                "cloudformation:GetTemplate",
                "cloudformation:ListStackResources",
                "cloudformation:SetStackPolicy",
                "cloudformation:UpdateTerminationProtection",
                // Change sets carry the stack's cost-allocation tags (`tags`).
                "cloudformation:TagResource",
            ],
            // Change-set actions are authorized on the stack they belong
            // to; tagging also on the change set, named by `apply`.
            json!([
                stack_arn,
                arn(
                    "cloudformation",
                    &format!("changeSet/{}*/*", crate::change_set::CHANGE_SET_PREFIX)
                )
            ]),
        ),
        st(
            "TheAssetBucket",
            &[
                "s3:CreateBucket",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
                "s3:PutObject",
            ],
            json!([
                format!("arn:{p}:s3:::{bucket}"),
                format!("arn:{p}:s3:::{bucket}/*")
            ]),
        ),
        st(
            "TheRoles",
            &[
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:ListRoleTags",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ],
            json!(all_roles),
        ),
        pass_role,
        st(
            "TheKeyAndItsAlias",
            &[
                "kms:CreateAlias",
                "kms:DeleteAlias",
                "kms:DescribeKey",
                "kms:DisableKey",
                "kms:DisableKeyRotation",
                "kms:EnableKey",
                "kms:EnableKeyRotation",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateAlias",
                "kms:UpdateKeyDescription",
            ],
            json!(std::iter::once(json!(any_key))
                .chain(aliases.iter().cloned())
                .collect::<Vec<_>>()),
        ),
        key_via,
        st(
            "TheTables",
            &[
                "dynamodb:CreateTable",
                "dynamodb:DeleteTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeContributorInsights",
                "dynamodb:DescribeKinesisStreamingDestination",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:GetResourcePolicy",
                "dynamodb:ListTagsOfResource",
                "dynamodb:Scan",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:UpdateTable",
                "dynamodb:UpdateTimeToLive",
            ],
            json!(tables),
        ),
        st(
            "TheFunctions",
            &[
                "lambda:AddPermission",
                "lambda:CreateAlias",
                "lambda:CreateFunction",
                "lambda:DeleteAlias",
                "lambda:GetAlias",
                "lambda:GetProvisionedConcurrencyConfig",
                "lambda:ListAliases",
                "lambda:ListVersionsByFunction",
                "lambda:PublishVersion",
                "lambda:UpdateAlias",
                "lambda:DeleteFunction",
                "lambda:DeleteFunctionConcurrency",
                "lambda:GetFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetFunctionConcurrency",
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunctionRecursionConfig",
                "lambda:GetFunctionScalingConfig",
                "lambda:GetRuntimeManagementConfig",
                "lambda:GetPolicy",
                "lambda:InvokeFunction",
                "lambda:ListTags",
                "lambda:PutFunctionConcurrency",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ],
            json!(functions),
        ),
        st(
            "TheLogGroups",
            &[
                "logs:AssociateKmsKey",
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:DisassociateKmsKey",
                "logs:FilterLogEvents",
                "logs:GetDataProtectionPolicy",
                "logs:ListTagsForResource",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            json!(log_groups),
        ),
        // API Gateway's access-log delivery: IAM does not scope these
        // (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
        st(
            "ApiAccessLogDelivery",
            &[
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:DescribeResourcePolicies",
                "logs:GetLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:UpdateLogDelivery",
            ],
            json!("*"),
        ),
        st(
            "TheHttpApi",
            &[
                "apigateway:DELETE",
                "apigateway:GET",
                "apigateway:PATCH",
                "apigateway:POST",
                "apigateway:PUT",
            ],
            json!([
                format!("arn:{p}:apigateway:{region}::/apis"),
                format!("arn:{p}:apigateway:{region}::/apis/*"),
                format!("arn:{p}:apigateway:{region}::/tags/*"),
            ]),
        ),
        st(
            "TheDashboard",
            &[
                "cloudwatch:DeleteDashboards",
                "cloudwatch:GetDashboard",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutDashboard",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            json!(dashboards),
        ),
        st(
            "TheAlarms",
            &[
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            json!(alarms),
        ),
        st(
            "TheAlarmTopic",
            &[
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetDataProtectionPolicy",
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
                "sns:ListTagsForResource",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:TagResource",
                "sns:UntagResource",
            ],
            json!(topics),
        ),
    ];
    // Opt-in parts (BackupRetentionDays, MonthlyBudgetUsd): AWS Backup's
    // vault (creating one also needs backup-storage:MountCapsule, which
    // IAM does not scope), plan and selection, passing the backup role to
    // AWS Backup; the budget
    // (https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault.html,
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbudgetservice.html).
    if !vaults.is_empty() {
        let mut pass_backup = st(
            "PassTheBackupRoleToAwsBackup",
            &["iam:PassRole"],
            json!(backup_roles),
        );
        pass_backup["Condition"] =
            json!({"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}});
        statements.push(pass_backup);
        // AWS Backup's service-linked role, created on the first backup
        // selection of the account (the selection's create handler lists it;
        // https://docs.aws.amazon.com/aws-backup/latest/devguide/using-service-linked-roles-AWSServiceRoleForBackup.html).
        let mut backup_slr = st(
            "AwsBackupServiceLinkedRole",
            &["iam:CreateServiceLinkedRole"],
            json!([format!(
                "arn:{p}:iam::{account}:role/aws-service-role/backup.amazonaws.com/AWSServiceRoleForBackup"
            )]),
        );
        backup_slr["Condition"] =
            json!({"StringEquals": {"iam:AWSServiceName": "backup.amazonaws.com"}});
        statements.push(backup_slr);
        statements.push(st(
            "TheBackupVault",
            &[
                "backup:CreateBackupVault",
                "backup:DeleteBackupVault",
                "backup:DescribeBackupVault",
                "backup:GetBackupVaultAccessPolicy",
                "backup:GetBackupVaultNotifications",
                "backup:ListTags",
                "backup:TagResource",
                "backup:UntagResource",
            ],
            json!(vaults),
        ));
        statements.push(st(
            "TheBackupPlanAndSelection",
            &[
                "backup:CreateBackupPlan",
                "backup:CreateBackupSelection",
                "backup:DeleteBackupPlan",
                "backup:DeleteBackupSelection",
                "backup:GetBackupPlan",
                "backup:GetBackupSelection",
                "backup:ListTags",
                "backup:TagResource",
                "backup:UntagResource",
                "backup:UpdateBackupPlan",
            ],
            json!([arn("backup", "backup-plan:*")]),
        ));
        statements.push(st(
            "BackupStorageForTheVault",
            &["backup-storage:MountCapsule"],
            json!("*"),
        ));
    }
    if !budgets.is_empty() {
        statements.push(st(
            "TheBudget",
            &[
                "budgets:ListTagsForResource",
                "budgets:ModifyBudget",
                "budgets:TagResource",
                "budgets:UntagResource",
                "budgets:ViewBudget",
            ],
            json!(budgets),
        ));
        // The budget handlers read the account's billing view.
        statements.push(st(
            "TheBillingViewOfTheBudget",
            &["billing:GetBillingViewData"],
            json!([format!("arn:{p}:billing::{account}:billingview/*")]),
        ));
    }
    Ok(json!({"Version": "2012-10-17", "Statement": statements}))
}
