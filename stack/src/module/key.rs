//! The data key: its policy (administration without data access, each
//! function's use bound to its own table and encryption context) and alias.

use super::*;

/// DynamoDB uses the tables' key with the role's own identity (forward
/// access): without these the role's GetItem/PutItem/Query on a table
/// encrypted with the customer-managed key answer "KMS key access denied".
/// The key policy's `TablesAndFunctionEnvironmentViaServices` statement
/// delegates to IAM (account root, `kms:ViaService`), so the grant is here,
/// per table, conditioned on DynamoDB in this region and that table's name
/// and account in the encryption context DynamoDB sends
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html;
/// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam).
pub(super) fn table_key_statements(f: &FunctionSpec) -> Vec<Statement> {
    let via_dynamodb = || sub("dynamodb.${AWS::Region}.${AWS::URLSuffix}");
    let mut out = Vec::new();
    for (sid, table, table_actions) in [
        (
            "SessionsTableKeyViaDynamoDB",
            SESSIONS_TABLE,
            f.sessions_actions,
        ),
        (
            "UserProfilesTableKeyViaDynamoDB",
            USER_PROFILES_TABLE,
            f.profiles_actions,
        ),
    ] {
        let actions = perms::table_key_actions(table_actions);
        if actions.is_empty() {
            continue;
        }
        out.push(
            Statement::allow(sid, actions, vec![get_att(KEY, "Arn")])
                .condition("StringEquals", "kms:ViaService", via_dynamodb())
                .condition(
                    "StringEquals",
                    "kms:EncryptionContext:aws:dynamodb:tableName",
                    r#ref(table),
                )
                .condition(
                    "StringEquals",
                    "kms:EncryptionContext:aws:dynamodb:subscriberId",
                    sub("${AWS::AccountId}"),
                ),
        );
    }
    if !out.is_empty() {
        out.push(
            Statement::allow(
                "TableKeyDescribeViaDynamoDB",
                perms::TABLE_KEY_DESCRIBE,
                vec![get_att(KEY, "Arn")],
            )
            .condition("StringEquals", "kms:ViaService", via_dynamodb()),
        );
    }
    out
}

pub(super) fn account_root() -> Expr {
    arn("iam::${AWS::AccountId}:root")
}

pub(super) fn role_arn(role_name: &str) -> Expr {
    arn(&format!("iam::${{AWS::AccountId}}:role/{role_name}"))
}

