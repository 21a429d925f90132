//! The deployer policy judged by AWS's own data: CloudFormation runs each
//! resource type's handlers with the deployer's credentials and tags every
//! taggable resource with the stack's tags, so for every resource the
//! template can contain (every option on) the deployer policy must allow
//! every permission of the type's read handler and tagging section, and
//! those of its create, update and delete handlers that the properties this
//! stack sets need, as the CloudFormation registry schemas list them
//! (<https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html#schema-properties-handlers>).
//! Each request is evaluated by `stack::access` on the ARN of the resource
//! the stack creates (or `*` where the service authorization reference says
//! the action takes no resource), not matched by action name.
//!
//! A handler permission the stack does not need is listed in
//! `NOT_NEEDED` with the property that would need it; the test fails if
//! the template ever sets that property.

use deploy::deployer_policy::policy;
use serde_json::Value;
use stack::access::{evaluate_identity, Decision, Request};
use stack::resources::Properties;
use std::collections::BTreeSet;
use testkit::aws_data::{RegistrySchemas, ServiceReference};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
const DEPLOYER: &str = "arn:aws:iam::111122223333:role/deployer";

/// `(resource type, handler permission, the property that would need it)`:
/// permissions the handlers list for features this stack does not use.
const NOT_NEEDED: &[(&str, &str, &str)] = &[
    // Tables: imports from S3, Kinesis streaming, contributor insights,
    // global-table replicas and resource policies are not used.
    (
        "AWS::DynamoDB::Table",
        "dynamodb:DescribeImport",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:ImportTable",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "s3:GetObject",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "s3:GetObjectMetadata",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "s3:ListBucket",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "logs:CreateLogGroup",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "logs:CreateLogStream",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "logs:DescribeLogGroups",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "logs:DescribeLogStreams",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "logs:PutLogEvents",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "logs:PutRetentionPolicy",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:Scan",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:Query",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:UpdateItem",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:PutItem",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:GetItem",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:DeleteItem",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:BatchWriteItem",
        "ImportSourceSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "kinesis:DescribeStream",
        "KinesisStreamSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "kinesis:PutRecords",
        "KinesisStreamSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:EnableKinesisStreamingDestination",
        "KinesisStreamSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:DisableKinesisStreamingDestination",
        "KinesisStreamSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:UpdateKinesisStreamingDestination",
        "KinesisStreamSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:UpdateContributorInsights",
        "ContributorInsightsSpecification",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:PutResourcePolicy",
        "ResourcePolicy",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:DeleteResourcePolicy",
        "ResourcePolicy",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:CreateTableReplica",
        "Replicas",
    ),
    (
        "AWS::DynamoDB::Table",
        "dynamodb:AssociateTableReplica",
        "Replicas",
    ),
    (
        "AWS::DynamoDB::Table",
        "iam:CreateServiceLinkedRole",
        "Replicas",
    ),
    ("AWS::DynamoDB::Table", "kms:RevokeGrant", "Replicas"),
    // Roles: no managed policies, no permissions boundary.
    (
        "AWS::IAM::Role",
        "iam:AttachRolePolicy",
        "ManagedPolicyArns",
    ),
    (
        "AWS::IAM::Role",
        "iam:DetachRolePolicy",
        "ManagedPolicyArns",
    ),
    (
        "AWS::IAM::Role",
        "iam:PutRolePermissionsBoundary",
        "PermissionsBoundary",
    ),
    (
        "AWS::IAM::Role",
        "iam:DeleteRolePermissionsBoundary",
        "PermissionsBoundary",
    ),
    // Functions: no VPC, file systems, layers, code signing, runtime
    // management, recursion or scaling settings, capacity providers,
    // published versions from the function resource.
    (
        "AWS::Lambda::Function",
        "ec2:DescribeSecurityGroups",
        "VpcConfig",
    ),
    ("AWS::Lambda::Function", "ec2:DescribeSubnets", "VpcConfig"),
    ("AWS::Lambda::Function", "ec2:DescribeVpcs", "VpcConfig"),
    (
        "AWS::Lambda::Function",
        "ec2:DescribeNetworkInterfaces",
        "VpcConfig",
    ),
    (
        "AWS::Lambda::Function",
        "elasticfilesystem:DescribeMountTargets",
        "FileSystemConfigs",
    ),
    (
        "AWS::Lambda::Function",
        "s3files:ListMountTargets",
        "FileSystemConfigs",
    ),
    ("AWS::Lambda::Function", "lambda:GetLayerVersion", "Layers"),
    (
        "AWS::Lambda::Function",
        "lambda:GetCodeSigningConfig",
        "CodeSigningConfigArn",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:PutFunctionCodeSigningConfig",
        "CodeSigningConfigArn",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:DeleteFunctionCodeSigningConfig",
        "CodeSigningConfigArn",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:PutRuntimeManagementConfig",
        "RuntimeManagementConfig",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:PutFunctionRecursionConfig",
        "RecursiveLoop",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:PutFunctionScalingConfig",
        "FunctionScalingConfig",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:PassCapacityProvider",
        "CapacityProviderConfig",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:AssociateRuntimeAlias",
        "RuntimeManagementConfig",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:PublishVersion",
        "PublishToLatestPublished",
    ),
    (
        "AWS::Lambda::Function",
        "s3:GetObjectVersion",
        "Code.S3ObjectVersion",
    ),
    // Versions and aliases: no provisioned concurrency, runtime policy or
    // scaling; no CodeDeploy traffic shifting (the alias's
    // `CodeDeployLambdaAliasUpdate` update policy, which the model has no
    // field for, so it cannot be set).
    (
        "AWS::Lambda::Version",
        "lambda:PutProvisionedConcurrencyConfig",
        "ProvisionedConcurrencyConfig",
    ),
    (
        "AWS::Lambda::Version",
        "lambda:PutRuntimeManagementConfig",
        "RuntimePolicy",
    ),
    (
        "AWS::Lambda::Version",
        "lambda:PutFunctionScalingConfig",
        "FunctionScalingConfig",
    ),
    (
        "AWS::Lambda::Alias",
        "lambda:PutProvisionedConcurrencyConfig",
        "ProvisionedConcurrencyConfig",
    ),
    (
        "AWS::Lambda::Alias",
        "lambda:DeleteProvisionedConcurrencyConfig",
        "ProvisionedConcurrencyConfig",
    ),
    (
        "AWS::Lambda::Alias",
        "codedeploy:CreateDeployment",
        "CodeDeployLambdaAliasUpdate",
    ),
    (
        "AWS::Lambda::Alias",
        "codedeploy:GetDeployment",
        "CodeDeployLambdaAliasUpdate",
    ),
    (
        "AWS::Lambda::Alias",
        "codedeploy:GetDeploymentGroup",
        "CodeDeployLambdaAliasUpdate",
    ),
    (
        "AWS::Lambda::Alias",
        "codedeploy:GetDeploymentConfig",
        "CodeDeployLambdaAliasUpdate",
    ),
    (
        "AWS::Lambda::Alias",
        "codedeploy:StopDeployment",
        "CodeDeployLambdaAliasUpdate",
    ),
    // Log groups: no data protection, index or field policies, no
    // delivery, no bearer-token ingestion, no deletion protection.
    (
        "AWS::Logs::LogGroup",
        "logs:PutDataProtectionPolicy",
        "DataProtectionPolicy",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:DeleteDataProtectionPolicy",
        "DataProtectionPolicy",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:PutIndexPolicy",
        "FieldIndexPolicies",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:DeleteIndexPolicy",
        "FieldIndexPolicies",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:PutResourcePolicy",
        "ResourcePolicyDocument",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:DeleteResourcePolicy",
        "ResourcePolicyDocument",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:CreateLogDelivery",
        "LogGroupClass",
    ),
    ("AWS::Logs::LogGroup", "s3:REST.PUT.OBJECT", "LogGroupClass"),
    (
        "AWS::Logs::LogGroup",
        "firehose:TagDeliveryStream",
        "LogGroupClass",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:PutBearerTokenAuthentication",
        "BearerTokenAuthenticationEnabled",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:PutLogGroupDeletionProtection",
        "DeletionProtectionEnabled",
    ),
    // The API is built from resources, not imported from S3.
    ("AWS::ApiGatewayV2::Api", "s3:getObject", "BodyS3Location"),
    // No authorizer or integration role (a JWT authorizer; Lambda proxy
    // integrations called through the function's resource policy).
    (
        "AWS::ApiGatewayV2::Authorizer",
        "iam:PassRole",
        "AuthorizerCredentialsArn",
    ),
    (
        "AWS::ApiGatewayV2::Integration",
        "iam:PassRole",
        "CredentialsArn",
    ),
    // Topics: no delivery-status logging roles, no data protection policy.
    ("AWS::SNS::Topic", "iam:GetRole", "DeliveryStatusLogging"),
    ("AWS::SNS::Topic", "iam:PassRole", "DeliveryStatusLogging"),
    (
        "AWS::SNS::Topic",
        "sns:PutDataProtectionPolicy",
        "DataProtectionPolicy",
    ),
    // E-mail subscriptions take no role (Firehose ones do).
    (
        "AWS::SNS::Subscription",
        "iam:GetRole",
        "SubscriptionRoleArn",
    ),
    (
        "AWS::SNS::Subscription",
        "iam:PassRole",
        "SubscriptionRoleArn",
    ),
    // Vaults: no access policy, notifications or vault lock.
    (
        "AWS::Backup::BackupVault",
        "backup:PutBackupVaultAccessPolicy",
        "AccessPolicy",
    ),
    (
        "AWS::Backup::BackupVault",
        "backup:DeleteBackupVaultAccessPolicy",
        "AccessPolicy",
    ),
    (
        "AWS::Backup::BackupVault",
        "backup:PutBackupVaultNotifications",
        "Notifications",
    ),
    (
        "AWS::Backup::BackupVault",
        "backup:DeleteBackupVaultNotifications",
        "Notifications",
    ),
    (
        "AWS::Backup::BackupVault",
        "backup:PutBackupVaultLockConfiguration",
        "LockConfiguration",
    ),
    (
        "AWS::Backup::BackupVault",
        "backup:DeleteBackupVaultLockConfiguration",
        "LockConfiguration",
    ),
    (
        "AWS::Backup::BackupVault",
        "kms:RetireGrant",
        "LockConfiguration",
    ),
    // A plan's rules copy nowhere (a copy action passes no role either).
    (
        "AWS::Backup::BackupPlan",
        "iam:PassRole",
        "BackupPlan.BackupPlanRule.CopyActions",
    ),
];

