//! Access, evaluated: every KMS and DynamoDB request the deployed system
//! makes, run through the synthesized role policies and key policy with
//! IAM's and KMS's rules (`stack::access`). No emulator enforces KMS
//! conditions, so this is where "the roles can use the table key through
//! DynamoDB" is checked before a real account sees it.
//!
//! The function code's own calls are the lists `stack::permissions` keeps
//! (the functions' least-privilege test proves they equal the recorded SDK
//! calls, and evaluates those recorded calls with their real encryption
//! context too). The service-side calls are the documented ones: DynamoDB
//! decrypting the table key as each role, CloudWatch Logs encrypting the log
//! groups, CloudWatch alarms publishing to the encrypted topic, Lambda
//! encrypting function environments as the deployer.

use serde_json::{json, Value};
use stack::access::{evaluate_kms, Decision, Request, StackPolicies};
use stack::module::ids;
use stack::permissions as perms;
use stack::resolve::Place;
use std::collections::{BTreeMap, BTreeSet};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

struct Deployed {
    policies: StackPolicies,
    key_arn: String,
    key_policy: Value,
    /// "session-persistence" / "context-manager" → (role logical id, role ARN).
    roles: BTreeMap<&'static str, (&'static str, String)>,
    names: stack::Names,
    log_groups: Vec<String>,
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// The template as CloudFormation would resolve it in one account.
fn deployed(strip_service_side: bool) -> Deployed {
    let t = stack::synth(&Default::default()).expect("synth");
    let params = BTreeMap::from([
        (ids::P_USER_POOL_ID.to_string(), format!("{REGION}_Pool")),
        (ids::P_USER_POOL_CLIENT_ID.to_string(), "client".to_string()),
    ]);
    let mut policies =
        StackPolicies::resolve(&t, &Place::new(ACCOUNT, REGION), &params, KEY_ID).expect("resolve");
    if strip_service_side {
        for (_, docs) in policies.roles.values_mut() {
            for d in docs {
                d["Statement"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|st| st["Condition"]["StringEquals"]["kms:ViaService"].is_null());
            }
        }
    }
    let roles = BTreeMap::from([
        ("session-persistence", ids::SESSION_PERSISTENCE_ROLE),
        ("context-manager", ids::CONTEXT_MANAGER_ROLE),
    ])
    .into_iter()
    .map(|(k, id)| (k, (id, policies.roles[id].0.clone())))
    .collect();
    let log_groups = t
        .resources_of_type("AWS::Logs::LogGroup")
        .map(|(_, r)| match &r.properties {
            stack::resources::Properties::LogGroup(g) => g.log_group_name.clone(),
            _ => unreachable!(),
        })
        .collect();
    Deployed {
        key_arn: policies.key_arn.clone(),
        key_policy: policies.key_policy.clone(),
        policies,
        roles,
        names: stack::Names::new(None).unwrap(),
        log_groups,
    }
}

impl Deployed {
    fn decide(&self, role: Option<&str>, req: &Request) -> Decision {
        self.policies
            .decide(role.map(|r| self.roles[r].0), req)
            .unwrap_or_else(|e| panic!("{req:?}: {e}"))
    }

    fn identity(&self, role: &str) -> &Vec<Value> {
        &self.policies.roles[self.roles[role].0].1
    }

    fn table_arn(&self, table: &str) -> String {
        format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
    }

    /// DynamoDB using the table key as `role` for `table`.
    fn table_key(&self, role: &str, action: &str, table: &str) -> Request {
        let r = Request::by_role(&self.roles[role].1, action, &self.key_arn)
            .via(&format!("dynamodb.{REGION}.amazonaws.com"));
        if action == "kms:DescribeKey" {
            r
        } else {
            r.encryption_context(&[
                ("aws:dynamodb:tableName", table),
                ("aws:dynamodb:subscriberId", ACCOUNT),
            ])
        }
    }

    /// The function code's own KMS call, with the context the code sends.
    fn field_key(&self, role: &str, action: &str) -> Request {
        Request::by_role(&self.roles[role].1, action, &self.key_arn)
            .encryption_context(&[("sessionId", "s-1"), ("userId", "u-1")])
    }
}

