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
    let function = Function {
        function_name: f.name.to_string(),
        description: f.description.to_string(),
        runtime: "provided.al2023".into(),
        handler: "bootstrap".into(),
        code: Box::new(Code {
            s3_bucket: r#ref(P_CODE_BUCKET),
            s3_key: r#ref(f.function.code_key_parameter()),
        }),
        role: get_att(&role_id, "Arn"),
        architectures: vec![r#ref(P_ARCHITECTURE)],
        memory_size: r#ref(f.function.memory_parameter()),
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
    };
    let version = version_description(t, &function, f.function.code_key_parameter());
    t.resource(
        &fn_id,
        Resource::new(function)
        .skip_check(
            "CKV_AWS_117",
            "No VPC: the function reaches only DynamoDB and KMS over AWS endpoints; a VPC adds NAT cost and cold-start time without reducing exposure",
        )
        .skip_check(
            "CKV_AWS_116",
            "No dead-letter queue: invoked synchronously by API Gateway, failures return to the caller, nothing is queued",
        ),
    );

    // Every change of the function's code or configuration publishes a
    // version; the one before stays (for `rollback`) and goes with the stack.
    t.resource(
        f.function.version_id(),
        Resource::new(LambdaVersion {
            function_name: r#ref(&fn_id),
            description: version,
        })
        .keep_when_replaced(),
    );
    // What the API invokes: the alias, never `$LATEST`, so code is live only
    // once published and one `UpdateAlias` puts the previous version back.
    t.resource(
        f.function.alias_id(),
        Resource::new(LambdaAlias {
            name: crate::function::LIVE_ALIAS.into(),
            function_name: r#ref(&fn_id),
            function_version: get_att(f.function.version_id(), "Version"),
            description: format!("The version of {} the API invokes", f.name),
        }),
    );
}

/// Parameters a function refers to that are not part of a version: the
/// bucket (the key is content-addressed) and the reserved concurrency
/// (a function's setting, not a version's).
const NOT_VERSIONED: [&str; 2] = [P_CODE_BUCKET, P_RESERVED_CONCURRENCY];

/// The description of the function's version, which changes exactly when
/// the function does: a digest of its properties as the template writes
/// them, then the values of the parameters they refer to (the code key
/// first). A changed description replaces the version, and CloudFormation
/// publishes only on a replacement, so a new `LogLevel` reaches the alias too.
pub(super) fn version_description(t: &Template, function: &Function, code_key: &str) -> Expr {
    use sha2::Digest;
    let props = serde_json::to_value(function).expect("a function serializes");
    let digest = sha2::Sha256::digest(props.to_string().as_bytes());
    let digest: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let mut refs = vec![];
    crate::model::collect_refs(&props, &mut refs);
    refs.retain(|r| {
        r != code_key
            && !NOT_VERSIONED.contains(&r.as_str())
            && t.parameters.iter().any(|(id, _)| id == r)
    });
    refs.sort();
    refs.dedup();
    let mut text = format!("{digest} ${{{code_key}}}");
    for r in refs {
        text.push_str(&format!(" ${{{r}}}"));
    }
    sub(text)
}
