//! Each function: its execution role (least privilege, inline), log group
//! and the function itself.

use super::*;

pub(super) fn function(t: &mut Template, n: &Names, f: &FunctionSpec) {
    let log_group_id = format!("{}LogGroup", f.function.id_prefix());
    let role_id = format!("{}Role", f.function.id_prefix());
    let fn_id = format!("{}Function", f.function.id_prefix());
    let log_group_name = Names::log_group(f.name);

    t.resource(
        &log_group_id,
        Resource::new(LogGroup {
            log_group_name: log_group_name.clone(),
            retention_in_days: LOG_RETENTION_DAYS,
            kms_key_id: get_att(KEY, "Arn"),
            tags: None,
        })
        .delete_with_stack(),
    );
    let sessions_arn = get_att(SESSIONS_TABLE, "Arn");
    let mut statements = vec![];
    if !f.sessions_actions.is_empty() {
        statements.push(Statement::allow(
            "SessionsTable",
            f.sessions_actions,
            vec![sessions_arn],
        ));
    }
    if !f.index_actions.is_empty() {
        statements.push(Statement::allow(
            "UserSessionIndex",
            f.index_actions,
            vec![sub(format!(
                "${{{SESSIONS_TABLE}.Arn}}/index/{}",
                n.user_session_index
            ))],
        ));
    }
    if !f.profiles_actions.is_empty() {
        statements.push(Statement::allow(
            "UserProfilesTable",
            f.profiles_actions,
            vec![get_att(USER_PROFILES_TABLE, "Arn")],
        ));
    }
    let mut kms = Statement::allow("FieldEncryption", f.kms_actions, vec![get_att(KEY, "Arn")]);
    kms = kms
        .condition(
            "ForAllValues:StringEquals",
            "kms:EncryptionContextKeys",
            list(perms::ENCRYPTION_CONTEXT_KEYS.iter().map(|k| s(*k))),
        )
        .condition("Null", "kms:EncryptionContextKeys", s("false"));
    statements.push(kms);
    statements.extend(table_key_statements(f));
    statements.push(Statement::allow(
        "OwnLogGroup",
        &["logs:CreateLogStream", "logs:PutLogEvents"],
        vec![arn(&format!(
            "logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{log_group_name}:log-stream:*"
        ))],
    ));

    // Active tracing: the function's X-Ray segments, sent by Lambda with the
    // execution role; X-Ray's write actions take no resource
    // (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html).
    statements.push(Statement::allow(
        "Tracing",
        &["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        vec![s("*")],
    ));

    t.resource(
        &role_id,
        Resource::new(Role {
            role_name: f.function.role_name(n).to_string(),
            description: format!("Execution role of {}: least privilege, inline only", f.name),
            assume_role_policy_document: PolicyDocument::new(vec![Statement::allow(
                "LambdaAssume",
                &["sts:AssumeRole"],
                vec![],
            )
            .principal(Principal::Service(s("lambda.amazonaws.com")))
            .condition(
                "StringEquals",
                "aws:SourceAccount",
                sub("${AWS::AccountId}"),
            )]),
            policies: vec![InlinePolicy {
                policy_name: format!("{}-least-privilege", f.name),
                policy_document: PolicyDocument::new(statements),
            }],
        }),
    );

    let mut env = BTreeMap::new();
    env.insert("SESSIONS_TABLE".to_string(), r#ref(SESSIONS_TABLE));
    env.insert(
        "USER_PROFILES_TABLE".to_string(),
        r#ref(USER_PROFILES_TABLE),
    );
    env.insert("KMS_KEY_ID".to_string(), get_att(KEY, "Arn"));
    for (var, param) in f.env_params {
        env.insert(var.to_string(), r#ref(*param));
    }
    t.resource(
        &fn_id,
        Resource::new(Function {
            function_name: f.name.to_string(),
            description: f.description.to_string(),
            runtime: "provided.al2023".into(),
            handler: "bootstrap".into(),
            code: Code {
                s3_bucket: r#ref(P_CODE_BUCKET),
                s3_key: r#ref(f.function.code_key_parameter()),
            },
            role: get_att(&role_id, "Arn"),
            architectures: vec![r#ref(P_ARCHITECTURE)],
            memory_size: FUNCTION_MEMORY_MB,
            timeout: FUNCTION_TIMEOUT_SECONDS,
            environment: Environment { variables: env },
            kms_key_arn: get_att(KEY, "Arn"),
            reserved_concurrent_executions: if_(
                C_HAS_RESERVED_CONCURRENCY,
                r#ref(P_RESERVED_CONCURRENCY),
                no_value(),
            ),
            logging_config: LoggingConfig {
                log_format: "JSON".into(),
                log_group: r#ref(&log_group_id),
            },
            tracing_config: Box::new(TracingConfig {
                mode: r#ref(P_TRACING),
            }),
            tags: None,
        })
        .skip_check(
            "CKV_AWS_117",
            "No VPC: the function reaches only DynamoDB and KMS over AWS endpoints; a VPC adds NAT cost and cold-start time without reducing exposure",
        )
        .skip_check(
            "CKV_AWS_116",
            "No dead-letter queue: invoked synchronously by API Gateway, failures return to the caller, nothing is queued",
        ),
    );
}