/// (role, request) pairs the deployed system makes, each of which must be allowed.
fn every_request(d: &Deployed) -> Vec<(Option<&'static str>, Request)> {
    let sessions = d.names.sessions_table.clone();
    let profiles = d.names.user_profiles_table.clone();
    let index = format!(
        "{}/index/{}",
        d.table_arn(&sessions),
        d.names.user_session_index
    );
    let mut out = vec![];
    for (role, table_actions, index_actions, profile_actions, kms) in [
        (
            "session-persistence",
            perms::SESSION_PERSISTENCE_SESSIONS_TABLE,
            perms::SESSION_PERSISTENCE_INDEX,
            perms::SESSION_PERSISTENCE_PROFILES_TABLE,
            perms::SESSION_PERSISTENCE_KMS,
        ),
        (
            "context-manager",
            perms::CONTEXT_MANAGER_SESSIONS_TABLE,
            perms::CONTEXT_MANAGER_INDEX,
            perms::CONTEXT_MANAGER_PROFILES_TABLE,
            perms::CONTEXT_MANAGER_KMS,
        ),
    ] {
        let arn = &d.roles[role].1;
        for (resource, actions) in [
            (d.table_arn(&sessions), table_actions),
            (index.clone(), index_actions),
            (d.table_arn(&profiles), profile_actions),
        ] {
            for a in actions {
                out.push((Some(role), Request::by_role(arn, a, &resource)));
            }
        }
        for a in kms {
            out.push((Some(role), d.field_key(role, a)));
        }
        for (table, actions) in [(&sessions, table_actions), (&profiles, profile_actions)] {
            for a in perms::table_key_actions(actions) {
                out.push((Some(role), d.table_key(role, a, table)));
            }
            if !actions.is_empty() {
                out.push((Some(role), d.table_key(role, "kms:DescribeKey", table)));
            }
        }
    }
    // CloudWatch Logs encrypts each log group with the key, under the
    // context `aws:logs:arn` = the log group's ARN
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
    for g in &d.log_groups {
        for a in ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"] {
            out.push((
                None,
                Request::by_service(&format!("logs.{REGION}.amazonaws.com"), a, &d.key_arn)
                    .encryption_context(&[(
                        "aws:logs:arn",
                        format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{g}"),
                    )]),
            ));
        }
    }
    // CloudWatch alarms publish to the encrypted SNS topic as the service
    // principal (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
    for a in ["kms:GenerateDataKey", "kms:Decrypt"] {
        out.push((
            None,
            Request::by_service("cloudwatch.amazonaws.com", a, &d.key_arn)
                .with("aws:SourceAccount", ACCOUNT),
        ));
    }
    out
}

#[test]
fn every_request_the_deployed_system_makes_is_allowed() {
    let d = deployed(false);
    let requests = every_request(&d);
    let denied: Vec<String> = requests
        .iter()
        .filter(|(role, req)| d.decide(*role, req) != Decision::Allow)
        .map(|(role, req)| {
            format!(
                "{role:?} {} on {} {:?}",
                req.action, req.resource, req.context
            )
        })
        .collect();
    assert!(denied.is_empty(), "denied:\n{}", denied.join("\n"));
    eprintln!("ACCESS: {} requests allowed", requests.len());
}

