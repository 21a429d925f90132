//! Logical ids other crates refer to (xtask's diff, deploy and dev):
//! a leaf, so that every part of the stack can name any resource without
//! depending on the module that builds it.

use crate::function::Function;

pub const KEY: &str = "DataKey";
pub const KEY_ALIAS: &str = "DataKeyAlias";
pub const SESSIONS_TABLE: &str = "SessionsTable";
pub const USER_PROFILES_TABLE: &str = "UserProfilesTable";
pub const SESSION_PERSISTENCE_ROLE: &str = Function::SessionPersistence.role_id();
pub const CONTEXT_MANAGER_ROLE: &str = Function::ContextManager.role_id();
pub const SESSION_PERSISTENCE_FUNCTION: &str = Function::SessionPersistence.logical_id();
pub const CONTEXT_MANAGER_FUNCTION: &str = Function::ContextManager.logical_id();
pub const HTTP_API: &str = "HttpApi";
pub const AUTHORIZER: &str = "CognitoAuthorizer";
pub const API_STAGE: &str = "HttpApiDefaultStage";
pub const ALARM_TOPIC: &str = "AlarmTopic";
/// Parameters.
pub const P_USER_POOL_ID: &str = "UserPoolId";
pub const P_USER_POOL_CLIENT_ID: &str = "UserPoolClientId";
pub const P_ARCHITECTURE: &str = "Architecture";
pub const P_CODE_BUCKET: &str = "CodeBucket";
pub const P_SESSION_PERSISTENCE_CODE_KEY: &str = Function::SessionPersistence.code_key_parameter();
pub const P_CONTEXT_MANAGER_CODE_KEY: &str = Function::ContextManager.code_key_parameter();
pub const P_RESERVED_CONCURRENCY: &str = "ReservedConcurrency";
pub const P_ALARM_EMAIL: &str = "AlarmEmail";
pub const P_ASSISTANT_WRITER_GROUP: &str = "AssistantWriterGroup";
pub const P_TLS_TRUST_STORE: &str = "TlsTrustStore";
pub const P_CORS_ALLOWED_ORIGINS: &str = "CorsAllowedOrigins";
pub const C_HAS_ALARM_EMAIL: &str = "HasAlarmEmail";
pub const C_HAS_CORS: &str = "HasCors";
pub const P_ROUTE_SCOPES: &str = "RouteScopes";
pub const P_LOG_LEVEL: &str = "LogLevel";
pub const P_TRACING: &str = "Tracing";
pub const C_HAS_ROUTE_SCOPES: &str = "HasRouteScopes";
pub const C_HAS_RESERVED_CONCURRENCY: &str = "HasReservedConcurrency";
/// Opt-in operations features (`crate::operations`).
pub const BACKUP_ROLE: &str = "BackupRole";
pub const BACKUP_VAULT: &str = "BackupVault";
pub const BACKUP_PLAN: &str = "BackupPlan";
pub const BACKUP_SELECTION: &str = "BackupSelection";
pub const BUDGET: &str = "MonthlyBudget";
pub const P_BACKUP_RETENTION_DAYS: &str = "BackupRetentionDays";
pub const P_MONTHLY_BUDGET_USD: &str = "MonthlyBudgetUsd";
pub const P_BACKUP_VAULT_NAME: &str = "BackupVaultName";
pub const C_BACKUP_ENABLED: &str = "BackupEnabled";
pub const C_BUDGET_ENABLED: &str = "BudgetEnabled";
