//! Typed properties for every resource type the stack uses. A misspelt
//! property is a compile error; the serde names are CloudFormation's.

use crate::expr::Expr;
use crate::iam::PolicyDocument;
use serde::Serialize;
use std::collections::BTreeMap;

mod operations;
pub use operations::*;

macro_rules! resource_types {
    ($($variant:ident($ty:ident) => $name:literal,)*) => {
        /// The properties of one resource; the variant fixes its `Type`.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Properties {
            $($variant($ty),)*
        }

        impl Properties {
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Properties::$variant(_) => $name,)*
                }
            }
        }

        $(impl From<$ty> for Properties {
            fn from(p: $ty) -> Self {
                Properties::$variant(p)
            }
        })*

        $(impl $ty {
            /// The CloudFormation resource type, e.g. to recognise it in stack events.
            pub const TYPE: &'static str = $name;
        })*
    };
}

resource_types! {
    KmsKey(KmsKey) => "AWS::KMS::Key",
    KmsAlias(KmsAlias) => "AWS::KMS::Alias",
    Table(Table) => "AWS::DynamoDB::Table",
    Role(Role) => "AWS::IAM::Role",
    Function(Function) => "AWS::Lambda::Function",
    LogGroup(LogGroup) => "AWS::Logs::LogGroup",
    HttpApi(HttpApi) => "AWS::ApiGatewayV2::Api",
    Authorizer(Authorizer) => "AWS::ApiGatewayV2::Authorizer",
    Integration(Integration) => "AWS::ApiGatewayV2::Integration",
    Route(Route) => "AWS::ApiGatewayV2::Route",
    ApiStage(ApiStage) => "AWS::ApiGatewayV2::Stage",
    Permission(Permission) => "AWS::Lambda::Permission",
    LambdaVersion(LambdaVersion) => "AWS::Lambda::Version",
    LambdaAlias(LambdaAlias) => "AWS::Lambda::Alias",
    Dashboard(Dashboard) => "AWS::CloudWatch::Dashboard",
    Alarm(Alarm) => "AWS::CloudWatch::Alarm",
    Topic(Topic) => "AWS::SNS::Topic",
    Subscription(Subscription) => "AWS::SNS::Subscription",
    BackupVault(BackupVault) => "AWS::Backup::BackupVault",
    BackupPlan(BackupPlan) => "AWS::Backup::BackupPlan",
    BackupSelection(BackupSelection) => "AWS::Backup::BackupSelection",
    Budget(Budget) => "AWS::Budgets::Budget",
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Tags that exist only while a template condition holds (the
/// cost-allocation tags exist exactly when the budget does), written as
/// `Fn::If [condition, tags, AWS::NoValue]`: with the condition false the
/// resource has no `Tags` at all, as before the tags existed.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionalTags {
    pub condition: String,
    /// (key, value), in the order given.
    pub tags: Vec<(String, String)>,
}

/// `Tags` as most types take them: `[{"Key": k, "Value": v}]`.
fn tag_list<S: serde::Serializer>(t: &Option<ConditionalTags>, ser: S) -> Result<S::Ok, S::Error> {
    let t = t.as_ref().expect("skipped when None");
    let list = crate::expr::list(
        t.tags
            .iter()
            .map(|(k, v)| crate::expr::map([("Key", Expr::from(k)), ("Value", Expr::from(v))])),
    );
    crate::expr::if_(t.condition.as_str(), list, crate::expr::no_value()).serialize(ser)
}

/// `Tags` of the API Gateway v2 types: a map `{k: v}`.
fn tag_map<S: serde::Serializer>(t: &Option<ConditionalTags>, ser: S) -> Result<S::Ok, S::Error> {
    let t = t.as_ref().expect("skipped when None");
    let map = crate::expr::map(t.tags.iter().map(|(k, v)| (k.as_str(), Expr::from(v))));
    crate::expr::if_(t.condition.as_str(), map, crate::expr::no_value()).serialize(ser)
}

// ---------------------------------------------------------------- KMS

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KmsKey {
    pub description: String,
    pub enable_key_rotation: bool,
    pub key_policy: PolicyDocument,
    pub pending_window_in_days: i64,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "tag_list")]
    pub tags: Option<ConditionalTags>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KmsAlias {
    pub alias_name: Expr,
    pub target_key_id: Expr,
}