pub(super) fn key(t: &mut Template, n: &Names, functions: &[FunctionSpec]) {
    // Administration without data access: no kms:* and no Encrypt/Decrypt for
    // the account as a whole. Explicit actions so nothing widens silently.
    let admin = Statement::allow(
        "AccountAdministration",
        &[
            "kms:CancelKeyDeletion",
            "kms:CreateAlias",
            "kms:DeleteAlias",
            "kms:DescribeKey",
            "kms:DisableKey",
            "kms:DisableKeyRotation",
            "kms:EnableKey",
            "kms:EnableKeyRotation",
            "kms:GetKeyPolicy",
            "kms:GetKeyRotationStatus",
            "kms:ListAliases",
            "kms:ListResourceTags",
            "kms:PutKeyPolicy",
            "kms:ScheduleKeyDeletion",
            "kms:TagResource",
            "kms:UntagResource",
            "kms:UpdateAlias",
            "kms:UpdateKeyDescription",
        ],
        vec![s("*")],
    )
    .principal(Principal::Aws(account_root()));
    // Each function role, with exactly its own KMS actions, only with the
    // per-session encryption context.
    let roles = functions.iter().map(|f| {
        Statement::allow(
            &format!("{}FieldEncryption", f.function.id_prefix()),
            f.kms_actions,
            vec![s("*")],
        )
        .principal(Principal::Aws(account_root()))
        .condition(
            "ArnEquals",
            "aws:PrincipalArn",
            role_arn(f.function.role_name(n)),
        )
        .condition(
            "ForAllValues:StringEquals",
            "kms:EncryptionContextKeys",
            list(perms::ENCRYPTION_CONTEXT_KEYS.iter().map(|k| s(*k))),
        )
        .condition("Null", "kms:EncryptionContextKeys", s("false"))
    });
    // Services that use the key on the account's behalf, each only for
    // this stack's own resources: the tables (DynamoDB's encryption
    // context names the table), the functions' environment (Lambda's names
    // the function) and the alarm topic (SNS's names the topic); grants
    // only for AWS resources; DescribeKey carries no context. The key
    // policy delegates to IAM (the account root), so a role still needs its
    // own grant (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html,
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html,
    // https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html,
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
    let via = |service: &str| sub(format!("{service}.${{AWS::Region}}.${{AWS::URLSuffix}}"));
    // Using the key for data: DynamoDB's write list, which covers what
    // Lambda and SNS do with it too.
    let use_key = perms::TABLE_KEY_WRITE;
    let delegated = |sid: &str, actions: &[&str], services: Vec<Expr>| {
        Statement::allow(sid, actions, vec![s("*")])
            .principal(Principal::Aws(account_root()))
            .condition(
                "StringEquals",
                "kms:CallerAccount",
                sub("${AWS::AccountId}"),
            )
            .condition("StringEquals", "kms:ViaService", list(services))
    };
    let function_arns = || {
        list(functions.iter().map(|f| {
            arn(&format!(
                "lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{}",
                f.name
            ))
        }))
    };
    let via_services = vec![
        // The tables and the copies restored from them, which are named
        // after them (`restore` refuses other names).
        delegated("TablesViaDynamoDB", use_key, vec![via("dynamodb")]).condition(
            "StringLike",
            "kms:EncryptionContext:aws:dynamodb:tableName",
            list([
                s(format!("{}*", n.sessions_table)),
                s(format!("{}*", n.user_profiles_table)),
            ]),
        ),
        delegated("FunctionEnvironmentViaLambda", use_key, vec![via("lambda")]).condition(
            "StringEquals",
            "kms:EncryptionContext:aws:lambda:FunctionArn",
            function_arns(),
        ),
        delegated(
            "AlarmTopicViaSns",
            &["kms:Decrypt", "kms:GenerateDataKey"],
            vec![via("sns")],
        )
        .condition(
            "StringEquals",
            "kms:EncryptionContext:aws:sns:topicArn",
            arn(&format!(
                "sns:${{AWS::Region}}:${{AWS::AccountId}}:{}-alarms",
                n.api
            )),
        ),
        delegated(
            "GrantsForAwsResourcesViaServices",
            &["kms:CreateGrant"],
            vec![via("dynamodb"), via("lambda")],
        )
        .condition("Bool", "kms:GrantIsForAWSResource", s("true")),
        delegated(
            "DescribeKeyViaServices",
            &["kms:DescribeKey"],
            vec![via("dynamodb"), via("lambda"), via("sns")],
        ),
    ];
    // The documented statement (`kms:Encrypt*`, `Decrypt*`, `ReEncrypt*`,
    // `GenerateDataKey*`, `Describe*`) spelled out, for this stack's own
    // log groups only
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
    let log_groups = functions
        .iter()
        .map(|f| Names::log_group(f.name))
        .chain([api_access_log_group(n)])
        .map(|g| {
            arn(&format!(
                "logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{g}"
            ))
        });
    let logs = Statement::allow("CloudWatchLogs", perms::LOGS_KEY, vec![s("*")])
        .principal(Principal::Service(sub(
            "logs.${AWS::Region}.${AWS::URLSuffix}",
        )))
        .condition(
            "StringEquals",
            "kms:EncryptionContext:aws:logs:arn",
            list(log_groups),
        );
    let alarms = Statement::allow(
        "CloudWatchAlarmsToTopic",
        &["kms:Decrypt", "kms:GenerateDataKey"],
        vec![s("*")],
    )
    .principal(Principal::Service(s("cloudwatch.amazonaws.com")))
    .condition(
        "StringEquals",
        "aws:SourceAccount",
        sub("${AWS::AccountId}"),
    );

    t.resource(
        KEY,
        Resource::new(KmsKey {
            description: format!(
                "{}: tables, logs, function environment and conversation content",
                n.stack
            ),
            enable_key_rotation: true,
            key_policy: PolicyDocument::new(
                std::iter::once(admin)
                    .chain(roles)
                    .chain(via_services)
                    .chain([
                        logs,
                        alarms,
                        crate::operations::backup_vault_key_statement(),
                        crate::operations::backup_role_key_statement(n),
                    ])
                    .collect(),
            ),
            pending_window_in_days: 30,
            tags: None,
        })
        .retain(),
    );
    t.resource(
        KEY_ALIAS,
        Resource::new(KmsAlias {
            alias_name: s(n.key_alias.clone()),
            target_key_id: r#ref(KEY),
        }),
    );
}