/// Permissions the registry schemas list that are not IAM actions (the
/// service authorization reference does not name them; a test keeps it so):
/// API Gateway tags through `apigateway:PUT`/`DELETE` on `/tags/*`, and
/// AWS Backup's storage action is `backup-storage:MountCapsule`.
const NOT_IAM_ACTIONS: &[&str] = &[
    "apigateway:TagResource",
    "apigateway:UntagResource",
    "backup-storage:Mount",
];

/// A permission the deployer needs for one resource of the template.
#[derive(Debug)]
struct Need {
    logical_id: String,
    type_name: &'static str,
    section: &'static str,
    action: String,
}

/// The resource ARNs `action` acts on when a handler of `res` calls it:
/// the resource itself for its own service, else the resource it refers
/// to (the role a function runs as, the key, the code object).
fn resources_for(action: &str, id: &str, props: &Properties, t: &stack::Template) -> Vec<String> {
    let arn = |service: &str, rest: &str| format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}");
    let key = arn("kms", "key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
    let service = action.split(':').next().unwrap_or_default();
    let role_named = |logical: &str| -> String {
        t.resources
            .iter()
            .find(|(i, _)| i == logical)
            .and_then(|(_, r)| match &r.properties {
                Properties::Role(role) => {
                    Some(format!("arn:aws:iam::{ACCOUNT}:role/{}", role.role_name))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{logical} is a role"))
    };
    let api = |rest: &str| format!("arn:aws:apigateway:{REGION}::/apis/a1b2c3d4e5{rest}");
    match (service, props) {
        ("kms", Properties::KmsAlias(a)) if action != "kms:ListAliases" => {
            let stack::expr::Expr::Str(name) = &a.alias_name else {
                panic!("{id}: the alias has a literal name")
            };
            // An alias operation is authorized on the alias and on the key.
            vec![arn("kms", name), key]
        }
        ("kms", _) => vec![key],
        ("iam", Properties::Function(_)) => vec![role_named(&function_role(id))],
        ("iam", Properties::BackupSelection(_) | Properties::BackupPlan(_)) => {
            if action == "iam:CreateServiceLinkedRole" {
                vec![format!(
                    "arn:aws:iam::{ACCOUNT}:role/aws-service-role/backup.amazonaws.com/AWSServiceRoleForBackup"
                )]
            } else {
                vec![role_named(stack::module::ids::BACKUP_ROLE)]
            }
        }
        ("iam", Properties::Role(r)) => vec![format!("arn:aws:iam::{ACCOUNT}:role/{}", r.role_name)],
        ("s3", Properties::Function(_)) => vec![format!(
            "arn:aws:s3:::{}/code/0123456789abcdef.zip",
            deploy::assets::bucket_name(ACCOUNT, REGION)
        )],
        ("dynamodb", Properties::Table(tb)) => vec![arn("dynamodb", &format!("table/{}", tb.table_name))],
        ("lambda", Properties::Function(f)) => vec![arn("lambda", &format!("function:{}", f.function_name))],
        // A permission is added to the alias the API invokes.
        ("lambda", Properties::Permission(_)) => t
            .resources
            .iter()
            .filter_map(|(_, r)| match &r.properties {
                Properties::Function(f) => Some(arn(
                    "lambda",
                    &format!("function:{}:{}", f.function_name, stack::function::LIVE_ALIAS),
                )),
                _ => None,
            })
            .collect(),
        // Publishing names the function; reading and deleting a version
        // names the version (a qualified ARN).
        ("lambda", Properties::LambdaVersion(v)) => {
            let f = function_named(t, &v.function_name);
            vec![arn("lambda", &format!("function:{f}")), arn("lambda", &format!("function:{f}:7"))]
        }
        ("lambda", Properties::LambdaAlias(a)) => {
            let f = function_named(t, &a.function_name);
            vec![
                arn("lambda", &format!("function:{f}")),
                arn("lambda", &format!("function:{f}:{}", a.name)),
            ]
        }
        ("logs", Properties::LogGroup(g)) => vec![arn("logs", &format!("log-group:{}", g.log_group_name))],
        ("apigateway", Properties::HttpApi(_)) => vec![api(""), format!(
            "arn:aws:apigateway:{REGION}::/tags/arn%3Aaws%3Aapigateway%3A{REGION}%3A%3A%2Fapis%2Fa1b2c3d4e5"
        )],
        ("apigateway", Properties::Authorizer(_)) => vec![api("/authorizers/abc123")],
        ("apigateway", Properties::Integration(_)) => vec![api("/integrations/abc123")],
        ("apigateway", Properties::Route(_)) => vec![api("/routes/abc123")],
        ("apigateway", Properties::ApiStage(_)) => vec![api("/stages/$default")],
        ("cloudwatch", Properties::Dashboard(d)) => {
            vec![format!("arn:aws:cloudwatch::{ACCOUNT}:dashboard/{}", d.dashboard_name)]
        }
        ("cloudwatch", Properties::Alarm(a)) => vec![arn("cloudwatch", &format!("alarm:{}", a.alarm_name))],
        ("sns", Properties::Topic(tp)) => vec![arn("sns", &tp.topic_name)],
        ("sns", Properties::Subscription(_)) => t
            .resources
            .iter()
            .filter_map(|(_, r)| match &r.properties {
                Properties::Topic(tp) => Some(arn("sns", &tp.topic_name)),
                _ => None,
            })
            .collect(),
        ("backup", Properties::BackupVault(_)) => {
            // The default name, and the one `deploy` picks when it is taken.
            let base = stack::Names::new(Some("qa")).unwrap().backup_vault;
            vec![
                arn("backup", &format!("backup-vault:{base}")),
                arn("backup", &format!("backup-vault:{base}_2")),
            ]
        }
        ("backup", Properties::BackupPlan(_) | Properties::BackupSelection(_)) => {
            vec![arn("backup", "backup-plan:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")]
        }
        ("backup-storage", Properties::BackupVault(_)) => vec!["*".into()],
        ("budgets", Properties::Budget(b)) => {
            vec![format!("arn:aws:budgets::{ACCOUNT}:budget/{}", b.budget.budget_name)]
        }
        ("billing", Properties::Budget(_)) => {
            vec![format!("arn:aws:billing::{ACCOUNT}:billingview/primary-{ACCOUNT}")]
        }
        _ => panic!("{id}: no resource mapping for {action}; add one (the deployer's request is on which ARN?)"),
    }
}

/// The function name behind a `Ref` to a function of `t`.
fn function_named(t: &stack::Template, function: &stack::expr::Expr) -> String {
    let stack::expr::Expr::Ref(id) = function else {
        panic!("{function:?} is a Ref")
    };
    t.resources
        .iter()
        .find_map(|(i, r)| match &r.properties {
            Properties::Function(f) if i == id => Some(f.function_name.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{id} is a function"))
}

/// The logical id of the role a function's `Role` names.
fn function_role(function_id: &str) -> String {
    use stack::module::ids::*;
    if function_id == SESSION_PERSISTENCE_FUNCTION {
        SESSION_PERSISTENCE_ROLE.into()
    } else if function_id == CONTEXT_MANAGER_FUNCTION {
        CONTEXT_MANAGER_ROLE.into()
    } else {
        panic!("{function_id} is not a function")
    }
}

/// The service an integrated service's own KMS calls come through: a
/// handler's `kms:*` permission is used by that service as the deployer
/// (`kms:ViaService`), except the calls that name no key.
fn via(props: &Properties) -> Option<&'static str> {
    match props {
        Properties::Table(_) => Some("dynamodb"),
        Properties::Function(_) => Some("lambda"),
        Properties::LogGroup(_) => Some("logs"),
        Properties::Topic(_) => Some("sns"),
        Properties::BackupVault(_) => Some("backup"),
        _ => None,
    }
}

/// Whether the template sets the property a `NOT_NEEDED` entry names, on
/// any resource of `type_name` (a dotted path looks inside).
fn sets_property(t: &Value, type_name: &str, path: &str) -> bool {
    t["Resources"].as_object().unwrap().values().any(|r| {
        r["Type"] == type_name && {
            let mut v = &r["Properties"];
            for part in path.split('.') {
                v = match v {
                    Value::Array(items) => items.first().map_or(&Value::Null, |i| &i[part]),
                    other => &other[part],
                };
            }
            !v.is_null()
        }
    })
}

fn needs(t: &stack::Template, schemas: &RegistrySchemas) -> Vec<Need> {
    let json = t.to_json_value();
    let mut out = vec![];
    for (id, r) in &t.resources {
        let type_name = r.properties.type_name();
        for section in ["read", "tagging", "create", "update", "delete"] {
            for action in schemas.permissions(type_name, section) {
                let skipped = NOT_NEEDED
                    .iter()
                    .find(|(ty, a, _)| *ty == type_name && a.eq_ignore_ascii_case(&action));
                if NOT_IAM_ACTIONS.contains(&action.as_str()) {
                    continue;
                }
                if let Some((_, _, property)) = skipped {
                    assert!(
                        !sets_property(&json, type_name, property),
                        "{id} sets {property}, so {type_name}'s handlers need {action}: remove it from NOT_NEEDED and grant it"
                    );
                    continue;
                }
                out.push(Need {
                    logical_id: id.clone(),
                    type_name,
                    section,
                    action,
                });
            }
        }
    }
    out
}

/// Every handler permission of every resource, evaluated against `doc`;
/// the ones denied, as readable lines.
fn denied(t: &stack::Template, doc: &Value, reference: &ServiceReference) -> Vec<String> {
    let schemas = RegistrySchemas::load();
    let mut missing = BTreeSet::new();
    for need in needs(t, &schemas) {
        let (_, res) = t
            .resources
            .iter()
            .find(|(i, _)| *i == need.logical_id)
            .unwrap();
        let star_only = reference
            .resource_types(&need.action)
            .is_some_and(|types| types.is_empty());
        let targets = if star_only {
            vec!["*".to_string()]
        } else {
            resources_for(&need.action, &need.logical_id, &res.properties, t)
        };
        for target in targets {
            let mut req = Request::by_role(DEPLOYER, &need.action, &target);
            if need.action.starts_with("kms:") && target != "*" {
                if let Some(service) = via(&res.properties) {
                    req = req.via(&format!("{service}.{REGION}.amazonaws.com"));
                }
            }
            if need.action == "iam:PassRole" {
                let to = match res.properties {
                    Properties::Function(_) => "lambda.amazonaws.com",
                    _ => "backup.amazonaws.com",
                };
                req = req.with("iam:PassedToService", to);
            }
            if need.action == "iam:CreateServiceLinkedRole" {
                req = req.with("iam:AWSServiceName", "backup.amazonaws.com");
            }
            match evaluate_identity(&req, &[doc]) {
                Ok(Decision::Allow) => {}
                other => {
                    missing.insert(format!(
                        "{} ({}, {} handler): {} on {target} → {other:?}",
                        need.logical_id, need.type_name, need.section, need.action
                    ));
                }
            }
        }
    }
    missing.into_iter().collect()
}

fn everything_on() -> stack::Template {
    // Every resource type the template can contain: the stage's template
    // for a region that offers every type, all conditional resources kept.
    stack::synth(&stack::StackOptions {
        stage: Some("qa".into()),
        region: Some(REGION.into()),
    })
    .unwrap()
}

#[test]
fn the_deployer_policy_allows_every_handler_permission_the_stack_needs() {
    let t = everything_on();
    let doc = policy(Some("qa"), ACCOUNT, REGION).unwrap();
    let reference = ServiceReference::load();
    let missing = denied(&t, &doc, &reference);
    assert!(
        missing.is_empty(),
        "the deployer policy lacks {} handler permission(s) the registry schemas list:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}

/// With `deploy --role-arn` the handlers run with the service role: its
/// policy alone allows every handler permission, and the deployer's
/// narrowed policy allows none of the resource writes.
#[test]
fn the_cloudformation_role_allows_every_handler_permission_and_the_caller_none_of_the_writes() {
    use deploy::deployer_policy::{policy_for, Audience};
    let t = everything_on();
    let reference = ServiceReference::load();
    let role = policy_for(Audience::CloudFormationRole, Some("qa"), ACCOUNT, REGION).unwrap();
    let missing = denied(&t, &role, &reference);
    assert!(
        missing.is_empty(),
        "the CloudFormation role's policy lacks {} handler permission(s):\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/voice-learning-cfn");
    let caller = policy_for(
        Audience::CallerWithRole(&role_arn),
        Some("qa"),
        ACCOUNT,
        REGION,
    )
    .unwrap();
    let denied_to_caller = denied(&t, &caller, &reference);
    for write in [
        "dynamodb:CreateTable",
        "lambda:CreateFunction",
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "kms:PutKeyPolicy",
    ] {
        assert!(
            denied_to_caller
                .iter()
                .any(|d| d.contains(&format!(" {write} on "))),
            "the deployer passing a role still has {write}"
        );
    }
    let pass = Request::by_role(DEPLOYER, "iam:PassRole", &role_arn)
        .with("iam:PassedToService", "cloudformation.amazonaws.com");
    assert_eq!(evaluate_identity(&pass, &[&caller]), Ok(Decision::Allow));
    let pass_elsewhere = Request::by_role(DEPLOYER, "iam:PassRole", &role_arn)
        .with("iam:PassedToService", "lambda.amazonaws.com");
    assert_ne!(
        evaluate_identity(&pass_elsewhere, &[&caller]),
        Ok(Decision::Allow)
    );
}

/// The judge can fail: the policy without one statement's action is
/// caught, naming the resource and handler.
#[test]
fn a_policy_missing_one_handler_permission_is_caught() {
    let t = everything_on();
    let mut doc = policy(Some("qa"), ACCOUNT, REGION).unwrap();
    for st in doc["Statement"].as_array_mut().unwrap() {
        if let Some(actions) = st["Action"].as_array_mut() {
            actions.retain(|a| a != "cloudwatch:ListTagsForResource");
        }
    }
    let missing = denied(&t, &doc, &ServiceReference::load());
    assert!(
        missing
            .iter()
            .any(|m| m.contains("Dashboard") && m.contains("cloudwatch:ListTagsForResource")),
        "{missing:#?}"
    );
}

/// The permissions skipped as not being IAM actions are indeed unknown to
/// the service authorization reference (a newer reference that names one
/// makes this fail, and the action is granted instead).
#[test]
fn the_skipped_permissions_are_not_iam_actions() {
    let reference = ServiceReference::load();
    assert!(reference.knows("backup-storage:MountCapsule"));
    assert!(
        reference.knows("lambda:GetFunctionScalingConfig"),
        "the reference is current"
    );
    for a in NOT_IAM_ACTIONS {
        assert!(!reference.knows(a), "{a} is an IAM action now: grant it");
    }
}

/// Every type the template can contain has a registry schema with a read
/// handler, so no type escapes the check above.
#[test]
fn every_resource_type_has_a_registry_schema() {
    let schemas = RegistrySchemas::load();
    for (id, r) in &everything_on().resources {
        let ty = r.properties.type_name();
        assert!(
            !schemas.permissions(ty, "read").is_empty(),
            "{id}: {ty} has no read handler permissions"
        );
    }
}

/// `stack::availability` says which regions lack which type exactly as the
/// registry does, for every type the template can contain and every
/// region the registry data names.
#[test]
fn region_availability_matches_the_registry() {
    let schemas = RegistrySchemas::load();
    let types: BTreeSet<&str> = everything_on()
        .resources
        .iter()
        .map(|(_, r)| r.properties.type_name())
        .collect();
    let mut wrong = vec![];
    for region in schemas.regions() {
        for ty in &types {
            if schemas.offers(region, ty) != stack::availability::offered(ty, region) {
                wrong.push(format!(
                    "{ty} in {region}: registry {}, stack::availability {}",
                    schemas.offers(region, ty),
                    stack::availability::offered(ty, region)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
