//! Typed properties of the opt-in operations features' resource types
//! (AWS Backup, AWS Budgets); see `crate::operations`.

use crate::expr::Expr;
use serde::Serialize;

// ---------------------------------------------------------------- AWS Backup

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupVault {
    /// The `BackupVaultName` parameter: `deploy` chooses a free name.
    pub backup_vault_name: Expr,
    /// The KMS key that encrypts the vault's fully managed backups.
    pub encryption_key_arn: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupPlan {
    pub backup_plan: BackupPlanBody,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupPlanBody {
    pub backup_plan_name: String,
    pub backup_plan_rule: Vec<BackupRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupRule {
    pub rule_name: String,
    /// The vault's name (`Ref` of the vault).
    pub target_backup_vault: Expr,
    /// `cron(...)` in UTC.
    pub schedule_expression: String,
    pub start_window_minutes: i64,
    pub completion_window_minutes: i64,
    pub lifecycle: BackupLifecycle,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupLifecycle {
    pub delete_after_days: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupSelection {
    /// `Ref` of the plan.
    pub backup_plan_id: Expr,
    pub backup_selection: BackupSelectionBody,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupSelectionBody {
    pub selection_name: String,
    pub iam_role_arn: Expr,
    /// Resource ARNs, each selected by itself (no tag-based selection).
    pub resources: Vec<Expr>,
}

// ---------------------------------------------------------------- Budgets

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Budget {
    pub budget: BudgetData,
    pub notifications_with_subscribers: Vec<NotificationWithSubscribers>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BudgetType {
    Cost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimeUnit {
    Monthly,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BudgetData {
    pub budget_name: String,
    pub budget_type: BudgetType,
    pub time_unit: TimeUnit,
    pub budget_limit: Spend,
    #[serde(flatten)]
    pub filter: CostFilter,
}

/// What the budget counts. CreateBudget refuses a `FilterExpression`
/// without `Metrics` ("Either FilterExpression and Metrics or CostFilters
/// and CostTypes"), so the type holds both or neither
/// (<https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html>).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CostFilter {
    pub filter_expression: CostExpression,
    pub metrics: Vec<CostMetric>,
}

/// How spend is aggregated: `UnblendedCost` is what the bill shows, the
/// console's default for a cost budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CostMetric {
    UnblendedCost,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Spend {
    pub amount: Expr,
    pub unit: String,
}

/// The Budgets `Expression`: tag filters, combined with `And`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CostExpression {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub and: Vec<CostExpression>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagValues>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagValues {
    /// The tag key as resources carry it (no `user:` prefix).
    pub key: String,
    pub values: Vec<String>,
    pub match_options: Vec<MatchOption>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MatchOption {
    Equals,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NotificationWithSubscribers {
    pub notification: Notification,
    pub subscribers: Vec<Subscriber>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationType {
    /// Spend so far this month.
    Actual,
    /// Spend AWS forecasts for the whole month.
    Forecasted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComparisonOperator {
    GreaterThan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ThresholdType {
    Percentage,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Notification {
    pub notification_type: NotificationType,
    pub comparison_operator: ComparisonOperator,
    /// Percent of the budget limit.
    pub threshold: f64,
    pub threshold_type: ThresholdType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubscriptionType {
    Email,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscriber {
    pub subscription_type: SubscriptionType,
    pub address: Expr,
}