// ---------------------------------------------------------------- DynamoDB

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AttributeType {
    S,
    N,
    B,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: AttributeType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum KeyType {
    Hash,
    Range,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement {
    pub attribute_name: String,
    pub key_type: KeyType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProjectionType {
    All,
    KeysOnly,
    Include,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    pub projection_type: ProjectionType,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndex {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointInTimeRecoverySpecification {
    #[serde(rename = "PointInTimeRecoveryEnabled")]
    pub point_in_time_recovery_enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SseSpecification {
    #[serde(rename = "SSEEnabled")]
    pub sse_enabled: bool,
    #[serde(rename = "SSEType")]
    pub sse_type: String,
    #[serde(rename = "KMSMasterKeyId")]
    pub kms_master_key_id: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLiveSpecification {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Table {
    pub table_name: String,
    pub billing_mode: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    pub point_in_time_recovery_specification: PointInTimeRecoverySpecification,
    #[serde(rename = "SSESpecification")]
    pub sse_specification: SseSpecification,
    pub time_to_live_specification: TimeToLiveSpecification,
    pub deletion_protection_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "tag_list")]
    pub tags: Option<ConditionalTags>,
}

// ---------------------------------------------------------------- IAM

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub role_name: String,
    pub description: String,
    pub assume_role_policy_document: PolicyDocument,
    /// Inline policies only: the stack never attaches managed policies, so the
    /// type has no `ManagedPolicyArns` field at all.
    pub policies: Vec<InlinePolicy>,
}

// ---------------------------------------------------------------- Lambda

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Code {
    #[serde(rename = "S3Bucket")]
    pub s3_bucket: Expr,
    #[serde(rename = "S3Key")]
    pub s3_key: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    pub variables: BTreeMap<String, Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    pub log_format: String,
    pub log_group: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfig {
    pub mode: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    pub function_name: String,
    pub description: String,
    pub runtime: String,
    pub handler: String,
    // Boxed, as `tracing_config`: the enum of every resource type stays small.
    pub code: Box<Code>,
    pub role: Expr,
    pub architectures: Vec<Expr>,
    pub memory_size: Expr,
    pub timeout: i64,
    pub environment: Environment,
    pub kms_key_arn: Expr,
    pub reserved_concurrent_executions: Expr,
    pub logging_config: LoggingConfig,
    // Boxed: the enum of every resource type stays small.
    pub tracing_config: Box<TracingConfig>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "tag_list")]
    pub tags: Option<ConditionalTags>,
}

/// A published version: a snapshot of the function's code and
/// configuration. Every property change replaces it, i.e. publishes anew
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-version.html).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LambdaVersion {
    pub function_name: Expr,
    pub description: Expr,
}

/// A named pointer at one version; `Ref` gives the alias's ARN.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LambdaAlias {
    pub name: String,
    pub function_name: Expr,
    pub function_version: Expr,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Permission {
    pub action: String,
    pub function_name: Expr,
    pub principal: String,
    pub source_arn: Expr,
}

// ---------------------------------------------------------------- Logs

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    pub log_group_name: String,
    pub retention_in_days: i64,
    pub kms_key_id: Expr,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "tag_list")]
    pub tags: Option<ConditionalTags>,
}

// ---------------------------------------------------------------- API Gateway v2

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpApi {
    pub name: String,
    pub description: String,
    pub protocol_type: String,
    /// `Fn::If` on the stage's origins (`module::cors`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors_configuration: Option<Expr>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "tag_map")]
    pub tags: Option<ConditionalTags>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct JwtConfiguration {
    /// A list: the app client ids.
    pub audience: Expr,
    pub issuer: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Authorizer {
    pub api_id: Expr,
    pub name: String,
    pub authorizer_type: String,
    pub identity_source: Vec<String>,
    pub jwt_configuration: JwtConfiguration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Integration {
    pub api_id: Expr,
    pub integration_type: String,
    pub integration_uri: Expr,
    pub payload_format_version: String,
    pub timeout_in_millis: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Route {
    pub api_id: Expr,
    pub route_key: String,
    pub authorization_type: String,
    pub authorizer_id: Expr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_scopes: Option<Expr>,
    pub target: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessLogSettings {
    pub destination_arn: Expr,
    pub format: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RouteSettings {
    pub throttling_burst_limit: i64,
    pub throttling_rate_limit: f64,
    #[serde(skip_serializing_if = "is_false")]
    pub detailed_metrics_enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiStage {
    pub api_id: Expr,
    pub stage_name: String,
    pub auto_deploy: bool,
    pub access_log_settings: AccessLogSettings,
    pub default_route_settings: RouteSettings,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "tag_map")]
    pub tags: Option<ConditionalTags>,
}

// ---------------------------------------------------------------- CloudWatch, SNS

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dashboard {
    pub dashboard_name: String,
    pub dashboard_body: Expr,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "tag_list")]
    pub tags: Option<ConditionalTags>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    pub alarm_name: String,
    pub alarm_description: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<Dimension>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    pub period: i64,
    pub evaluation_periods: i64,
    pub threshold: f64,
    pub comparison_operator: String,
    pub treat_missing_data: String,
    pub alarm_actions: Expr,
    #[serde(rename = "OKActions")]
    pub ok_actions: Expr,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "tag_list")]
    pub tags: Option<ConditionalTags>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    pub topic_name: String,
    pub display_name: String,
    pub kms_master_key_id: Expr,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "tag_list")]
    pub tags: Option<ConditionalTags>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscription {
    pub protocol: String,
    pub endpoint: Expr,
    pub topic_arn: Expr,
}