#[test]
fn lambda_encrypts_function_environments_through_the_key_policy() {
    // Lambda encrypts and grants itself the key as the deployer, via the
    // Lambda service, with the context `aws:lambda:FunctionArn`
    // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html).
    // The deployer's own policy is outside the stack; an admin-like one here
    // isolates the key policy's part: it must delegate, only via Lambda.
    let d = deployed(false);
    let deployer = role_arn("deployer");
    let admin =
        json!({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": d.key_arn}]});
    let decide = |req: &Request| evaluate_kms(req, &d.key_policy, &[&admin]).unwrap();
    for a in ["kms:Encrypt", "kms:CreateGrant", "kms:Decrypt"] {
        let fn_arn = format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
            d.names.session_persistence_function
        );
        let mut req = Request::by_role(&deployer, a, &d.key_arn)
            .via(&format!("lambda.{REGION}.amazonaws.com"))
            .encryption_context(&[("aws:lambda:FunctionArn", fn_arn.as_str())]);
        if a == "kms:CreateGrant" {
            // Lambda's grant is for the function, an AWS resource.
            req = req.with("kms:GrantIsForAWSResource", "true");
        }
        assert_eq!(decide(&req), Decision::Allow, "{a} via Lambda");
        let direct = Request {
            context: BTreeMap::new(),
            ..req
        }
        .with("kms:CallerAccount", ACCOUNT)
        .with("aws:PrincipalArn", &deployer);
        assert_eq!(
            decide(&direct),
            Decision::ImplicitDeny,
            "{a}: the account may not use the key directly"
        );
    }
}

#[test]
fn requests_outside_the_design_are_denied() {
    let d = deployed(false);
    let sessions = d.names.sessions_table.clone();
    let profiles = d.names.user_profiles_table.clone();
    let sp = "session-persistence";
    let cm = "context-manager";
    let intruder = role_arn("intruder");
    let intruder_policy =
        json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": d.key_arn}]});
    let cases: Vec<(&str, Who, Request)> = vec![
        (
            "another role with a KMS policy, direct, with a session context",
            Who::Intruder(Some(&intruder_policy)),
            Request::by_role(&intruder, "kms:Decrypt", &d.key_arn)
                .encryption_context(&[("sessionId", "s"), ("userId", "u")]),
        ),
        (
            "another role through DynamoDB, without a KMS policy of its own",
            Who::Intruder(None),
            Request::by_role(&intruder, "kms:Decrypt", &d.key_arn)
                .via(&format!("dynamodb.{REGION}.amazonaws.com"))
                .encryption_context(&[
                    ("aws:dynamodb:tableName", sessions.as_str()),
                    ("aws:dynamodb:subscriberId", ACCOUNT),
                ]),
        ),
        (
            "the context manager and the profiles table's key",
            Who::Role(cm),
            d.table_key(cm, "kms:Decrypt", &profiles),
        ),
        (
            "another table",
            Who::Role(sp),
            d.table_key(sp, "kms:Decrypt", "someone-elses-table"),
        ),
        (
            "another account's table of the same name",
            Who::Role(sp),
            Request::by_role(&d.roles[sp].1, "kms:Decrypt", &d.key_arn)
                .via(&format!("dynamodb.{REGION}.amazonaws.com"))
                .encryption_context(&[
                    ("aws:dynamodb:tableName", sessions.as_str()),
                    ("aws:dynamodb:subscriberId", "444455556666"),
                ]),
        ),
        (
            "a reader re-encrypting the profiles key",
            Who::Role(sp),
            d.table_key(sp, "kms:ReEncryptFrom", &profiles),
        ),
        (
            "table context keys missing",
            Who::Role(sp),
            Request::by_role(&d.roles[sp].1, "kms:Decrypt", &d.key_arn)
                .via(&format!("dynamodb.{REGION}.amazonaws.com")),
        ),
        (
            "the table context through another service",
            Who::Role(sp),
            Request::by_role(&d.roles[sp].1, "kms:Decrypt", &d.key_arn)
                .via(&format!("s3.{REGION}.amazonaws.com"))
                .encryption_context(&[
                    ("aws:dynamodb:tableName", sessions.as_str()),
                    ("aws:dynamodb:subscriberId", ACCOUNT),
                ]),
        ),
        (
            "the table context called directly",
            Who::Role(sp),
            Request::by_role(&d.roles[sp].1, "kms:Decrypt", &d.key_arn).encryption_context(&[
                ("aws:dynamodb:tableName", sessions.as_str()),
                ("aws:dynamodb:subscriberId", ACCOUNT),
            ]),
        ),
        (
            "DynamoDB in another region",
            Who::Role(sp),
            Request::by_role(&d.roles[sp].1, "kms:Decrypt", &d.key_arn)
                .via("dynamodb.us-east-1.amazonaws.com")
                .encryption_context(&[
                    ("aws:dynamodb:tableName", sessions.as_str()),
                    ("aws:dynamodb:subscriberId", ACCOUNT),
                ]),
        ),
        (
            "a field key without encryption context",
            Who::Role(sp),
            Request::by_role(&d.roles[sp].1, "kms:Decrypt", &d.key_arn),
        ),
        (
            "a field key with an extra context key",
            Who::Role(sp),
            Request::by_role(&d.roles[sp].1, "kms:Decrypt", &d.key_arn).encryption_context(&[
                ("sessionId", "s"),
                ("userId", "u"),
                ("admin", "yes"),
            ]),
        ),
        (
            "the context manager generating data keys directly",
            Who::Role(cm),
            d.field_key(cm, "kms:GenerateDataKey"),
        ),
        (
            "the session persistence generating data keys directly",
            Who::Role(sp),
            d.field_key(sp, "kms:GenerateDataKey"),
        ),
        (
            "the context manager deleting items",
            Who::Role(cm),
            Request::by_role(
                &d.roles[cm].1,
                "dynamodb:DeleteItem",
                &d.table_arn(&sessions),
            ),
        ),
        (
            "the context manager reading profiles",
            Who::Role(cm),
            Request::by_role(&d.roles[cm].1, "dynamodb:GetItem", &d.table_arn(&profiles)),
        ),
        (
            "a scan of the sessions table",
            Who::Role(sp),
            Request::by_role(&d.roles[sp].1, "dynamodb:Scan", &d.table_arn(&sessions)),
        ),
        (
            "CloudWatch Logs for another account's log group",
            Who::Service,
            Request::by_service(
                &format!("logs.{REGION}.amazonaws.com"),
                "kms:Decrypt",
                &d.key_arn,
            )
            .encryption_context(&[(
                "aws:logs:arn",
                format!("arn:aws:logs:{REGION}:444455556666:log-group:/aws/lambda/x"),
            )]),
        ),
        (
            "CloudWatch Logs for another log group of this account",
            Who::Service,
            Request::by_service(
                &format!("logs.{REGION}.amazonaws.com"),
                "kms:Decrypt",
                &d.key_arn,
            )
            .encryption_context(&[(
                "aws:logs:arn",
                format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/another-function"),
            )]),
        ),
        (
            "CloudWatch alarms of another account",
            Who::Service,
            Request::by_service("cloudwatch.amazonaws.com", "kms:Decrypt", &d.key_arn)
                .with("aws:SourceAccount", "444455556666"),
        ),
    ];
    let mut wrong = vec![];
    for (what, who, req) in &cases {
        let decision = match who {
            Who::Role(r) => d.decide(Some(r), req),
            Who::Intruder(policy) => evaluate_kms(
                req,
                &d.key_policy,
                &policy.iter().copied().collect::<Vec<_>>(),
            )
            .unwrap(),
            Who::Service => d.decide(None, req),
        };
        if decision == Decision::Allow {
            wrong.push(*what);
        }
    }
    assert!(wrong.is_empty(), "allowed but must be denied: {wrong:?}");
}

/// Who makes a must-deny request: one of the stack's roles, a role outside
/// the stack (with or without an IAM policy of its own), or a service.
enum Who<'a> {
    Role(&'a str),
    Intruder(Option<&'a Value>),
    Service,
}

#[test]
fn without_the_service_side_statements_dynamodb_cannot_use_the_table_key() {
    // The failure a real account would show ("KMS key access denied"), and
    // proof the evaluation above can fail.
    let d = deployed(true);
    let table_key: Vec<_> = every_request(&d)
        .into_iter()
        .filter(|(_, r)| r.context.contains_key("kms:ViaService"))
        .collect();
    assert!(!table_key.is_empty());
    for (role, req) in &table_key {
        assert_eq!(
            d.decide(*role, req),
            Decision::ImplicitDeny,
            "{role:?} {}",
            req.action
        );
    }
}

#[test]
fn the_roles_grant_exactly_the_modelled_service_side_actions() {
    let d = deployed(false);
    for (role, table_actions, profile_actions) in [
        (
            "session-persistence",
            perms::SESSION_PERSISTENCE_SESSIONS_TABLE,
            perms::SESSION_PERSISTENCE_PROFILES_TABLE,
        ),
        (
            "context-manager",
            perms::CONTEXT_MANAGER_SESSIONS_TABLE,
            perms::CONTEXT_MANAGER_PROFILES_TABLE,
        ),
    ] {
        let mut granted = BTreeSet::new();
        for doc in d.identity(role) {
            for st in doc["Statement"].as_array().unwrap() {
                if st["Condition"]["StringEquals"]["kms:ViaService"].is_null() {
                    continue;
                }
                assert_eq!(st["Resource"], json!([d.key_arn]), "{role}: key ARN only");
                let table = st["Condition"]["StringEquals"]
                    ["kms:EncryptionContext:aws:dynamodb:tableName"]
                    .as_str()
                    .unwrap_or("(any table)")
                    .to_string();
                for a in st["Action"].as_array().unwrap() {
                    granted.insert((table.clone(), a.as_str().unwrap().to_string()));
                }
            }
        }
        let mut modelled = BTreeSet::new();
        for (table, actions) in [
            (&d.names.sessions_table, table_actions),
            (&d.names.user_profiles_table, profile_actions),
        ] {
            for a in perms::table_key_actions(actions) {
                modelled.insert((table.clone(), a.to_string()));
            }
        }
        for a in perms::TABLE_KEY_DESCRIBE {
            modelled.insert(("(any table)".into(), a.to_string()));
        }
        assert_eq!(granted, modelled, "{role}");
    }
}

// ------------------------------------------------ AWS Backup (opt-in)
//
// With `BackupRetentionDays` > 0, AWS Backup assumes the backup role. Its
// documented requests (the DynamoDB and KMS statements of the
// AWSBackupServiceRolePolicyForBackup / ForRestores managed policies, see
// `stack::permissions`), scoped to this stack, must be allowed; the same
// requests on anything else must not. DynamoDB reads a table for a backup
// and writes a restored one with the role's identity, so its key use is the
// same forward path as the functions' (via DynamoDB, delegated by the key
// policy to the role's own statements); creating the vault makes AWS Backup
// use the key as the deployer (via AWS Backup, the key policy's
// `BackupVaultViaAwsBackup` statement, only while backups are on).

const BACKUP_ROLE: &str = "BackupRole";

fn policies_with(params: &[(&str, &str)]) -> StackPolicies {
    let t = stack::synth(&Default::default()).expect("synth");
    let mut p = BTreeMap::from([
        (ids::P_USER_POOL_ID.to_string(), format!("{REGION}_Pool")),
        (ids::P_USER_POOL_CLIENT_ID.to_string(), "client".to_string()),
    ]);
    for (k, v) in params {
        p.insert(k.to_string(), v.to_string());
    }
    StackPolicies::resolve(&t, &Place::new(ACCOUNT, REGION), &p, KEY_ID).expect("resolve")
}

fn backups_on() -> StackPolicies {
    policies_with(&[(ids::P_BACKUP_RETENTION_DAYS, "7")])
}

fn table_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
}

fn backup_role_arn() -> String {
    role_arn(&stack::Names::new(None).unwrap().backup_role)
}

/// A KMS request DynamoDB makes as the backup role for `table`.
fn backup_key(p: &StackPolicies, action: &str, table: &str) -> Request {
    Request::by_role(&backup_role_arn(), action, &p.key_arn)
        .via(&format!("dynamodb.{REGION}.amazonaws.com"))
        .encryption_context(&[
            ("aws:dynamodb:tableName", table),
            ("aws:dynamodb:subscriberId", ACCOUNT),
        ])
}

/// What AWS Backup does as the backup role: back up each table, manage its
/// backups, restore into `<table>-restored…`.
fn backup_requests(p: &StackPolicies) -> Vec<(String, Request)> {
    let names = stack::Names::new(None).unwrap();
    let role = backup_role_arn();
    let mut out = vec![];
    for table in [&names.sessions_table, &names.user_profiles_table] {
        let arn = table_arn(table);
        let restored = format!("{table}{}-20250101", perms::RESTORED_SUFFIX);
        for a in perms::BACKUP_TABLES
            .iter()
            .chain(perms::RESTORE_FROM_SOURCE_TABLES)
        {
            out.push((format!("{a} on {table}"), Request::by_role(&role, a, &arn)));
        }
        for a in perms::BACKUP_TABLE_BACKUPS {
            out.push((
                format!("{a} on a backup of {table}"),
                Request::by_role(&role, a, &format!("{arn}/backup/01700000000000-ab12cd34")),
            ));
        }
        for a in perms::RESTORE_TARGETS {
            out.push((
                format!("{a} on {restored}"),
                Request::by_role(&role, a, &table_arn(&restored)),
            ));
        }
        // Backup: DynamoDB reads the table under its key and, with advanced
        // DynamoDB backup, encrypts the copy under the vault's (the same) key.
        for a in ["kms:Decrypt", "kms:GenerateDataKey"] {
            out.push((
                format!("{a} via DynamoDB for {table}"),
                backup_key(p, a, table),
            ));
        }
        // Restore: the new table is encrypted with the key again.
        for a in perms::BACKUP_KEY_VIA_DYNAMODB {
            out.push((
                format!("{a} via DynamoDB for {restored}"),
                backup_key(p, a, &restored),
            ));
        }
        out.push((
            format!("kms:CreateGrant via DynamoDB for {restored}"),
            backup_key(p, "kms:CreateGrant", &restored).with("kms:GrantIsForAWSResource", "true"),
        ));
    }
    // The vault's key for the backup data: its context is not documented,
    // so the role's grant does not depend on one.
    out.push((
        "kms:GenerateDataKey via DynamoDB, no context".into(),
        Request::by_role(&role, "kms:GenerateDataKey", &p.key_arn)
            .via(&format!("dynamodb.{REGION}.amazonaws.com")),
    ));
    out.push((
        "kms:DescribeKey".into(),
        Request::by_role(&role, "kms:DescribeKey", &p.key_arn),
    ));
    out
}

/// Creating the vault: AWS Backup uses the key as the caller (the
/// deployer, through CloudFormation); an admin-like identity policy
/// isolates the key policy's part, as for Lambda above.
fn vault_creation(p: &StackPolicies) -> Vec<Request> {
    perms::BACKUP_VAULT_KEY
        .iter()
        .map(|a| {
            Request::by_role(&role_arn("deployer"), a, &p.key_arn)
                .via(&format!("backup.{REGION}.amazonaws.com"))
        })
        .collect()
}

fn admin(p: &StackPolicies) -> Value {
    json!({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": p.key_arn}]})
}

#[test]
fn aws_backup_can_back_up_and_restore_both_tables_as_the_backup_role() {
    let p = backups_on();
    assert!(p.roles.contains_key(BACKUP_ROLE));
    let requests = backup_requests(&p);
    let denied: Vec<String> = requests
        .iter()
        .filter(|(_, r)| p.decide(Some(BACKUP_ROLE), r).unwrap() != Decision::Allow)
        .map(|(what, _)| what.clone())
        .collect();
    assert!(denied.is_empty(), "denied:\n{}", denied.join("\n"));
    let admin = admin(&p);
    for req in vault_creation(&p) {
        assert_eq!(
            evaluate_kms(&req, &p.key_policy, &[&admin]).unwrap(),
            Decision::Allow,
            "creating the vault: {}",
            req.action
        );
    }
    // The functions keep every access they had.
    let d = deployed(false);
    for (role, req) in every_request(&d) {
        let decision = p
            .decide(role.map(|r| d.roles[r].0), &req)
            .unwrap_or_else(|e| panic!("{req:?}: {e}"));
        assert_eq!(decision, Decision::Allow, "{role:?} {}", req.action);
    }
    eprintln!("ACCESS: {} backup-role requests allowed", requests.len());
}

#[test]
fn backup_requests_outside_the_design_are_denied() {
    let p = backups_on();
    let names = stack::Names::new(None).unwrap();
    let role = backup_role_arn();
    let sessions = names.sessions_table.clone();
    let via_dynamodb = format!("dynamodb.{REGION}.amazonaws.com");
    let cases: Vec<(&str, Request)> = vec![
        (
            "backing up another table",
            Request::by_role(&role, "dynamodb:CreateBackup", &table_arn("other-table")),
        ),
        (
            "starting a backup job of another table",
            Request::by_role(
                &role,
                "dynamodb:StartAwsBackupJob",
                &table_arn("other-table"),
            ),
        ),
        (
            "deleting another table's backups",
            Request::by_role(
                &role,
                "dynamodb:DeleteBackup",
                &format!(
                    "{}/backup/01700000000000-ab12cd34",
                    table_arn("other-table")
                ),
            ),
        ),
        (
            "writing to the live sessions table",
            Request::by_role(&role, "dynamodb:PutItem", &table_arn(&sessions)),
        ),
        (
            "deleting from the live profiles table",
            Request::by_role(
                &role,
                "dynamodb:DeleteItem",
                &table_arn(&names.user_profiles_table),
            ),
        ),
        (
            "scanning the live sessions table",
            Request::by_role(&role, "dynamodb:Scan", &table_arn(&sessions)),
        ),
        (
            "restoring into a table not named as a restored copy",
            Request::by_role(
                &role,
                "dynamodb:RestoreTableFromAwsBackup",
                &table_arn("elsewhere"),
            ),
        ),
        (
            "writing a restored copy of another table",
            Request::by_role(
                &role,
                "dynamodb:PutItem",
                &table_arn("other-table-restored"),
            ),
        ),
        (
            "deleting the live table",
            Request::by_role(&role, "dynamodb:DeleteTable", &table_arn(&sessions)),
        ),
        (
            "the key called directly",
            Request::by_role(&role, "kms:Decrypt", &p.key_arn).encryption_context(&[
                ("aws:dynamodb:tableName", sessions.as_str()),
                ("aws:dynamodb:subscriberId", ACCOUNT),
            ]),
        ),
        (
            "the key via S3",
            Request::by_role(&role, "kms:Decrypt", &p.key_arn)
                .via(&format!("s3.{REGION}.amazonaws.com")),
        ),
        (
            "the key via DynamoDB in another region",
            Request::by_role(&role, "kms:Decrypt", &p.key_arn)
                .via("dynamodb.us-east-1.amazonaws.com"),
        ),
        (
            "the key via AWS Backup as the role",
            Request::by_role(&role, "kms:Decrypt", &p.key_arn)
                .via(&format!("backup.{REGION}.amazonaws.com")),
        ),
        (
            "a grant for something other than an AWS resource",
            backup_key(&p, "kms:CreateGrant", &sessions).with("kms:GrantIsForAWSResource", "false"),
        ),
        (
            "a grant requested directly",
            Request::by_role(&role, "kms:CreateGrant", &p.key_arn)
                .with("kms:GrantIsForAWSResource", "true"),
        ),
        (
            "the functions' session data keys",
            Request::by_role(&role, "kms:Decrypt", &p.key_arn)
                .encryption_context(&[("sessionId", "s"), ("userId", "u")]),
        ),
        (
            "administering the key",
            Request::by_role(&role, "kms:ScheduleKeyDeletion", &p.key_arn),
        ),
        (
            "another key",
            Request::by_role(
                &role,
                "kms:Decrypt",
                &format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/another"),
            )
            .via(&via_dynamodb),
        ),
    ];
    let wrong: Vec<&str> = cases
        .iter()
        .filter(|(_, r)| p.decide(Some(BACKUP_ROLE), r).unwrap() == Decision::Allow)
        .map(|(what, _)| *what)
        .collect();
    assert!(wrong.is_empty(), "allowed but must be denied: {wrong:?}");

    // The vault statement: only through AWS Backup, only this account.
    let admin = admin(&p);
    let decide = |req: &Request| evaluate_kms(req, &p.key_policy, &[&admin]).unwrap();
    for req in vault_creation(&p) {
        if req.action == "kms:DescribeKey" {
            continue; // delegated to IAM for administration anyway
        }
        let direct = Request::by_role(&role_arn("deployer"), &req.action, &p.key_arn);
        assert_eq!(
            decide(&direct),
            Decision::ImplicitDeny,
            "{} directly",
            req.action
        );
        let other = Request::by_role(
            "arn:aws:iam::444455556666:role/deployer",
            &req.action,
            &p.key_arn,
        )
        .via(&format!("backup.{REGION}.amazonaws.com"));
        assert_eq!(
            decide(&other),
            Decision::ImplicitDeny,
            "{} by another account",
            req.action
        );
        let elsewhere = Request::by_role(&role_arn("deployer"), &req.action, &p.key_arn)
            .via("backup.us-east-1.amazonaws.com");
        assert_eq!(
            decide(&elsewhere),
            Decision::ImplicitDeny,
            "{} in another region",
            req.action
        );
    }
}

#[test]
fn with_backups_off_there_is_no_backup_role_and_no_vault_grant() {
    let p = policies_with(&[]);
    assert!(!p.roles.contains_key(BACKUP_ROLE));
    let admin = admin(&p);
    for req in vault_creation(&p) {
        if req.action == "kms:DescribeKey" {
            continue;
        }
        assert_eq!(
            evaluate_kms(&req, &p.key_policy, &[&admin]).unwrap(),
            Decision::ImplicitDeny,
            "{} via AWS Backup with backups off",
            req.action
        );
    }
    // The backup role's requests, were it created by hand, get nothing
    // from the key policy alone.
    let on = backups_on();
    for (what, req) in backup_requests(&on) {
        if req.resource == p.key_arn {
            assert_ne!(p.decide(None, &req).unwrap(), Decision::Allow, "{what}");
        }
    }
}

/// The key policy lets AWS services use the key for this stack's own
/// resources only: even an identity whose IAM policy allows every KMS
/// action on the key (an administrator) cannot have DynamoDB use it for
/// another table, Lambda for another function's environment, SNS for
/// another topic, nor create a grant that is not for an AWS resource.
#[test]
fn services_use_the_key_only_for_this_stacks_resources() {
    let d = deployed(false);
    let admin_arn = role_arn("administrator");
    let admin =
        json!({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": d.key_arn}]});
    let decide = |req: &Request| evaluate_kms(req, &d.key_policy, &[&admin]).unwrap();
    let via = |service: &str, action: &str, context: &[(&str, String)]| {
        Request::by_role(&admin_arn, action, &d.key_arn)
            .via(&format!("{service}.{REGION}.amazonaws.com"))
            .encryption_context(context)
    };
    let function = |name: &str| format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}");
    let topic = |name: &str| format!("arn:aws:sns:{REGION}:{ACCOUNT}:{name}");
    let ours = [
        via(
            "dynamodb",
            "kms:Decrypt",
            &[("aws:dynamodb:tableName", d.names.sessions_table.clone())],
        ),
        via(
            "dynamodb",
            "kms:GenerateDataKey",
            &[(
                "aws:dynamodb:tableName",
                format!("{}-restored-2", d.names.user_profiles_table),
            )],
        ),
        via(
            "lambda",
            "kms:Decrypt",
            &[(
                "aws:lambda:FunctionArn",
                function(&d.names.context_manager_function),
            )],
        ),
        via(
            "sns",
            "kms:GenerateDataKey",
            &[(
                "aws:sns:topicArn",
                topic(&format!("{}-alarms", d.names.api)),
            )],
        ),
    ];
    for req in &ours {
        assert_eq!(decide(req), Decision::Allow, "{req:?}");
    }
    let others = [
        via(
            "dynamodb",
            "kms:Decrypt",
            &[("aws:dynamodb:tableName", "another-table".into())],
        ),
        via(
            "lambda",
            "kms:Decrypt",
            &[("aws:lambda:FunctionArn", function("another-function"))],
        ),
        via(
            "sns",
            "kms:Decrypt",
            &[("aws:sns:topicArn", topic("another-topic"))],
        ),
        via("dynamodb", "kms:Decrypt", &[]),
        via(
            "lambda",
            "kms:CreateGrant",
            &[(
                "aws:lambda:FunctionArn",
                function(&d.names.session_persistence_function),
            )],
        ),
        via("lambda", "kms:CreateGrant", &[]).with("kms:GrantIsForAWSResource", "false"),
    ];
    for req in &others {
        assert_ne!(decide(req), Decision::Allow, "{req:?}");
    }
}
