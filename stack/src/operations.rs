//! Opt-in operations features of the stack: daily AWS Backup of both tables
//! and a monthly cost budget. Both parameters default to 0 (off), and every
//! resource, statement and tag they add carries a condition, so with the
//! defaults the stack deploys exactly the resources it has without them.

use crate::expr::{get_att, r#ref, s, sub, Expr};
use crate::iam::{PolicyDocument, Principal, Statement};
use crate::ids::*;
use crate::model::{Parameter, Resource, Template};
use crate::names::Names;
use crate::permissions as perms;
use crate::resources::*;

/// The cost-allocation tag every resource carries while the budget exists.
pub const PROJECT_TAG: (&str, &str) = ("Project", "VoiceLearningAssistant");
/// Its companion with the stage's name, when a stage is set.
pub const STAGE_TAG: &str = "Stage";

/// Daily at 03:00 UTC, away from European and American daytime traffic.
pub const BACKUP_SCHEDULE: &str = "cron(0 3 * * ? *)";
/// AWS Backup's minimum start window is 60 minutes; a DynamoDB backup of
/// this size finishes in minutes, 8 hours leaves room for a slow day.
pub const BACKUP_START_WINDOW_MINUTES: i64 = 60;
pub const BACKUP_COMPLETION_WINDOW_MINUTES: i64 = 480;
/// Budget alerts: percent of the limit, actual and forecast spend.
pub const BUDGET_ACTUAL_THRESHOLDS: &[f64] = &[80.0, 100.0];
pub const BUDGET_FORECAST_THRESHOLDS: &[f64] = &[100.0];

/// Parameters, conditions and the conditional resources of both features,
/// plus the cost-allocation tags on every resource that takes tags.
pub fn add(t: &mut Template, n: &Names) {
    parameters(t, n);
    t.condition(
        C_BACKUP_ENABLED,
        Expr::Not(Box::new(Expr::Equals(
            Box::new(r#ref(P_BACKUP_RETENTION_DAYS)),
            Box::new(s("0")),
        ))),
    );
    // A budget without a recipient would alert nobody, so it exists only
    // with an alarm e-mail as well.
    t.condition(
        C_BUDGET_ENABLED,
        Expr::And(vec![
            Expr::Not(Box::new(Expr::Equals(
                Box::new(r#ref(P_MONTHLY_BUDGET_USD)),
                Box::new(s("0")),
            ))),
            Expr::Condition(C_HAS_ALARM_EMAIL.into()),
        ]),
    );
    backup(t, n);
    budget(t, n);
    cost_tags(t, n);
}

fn parameters(t: &mut Template, n: &Names) {
    // A vault is kept (Retain) with its recovery points when backups are
    // turned off or the stack is deleted, and its name stays taken; `deploy`
    // then picks a free one (`<name>_2`, ...). AWS Backup's rule for names:
    // 2-50 letters, digits, hyphens and underscores
    // (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html).
    t.parameter(
        P_BACKUP_VAULT_NAME,
        Parameter::string(
            "The AWS Backup vault of the daily backups (used only with BackupRetentionDays > 0)",
        )
        .default(n.backup_vault.clone())
        .pattern(
            "^[a-zA-Z0-9_-]{2,50}$",
            "2-50 letters, digits, hyphens or underscores",
        ),
    );
    t.parameter(
        P_BACKUP_RETENTION_DAYS,
        // Sessions expire 30 days after their last activity (TTL) and PITR
        // restores any second of the last 35 days, so daily backups beyond
        // 35 days would keep deleted conversations longer than the product
        // does; AWS Backup itself only needs at least 1 day
        // (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_Lifecycle.html).
        Parameter::number(
            "Days AWS Backup keeps each daily backup of both tables; 0 for no backup plan",
        )
        .default(0i64)
        .range(0, 35),
    );
    t.parameter(
        P_MONTHLY_BUDGET_USD,
        Parameter::number(
            "Monthly cost budget in USD for this stack's tagged resources, alerting AlarmEmail; 0 for none (also none without AlarmEmail)",
        )
        .default(0i64)
        .range(0, 1_000_000),
    );
}

fn key_arn() -> Expr {
    get_att(KEY, "Arn")
}

fn tables() -> [&'static str; 2] {
    [SESSIONS_TABLE, USER_PROFILES_TABLE]
}

/// The key policy's part: creating a vault encrypted with the key makes
/// AWS Backup create a grant and use the key as the caller
/// (https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault.html).
/// Like the DynamoDB, Lambda and SNS statement it lets the account's IAM
/// policies grant it, only through AWS Backup in this region, and only
/// while backups are on. The backup role's own use of the key goes through
/// DynamoDB, which the key policy already delegates
/// (`TablesViaDynamoDB`); its grants are in the role.
pub fn backup_vault_key_statement() -> Statement {
    Statement::allow(
        "BackupVaultViaAwsBackup",
        perms::BACKUP_VAULT_KEY,
        vec![s("*")],
    )
    .principal(Principal::Aws(sub(
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
    )))
    .condition(
        "StringEquals",
        "kms:CallerAccount",
        sub("${AWS::AccountId}"),
    )
    .condition(
        "StringEquals",
        "kms:ViaService",
        sub("backup.${AWS::Region}.${AWS::URLSuffix}"),
    )
    .only_if(C_BACKUP_ENABLED)
}

/// The key policy's part for the backup role itself: through DynamoDB, the
/// key for backup data and restored tables, whose encryption context AWS
/// does not document (so `TablesViaDynamoDB`'s table-name condition cannot
/// cover it); only that role, only while backups are on. Its own policy
/// grants the same (`TableKeyViaDynamoDB`).
pub fn backup_role_key_statement(n: &Names) -> Statement {
    Statement::allow(
        "BackupRoleViaDynamoDB",
        perms::BACKUP_KEY_VIA_DYNAMODB,
        vec![s("*")],
    )
    .principal(Principal::Aws(sub(
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
    )))
    .condition(
        "ArnEquals",
        "aws:PrincipalArn",
        sub(format!(
            "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{}",
            n.backup_role
        )),
    )
    .condition(
        "StringEquals",
        "kms:ViaService",
        sub("dynamodb.${AWS::Region}.${AWS::URLSuffix}"),
    )
    .only_if(C_BACKUP_ENABLED)
}

/// The backup role's inline policy (see `stack::permissions` for where each
/// action comes from).
fn backup_role_statements() -> Vec<Statement> {
    let via_dynamodb = || sub("dynamodb.${AWS::Region}.${AWS::URLSuffix}");
    let each = |suffix: &str| -> Vec<Expr> {
        tables()
            .iter()
            .map(|tb| sub(format!("${{{tb}.Arn}}{suffix}")))
            .collect()
    };
    let source_actions: Vec<&str> = perms::BACKUP_TABLES
        .iter()
        .chain(perms::RESTORE_FROM_SOURCE_TABLES)
        .copied()
        .collect();
    vec![
        Statement::allow(
            "Tables",
            &source_actions,
            tables().iter().map(|tb| get_att(*tb, "Arn")).collect(),
        ),
        // Backup ids are chosen by DynamoDB: the table's own prefix is as
        // narrow as the ARN can be.
        Statement::allow(
            "TableBackups",
            perms::BACKUP_TABLE_BACKUPS,
            each("/backup/*"),
        ),
        // The restore target's name is chosen at restore time; it must
        // start with the table's name and the restored suffix.
        Statement::allow(
            "RestoredTables",
            perms::RESTORE_TARGETS,
            each(&format!("{}*", perms::RESTORED_SUFFIX)),
        ),
        // No encryption-context condition: the backup's data keys under
        // the vault's key and a restored table's context are not the live
        // tables' (`aws:dynamodb:tableName`), and AWS does not document them.
        Statement::allow(
            "TableKeyViaDynamoDB",
            perms::BACKUP_KEY_VIA_DYNAMODB,
            vec![key_arn()],
        )
        .condition("StringEquals", "kms:ViaService", via_dynamodb()),
        Statement::allow(
            "TableKeyGrantViaDynamoDB",
            perms::BACKUP_KEY_GRANT,
            vec![key_arn()],
        )
        .condition("StringEquals", "kms:ViaService", via_dynamodb())
        .condition("Bool", "kms:GrantIsForAWSResource", s("true")),
        Statement::allow("KeyDescribe", perms::BACKUP_KEY_DESCRIBE, vec![key_arn()]),
    ]
}

fn backup(t: &mut Template, n: &Names) {
    t.resource(
        BACKUP_ROLE,
        Resource::new(Role {
            role_name: n.backup_role.clone(),
            description: format!(
                "AWS Backup of {} and {}: back up and restore, least privilege, inline only",
                n.sessions_table, n.user_profiles_table
            ),
            // No aws:SourceAccount condition: AWS Backup does not document
            // one for assuming a backup role; a role cannot be passed to
            // another account's AWS Backup (iam:PassRole is same-account).
            assume_role_policy_document: PolicyDocument::new(vec![Statement::allow(
                "BackupAssume",
                &["sts:AssumeRole"],
                vec![],
            )
            .principal(Principal::Service(s("backup.amazonaws.com")))]),
            policies: vec![InlinePolicy {
                policy_name: format!("{}-least-privilege", n.backup_role),
                policy_document: PolicyDocument::new(backup_role_statements()),
            }],
        })
        .condition(C_BACKUP_ENABLED),
    );
    // Recovery points are data: the vault outlives the stack (and a vault
    // holding recovery points cannot be deleted anyway), like the tables.
    t.resource(
        BACKUP_VAULT,
        Resource::new(BackupVault {
            backup_vault_name: r#ref(P_BACKUP_VAULT_NAME),
            encryption_key_arn: key_arn(),
        })
        .condition(C_BACKUP_ENABLED)
        .retain(),
    );
    t.resource(
        BACKUP_PLAN,
        Resource::new(BackupPlan {
            backup_plan: BackupPlanBody {
                backup_plan_name: n.backup_plan.clone(),
                backup_plan_rule: vec![BackupRule {
                    rule_name: "daily".into(),
                    target_backup_vault: r#ref(BACKUP_VAULT),
                    schedule_expression: BACKUP_SCHEDULE.into(),
                    start_window_minutes: BACKUP_START_WINDOW_MINUTES,
                    completion_window_minutes: BACKUP_COMPLETION_WINDOW_MINUTES,
                    lifecycle: BackupLifecycle {
                        delete_after_days: r#ref(P_BACKUP_RETENTION_DAYS),
                    },
                }],
            },
        })
        .condition(C_BACKUP_ENABLED),
    );
    t.resource(
        BACKUP_SELECTION,
        Resource::new(BackupSelection {
            backup_plan_id: r#ref(BACKUP_PLAN),
            backup_selection: BackupSelectionBody {
                selection_name: "tables".into(),
                iam_role_arn: get_att(BACKUP_ROLE, "Arn"),
                resources: tables().iter().map(|tb| get_att(*tb, "Arn")).collect(),
            },
        })
        .condition(C_BACKUP_ENABLED),
    );
}

/// The cost-allocation tags: `Project`, and `Stage` with a stage.
pub fn cost_allocation_tags(n: &Names) -> Vec<(String, String)> {
    let mut tags = vec![(PROJECT_TAG.0.to_string(), PROJECT_TAG.1.to_string())];
    if let Some(stage) = &n.stage {
        tags.push((STAGE_TAG.to_string(), stage.clone()));
    }
    tags
}

fn budget(t: &mut Template, n: &Names) {
    // Budgets ORs the values of one `TagKeyValue` cost filter
    // (`user:Project$…`), so `Project` and `Stage` together need the
    // filter expression's `And`; its tag keys carry no `user:` prefix
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-budgets-budget-expression.html,
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-budgets-budget-tagvalues.html).
    let mut filters: Vec<CostExpression> = cost_allocation_tags(n)
        .into_iter()
        .map(|(key, value)| CostExpression {
            and: vec![],
            tags: Some(TagValues {
                key,
                values: vec![value],
                match_options: vec![MatchOption::Equals],
            }),
        })
        .collect();
    let filter_expression = if filters.len() == 1 {
        filters.remove(0)
    } else {
        CostExpression {
            and: filters,
            tags: None,
        }
    };
    let email = || {
        vec![Subscriber {
            subscription_type: SubscriptionType::Email,
            address: r#ref(P_ALARM_EMAIL),
        }]
    };
    let notifications = BUDGET_ACTUAL_THRESHOLDS
        .iter()
        .map(|p| (NotificationType::Actual, *p))
        .chain(
            BUDGET_FORECAST_THRESHOLDS
                .iter()
                .map(|p| (NotificationType::Forecasted, *p)),
        )
        .map(|(kind, threshold)| NotificationWithSubscribers {
            notification: Notification {
                notification_type: kind,
                comparison_operator: ComparisonOperator::GreaterThan,
                threshold,
                threshold_type: ThresholdType::Percentage,
            },
            subscribers: email(),
        })
        .collect();
    t.resource(
        BUDGET,
        Resource::new(Budget {
            budget: BudgetData {
                budget_name: n.budget.clone(),
                budget_type: BudgetType::Cost,
                time_unit: TimeUnit::Monthly,
                budget_limit: Spend {
                    amount: r#ref(P_MONTHLY_BUDGET_USD),
                    unit: "USD".into(),
                },
                filter: CostFilter {
                    filter_expression,
                    metrics: vec![CostMetric::UnblendedCost],
                },
            },
            notifications_with_subscribers: notifications,
        })
        .condition(C_BUDGET_ENABLED),
    );
}

/// Every resource that takes tags and costs money carries the
/// cost-allocation tags while the budget exists (the budget sees only
/// tagged spend). Without the budget they have no `Tags` at all.
fn cost_tags(t: &mut Template, n: &Names) {
    let tags = || {
        Some(ConditionalTags {
            condition: C_BUDGET_ENABLED.to_string(),
            tags: cost_allocation_tags(n),
        })
    };
    for (_, r) in &mut t.resources {
        match &mut r.properties {
            Properties::KmsKey(p) => p.tags = tags(),
            Properties::Table(p) => p.tags = tags(),
            Properties::Function(p) => p.tags = tags(),
            Properties::LogGroup(p) => p.tags = tags(),
            Properties::HttpApi(p) => p.tags = tags(),
            Properties::ApiStage(p) => p.tags = tags(),
            Properties::Dashboard(p) => p.tags = tags(),
            Properties::Alarm(p) => p.tags = tags(),
            Properties::Topic(p) => p.tags = tags(),
            // Free of charge, or (the vault) billed by its recovery points,
            // which this stack does not tag.
            Properties::KmsAlias(_)
            | Properties::Role(_)
            | Properties::Authorizer(_)
            | Properties::Integration(_)
            | Properties::Route(_)
            | Properties::Permission(_)
            | Properties::LambdaVersion(_)
            | Properties::LambdaAlias(_)
            | Properties::Subscription(_)
            | Properties::BackupVault(_)
            | Properties::BackupPlan(_)
            | Properties::BackupSelection(_)
            | Properties::Budget(_) => {}
        }
    }
}
