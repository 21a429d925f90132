//! `VoiceLearningAssistantStack`: the whole module as one template.

use crate::expr::{get_att, if_, join, list, map, no_value, pseudo, r#ref, s, sub, Expr, Pseudo};
use crate::iam::{PolicyDocument, Principal, Statement};
use crate::model::{Parameter, Resource, Template};
use crate::names::Names;
use crate::permissions as perms;
use crate::resources::*;
use crate::validate::validate;
use crate::StackError;
use std::collections::BTreeMap;

/// What varies between synths. Everything else is a template parameter, so
/// the committed template changes only when the infrastructure does.
#[derive(Debug, Clone, Default)]
pub struct StackOptions {
    pub stage: Option<String>,
    /// The region the template is for: a resource type CloudFormation does
    /// not offer there is left out (`stack::availability`). `None`, the
    /// committed template, has every type.
    pub region: Option<String>,
}

/// Logical ids other crates refer to (xtask's diff, deploy and dev).
pub mod ids {
    pub const KEY: &str = "DataKey";
    pub const KEY_ALIAS: &str = "DataKeyAlias";
    pub const SESSIONS_TABLE: &str = "SessionsTable";
    pub const USER_PROFILES_TABLE: &str = "UserProfilesTable";
    use crate::function::Function;
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
    pub const P_SESSION_PERSISTENCE_CODE_KEY: &str =
        Function::SessionPersistence.code_key_parameter();
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
}
use ids::*;

/// Function timeout in seconds; the p99 alarm fires at 80% of it.
pub const FUNCTION_TIMEOUT_SECONDS: i64 = 10;
pub const FUNCTION_MEMORY_MB: i64 = 256;
pub const LOG_RETENTION_DAYS: i64 = 30;
/// API throttling on the `$default` stage.
pub const THROTTLE_BURST: i64 = 200;
pub const THROTTLE_RATE: f64 = 100.0;
/// Attributes the sparse `UserSessionIndex` projects (what `list` shows).
pub const USER_SESSION_INDEX_PROJECTION: &[&str] = &[
    "createdAt",
    "currentTopic",
    "expiresAt",
    "language",
    "mode",
    "status",
    "turnCount",
];

/// One Lambda function of the module.
struct FunctionSpec<'a> {
    function: crate::Function,
    /// Its function name in this stage.
    name: &'a str,
    description: &'static str,
    sessions_actions: &'static [&'static str],
    index_actions: &'static [&'static str],
    profiles_actions: &'static [&'static str],
    kms_actions: &'static [&'static str],
    /// Environment variables beyond the tables and key: `(variable, the
    /// parameter or pseudo parameter it is a Ref to)`.
    env_params: &'static [(&'static str, &'static str)],
}

/// The context manager's environment variable naming the Cognito group
/// whose members may write `assistant`/`system` turns and summaries.
pub const ASSISTANT_WRITER_GROUP_ENV: &str = "ASSISTANT_WRITER_GROUP";
/// Both functions' environment variable naming the roots their HTTPS
/// client trusts (`functions::tls`), from the `TlsTrustStore` parameter.
pub const TLS_TRUST_STORE_ENV: &str = "TLS_TRUST_STORE";
/// What `RouteScopes` accepts: Cognito custom scopes
/// (`resource-server/scope`, or a bare OIDC scope) separated by commas.
/// Scope characters are RFC 6749's (printable ASCII but space, `"`, `\\`),
/// commas excluded.
pub const ROUTE_SCOPES_PATTERN: &str = r#"^$|^[!#-+\--\[\]-~]+(,[!#-+\--\[\]-~]+)*$"#;
/// The functions' log level variable (`tracing_subscriber`'s filter), from
/// the `LogLevel` parameter.
pub const LOG_LEVEL_ENV: &str = "RUST_LOG";
/// `Tracing`'s values (Lambda's `TracingConfig` modes), the default first.
pub const TRACING_MODES: [&str; 2] = ["Active", "PassThrough"];
/// `LogLevel`'s values, the default first.
pub const LOG_LEVELS: [&str; 4] = ["info", "warn", "error", "debug"];
/// The function environment variable holding the audit pseudonyms' key.
pub const AUDIT_ID_KEY_ENV: &str = "AUDIT_ID_KEY";
/// Its values, the default first (`functions::tls::Trust::NAMES`; a test
/// keeps them equal).
pub const TLS_TRUST_STORES: [&str; 3] = ["amazon", "public", "system"];
/// The namespace of the metrics the functions publish themselves.
pub const METRIC_NAMESPACE: &str = "VoiceLearningAssistant";
/// 4xx answers in 5 minutes that make a surge (`HttpApi4xxSurgeAlarm`).
pub const HTTP_4XX_SURGE: f64 = 100.0;
/// `UserPoolClientId`: one app client id, or several separated by commas
/// (each client's tokens carry its id as `aud`).
pub const CLIENT_IDS_PATTERN: &str = r"^[\w+]+(,[\w+]+)*$";
/// `AssistantWriterGroup`'s default.
pub const DEFAULT_ASSISTANT_WRITER_GROUP: &str = "assistant-writers";

/// The HTTP API's CORS settings besides the origins (a stage's
/// `CorsAllowedOrigins`). A JSON POST with a bearer token always sends a
/// preflight; API Gateway answers it itself once the API has a CORS
/// configuration, and a request from an origin not listed gets no CORS
/// headers (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html).
/// `dev`'s gateway answers from the same values.
pub mod cors {
    /// Request headers a browser may send (lowercase, as API Gateway compares them).
    pub const ALLOW_HEADERS: [&str; 2] = ["authorization", "content-type"];
    pub const ALLOW_METHODS: [&str; 2] = ["POST", "OPTIONS"];
    /// Response headers a script may read besides the safelisted ones: a
    /// 503's `Retry-After`.
    pub const EXPOSE_HEADERS: [&str; 1] = ["retry-after"];
    /// Seconds a browser may cache a preflight answer.
    pub const MAX_AGE_SECONDS: i64 = 600;
    /// `CorsAllowedOrigins`: empty, or origins (`scheme://host[:port]`)
    /// separated by commas.
    pub const ORIGINS_PATTERN: &str = r"^$|^https?://[^,/\s]+(,https?://[^,/\s]+)*$";
}

/// Synthesizes and validates the stack.
pub fn synth(opts: &StackOptions) -> Result<Template, StackError> {
    let names = Names::new(opts.stage.as_deref())?;
    let mut t = build(&names);
    if let Some(region) = &opts.region {
        t.resources
            .retain(|(_, r)| crate::availability::offered(r.properties.type_name(), region));
    }
    validate(&t)?;
    Ok(t)
}

fn arn(service_path: &str) -> Expr {
    sub(format!("arn:${{AWS::Partition}}:{service_path}"))
}

fn build(n: &Names) -> Template {
    let mut t = Template {
        description: format!(
            "Voice learning assistant: session management module ({}). Synthesized by `cargo xtask synth`; do not edit.",
            n.stack
        ),
        ..Template::default()
    };
    parameters(&mut t);
    t.condition(
        C_HAS_ALARM_EMAIL,
        Expr::Not(Box::new(Expr::Equals(
            Box::new(r#ref(P_ALARM_EMAIL)),
            Box::new(s("")),
        ))),
    );

    t.condition(
        C_HAS_CORS,
        Expr::Not(Box::new(Expr::Equals(
            Box::new(r#ref(P_CORS_ALLOWED_ORIGINS)),
            Box::new(s("")),
        ))),
    );
    t.condition(
        C_HAS_ROUTE_SCOPES,
        Expr::Not(Box::new(Expr::Equals(
            Box::new(r#ref(P_ROUTE_SCOPES)),
            Box::new(s("")),
        ))),
    );
    t.condition(
        C_HAS_RESERVED_CONCURRENCY,
        Expr::Not(Box::new(Expr::Equals(
            Box::new(r#ref(P_RESERVED_CONCURRENCY)),
            Box::new(s("0")),
        ))),
    );

    let functions = [
        FunctionSpec {
            function: crate::Function::SessionPersistence,
            name: crate::Function::SessionPersistence.function_name(n),
            description: "Voice learning sessions: create, get, update, delete, list, restore",
            sessions_actions: perms::SESSION_PERSISTENCE_SESSIONS_TABLE,
            index_actions: perms::SESSION_PERSISTENCE_INDEX,
            profiles_actions: perms::SESSION_PERSISTENCE_PROFILES_TABLE,
            kms_actions: perms::SESSION_PERSISTENCE_KMS,
            env_params: &[
                (TLS_TRUST_STORE_ENV, P_TLS_TRUST_STORE),
                (LOG_LEVEL_ENV, P_LOG_LEVEL),
            ],
        },
        FunctionSpec {
            function: crate::Function::ContextManager,
            name: crate::Function::ContextManager.function_name(n),
            description:
                "Voice learning conversation context: add_turn, get_context, set_summary, clear",
            sessions_actions: perms::CONTEXT_MANAGER_SESSIONS_TABLE,
            index_actions: perms::CONTEXT_MANAGER_INDEX,
            profiles_actions: perms::CONTEXT_MANAGER_PROFILES_TABLE,
            kms_actions: perms::CONTEXT_MANAGER_KMS,
            env_params: &[
                (ASSISTANT_WRITER_GROUP_ENV, P_ASSISTANT_WRITER_GROUP),
                (TLS_TRUST_STORE_ENV, P_TLS_TRUST_STORE),
                (LOG_LEVEL_ENV, P_LOG_LEVEL),
                // The key of the audit pseudonyms (`functions::identity::audit_id`):
                // unique to the stack, the same in every container.
                (AUDIT_ID_KEY_ENV, "AWS::StackId"),
            ],
        },
    ];

    key(&mut t, n, &functions);
    tables(&mut t, n);
    for f in &functions {
        function(&mut t, n, f);
    }
    http_api(&mut t, n, &functions);
    monitoring(&mut t, n, &functions);
    crate::operations::add(&mut t, n);

    t.output(
        "HttpApiUrl",
        "Base URL of the HTTP API (POST /sessions, POST /context)",
        sub(format!(
            "https://${{{HTTP_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
        )),
    );
    t.output("SessionsTableName", "Sessions table", r#ref(SESSIONS_TABLE));
    t.output(
        "UserProfilesTableName",
        "User profiles table",
        r#ref(USER_PROFILES_TABLE),
    );
    t.output(
        "SessionPersistenceFunctionName",
        "Session persistence function",
        r#ref(SESSION_PERSISTENCE_FUNCTION),
    );
    t.output(
        "ContextManagerFunctionName",
        "Context manager function",
        r#ref(CONTEXT_MANAGER_FUNCTION),
    );
    t.output(
        "AlarmTopicArn",
        "SNS topic every alarm notifies: subscribe a chat integration or a pager to it",
        r#ref(ALARM_TOPIC),
    );
    t.output(
        "DataKeyArn",
        "Customer-managed KMS key for tables, logs and content",
        get_att(KEY, "Arn"),
    );
    // What a frontend build needs to sign users in and call the API.
    t.output(
        FRONTEND_OUTPUTS[0],
        "Region of the API and (by this stack's issuer) of the user pool",
        pseudo(Pseudo::Region),
    );
    t.output(
        FRONTEND_OUTPUTS[1],
        "Cognito user pool whose tokens the API accepts",
        r#ref(P_USER_POOL_ID),
    );
    t.output(
        FRONTEND_OUTPUTS[2],
        "The web app's Cognito app client id (the first of UserPoolClientId)",
        Expr::Select(
            0,
            Box::new(Expr::Split(
                ",".into(),
                Box::new(r#ref(P_USER_POOL_CLIENT_ID)),
            )),
        ),
    );
    t
}

/// The outputs a frontend configures itself from, with `HttpApiUrl`
/// (`cargo xtask outputs --format dotenv`).
pub const FRONTEND_OUTPUTS: [&str; 3] = ["Region", "UserPoolId", "UserPoolClientId"];

fn parameters(t: &mut Template) {
    t.parameter(
        P_USER_POOL_ID,
        Parameter::string(
            "Cognito user pool id whose tokens the API accepts (e.g. us-east-1_AbC123xyz)",
        )
        .pattern(
            r"^[\w-]+_[0-9a-zA-Z]+$",
            "a Cognito user pool id such as us-east-1_AbC123xyz",
        )
        .length(1, 55),
    );
    t.parameter(
        P_USER_POOL_CLIENT_ID,
        Parameter::string(
            "Cognito app client ids whose tokens the API accepts (the JWT audience), separated by commas: the web app's first, then e.g. a mobile app's and the assistant backend's",
        )
        .pattern(
            CLIENT_IDS_PATTERN,
            "Cognito app client ids (letters, digits), separated by commas",
        )
        .length(1, 1024),
    );
    t.parameter(
        P_ARCHITECTURE,
        Parameter::string("CPU architecture of both functions")
            .allowed_values(&["arm64", "x86_64"])
            .default("arm64"),
    );
    t.parameter(
        P_CODE_BUCKET,
        Parameter::string("S3 bucket holding the function zips (managed by `cargo xtask deploy`)")
            .pattern(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", "an S3 bucket name"),
    );
    for f in crate::Function::ALL {
        let (p, what) = (f.code_key_parameter(), f.binary().replace('-', " "));
        t.parameter(
            p,
            Parameter::string(&format!("S3 key of the {what} zip (content-addressed)"))
                .pattern(r"^[A-Za-z0-9!_.*'()/-]+\.zip$", "an S3 key ending in .zip")
                .length(5, 1024),
        );
    }
    t.parameter(
        P_RESERVED_CONCURRENCY,
        // Lambda keeps at least 100 executions of the account's limit
        // unreserved, and new accounts often have a limit of 10 or 50, so
        // none is reserved by default; 450 each is the most two functions can
        // reserve under the default limit of 1,000
        // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
        Parameter::number(
            "Reserved concurrent executions of each function; 0 for none (the account's unreserved pool)",
        )
        .default(0i64)
        .range(0, 450),
    );
    t.parameter(
        P_ASSISTANT_WRITER_GROUP,
        // No spaces: the authorizer hands `cognito:groups` over as one
        // space-separated string.
        Parameter::string(
            "Cognito group (claim cognito:groups) whose members' tokens may write assistant and system turns and summaries (an OAuth scope does not count)",
        )
        .default(DEFAULT_ASSISTANT_WRITER_GROUP)
        .pattern(
            r"^[\w+=,.@/:-]+$",
            "a group name without spaces",
        )
        .length(1, 128),
    );
    t.parameter(
        P_TLS_TRUST_STORE,
        Parameter::string(
            "Roots the functions trust for AWS endpoints: amazon (Amazon Trust Services', the default), public (the public roots browsers trust; 2-4 ms more per cold start) or system (the OS store, for a private CA or a TLS-inspecting proxy)",
        )
        .default(TLS_TRUST_STORES[0])
        .allowed_values(&TLS_TRUST_STORES),
    );
    t.parameter(
        P_TRACING,
        Parameter::string(
            "Lambda active tracing: Active (X-Ray records sampled requests, about one a second plus 5%; see cost) or PassThrough (off)",
        )
        .default(TRACING_MODES[0])
        .allowed_values(&TRACING_MODES),
    );
    t.parameter(
        P_LOG_LEVEL,
        Parameter::string(
            "The functions' log level: info (one line per request, the default), warn (warnings and 5xx answers only), error, or debug (while investigating; more lines cost more)",
        )
        .default(LOG_LEVELS[0])
        .allowed_values(&LOG_LEVELS),
    );
    t.parameter(
        P_CORS_ALLOWED_ORIGINS,
        Parameter::string(
            "Browser origins (scheme://host[:port]) allowed to call the API, separated by commas; empty for none (no CORS)",
        )
        .default("")
        .pattern(cors::ORIGINS_PATTERN, "origins such as https://app.example.com, separated by commas, or empty")
        .length(0, 4096),
    );
    t.parameter(
        P_ROUTE_SCOPES,
        Parameter::string(
            "OAuth scopes (Cognito's resource-server/scope form) a token must carry one of, separated by commas; empty accepts id tokens (no scope check)",
        )
        .default("")
        .pattern(ROUTE_SCOPES_PATTERN, "scopes such as voice-learning/sessions, separated by commas, or empty")
        .length(0, 1024),
    );
    t.parameter(
        P_ALARM_EMAIL,
        Parameter::string("E-mail address for alarm notifications; empty for none")
            .default("")
            .pattern(
                r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
                "an e-mail address or empty",
            ),
    );
}

/// DynamoDB uses the tables' key with the role's own identity (forward
/// access): without these the role's GetItem/PutItem/Query on a table
/// encrypted with the customer-managed key answer "KMS key access denied".
/// The key policy's `TablesAndFunctionEnvironmentViaServices` statement
/// delegates to IAM (account root, `kms:ViaService`), so the grant is here,
/// per table, conditioned on DynamoDB in this region and that table's name
/// and account in the encryption context DynamoDB sends
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html;
/// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam).
fn table_key_statements(f: &FunctionSpec) -> Vec<Statement> {
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

fn account_root() -> Expr {
    arn("iam::${AWS::AccountId}:root")
}

fn role_arn(role_name: &str) -> Expr {
    arn(&format!("iam::${{AWS::AccountId}}:role/{role_name}"))
}

/// The HTTP API's access-log group.
/// The HTTP API's access-log group (`logs --source api` reads it).
pub fn api_access_log_group(n: &Names) -> String {
    format!("/aws/vendedlogs/apigateway/{}", n.api)
}

fn key(t: &mut Template, n: &Names, functions: &[FunctionSpec]) {
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
            role_arn(n.role_for(f.name)),
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

fn attr(name: &str, kind: AttributeType) -> AttributeDefinition {
    AttributeDefinition {
        attribute_name: name.to_string(),
        attribute_type: kind,
    }
}

fn key_el(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement {
        attribute_name: name.to_string(),
        key_type,
    }
}

fn table_common(
    name: &str,
    attrs: Vec<AttributeDefinition>,
    key_schema: Vec<KeySchemaElement>,
    gsis: Vec<GlobalSecondaryIndex>,
) -> Table {
    Table {
        table_name: name.to_string(),
        billing_mode: "PAY_PER_REQUEST".into(),
        attribute_definitions: attrs,
        key_schema,
        global_secondary_indexes: gsis,
        point_in_time_recovery_specification: PointInTimeRecoverySpecification {
            point_in_time_recovery_enabled: true,
        },
        sse_specification: SseSpecification {
            sse_enabled: true,
            sse_type: "KMS".into(),
            kms_master_key_id: r#ref(KEY),
        },
        time_to_live_specification: TimeToLiveSpecification {
            attribute_name: "expiresAt".into(),
            enabled: true,
        },
        deletion_protection_enabled: true,
        tags: None,
    }
}

fn tables(t: &mut Template, n: &Names) {
    t.resource(
        SESSIONS_TABLE,
        Resource::new(table_common(
            &n.sessions_table,
            vec![
                attr("sessionId", AttributeType::S),
                attr("sk", AttributeType::S),
                attr("updatedAt", AttributeType::S),
                attr("userId", AttributeType::S),
            ],
            vec![
                key_el("sessionId", KeyType::Hash),
                key_el("sk", KeyType::Range),
            ],
            vec![GlobalSecondaryIndex {
                index_name: n.user_session_index.clone(),
                key_schema: vec![
                    key_el("userId", KeyType::Hash),
                    key_el("updatedAt", KeyType::Range),
                ],
                projection: Projection {
                    projection_type: ProjectionType::Include,
                    non_key_attributes: USER_SESSION_INDEX_PROJECTION
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                },
            }],
        ))
        .retain(),
    );
    t.resource(
        USER_PROFILES_TABLE,
        Resource::new(table_common(
            &n.user_profiles_table,
            vec![attr("userId", AttributeType::S)],
            vec![key_el("userId", KeyType::Hash)],
            vec![],
        ))
        .retain(),
    );
}

fn function(t: &mut Template, n: &Names, f: &FunctionSpec) {
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
            role_name: n.role_for(f.name).to_string(),
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

fn http_api(t: &mut Template, n: &Names, functions: &[FunctionSpec]) {
    t.resource(
        HTTP_API,
        Resource::new(HttpApi {
            name: n.api.clone(),
            description: "Voice learning session management API (Cognito JWT)".into(),
            protocol_type: "HTTP".into(),
            cors_configuration: Some(if_(
                C_HAS_CORS,
                map([
                    (
                        "AllowOrigins",
                        Expr::Split(",".into(), Box::new(r#ref(P_CORS_ALLOWED_ORIGINS))),
                    ),
                    ("AllowHeaders", list(cors::ALLOW_HEADERS.map(s))),
                    ("AllowMethods", list(cors::ALLOW_METHODS.map(s))),
                    ("ExposeHeaders", list(cors::EXPOSE_HEADERS.map(s))),
                    ("MaxAge", Expr::Int(cors::MAX_AGE_SECONDS)),
                ]),
                no_value(),
            )),
            tags: None,
        }),
    );
    t.resource(
        AUTHORIZER,
        Resource::new(Authorizer {
            api_id: r#ref(HTTP_API),
            name: "CognitoJwt".into(),
            authorizer_type: "JWT".into(),
            identity_source: vec!["$request.header.Authorization".into()],
            jwt_configuration: JwtConfiguration {
                audience: Expr::Split(",".into(), Box::new(r#ref(P_USER_POOL_CLIENT_ID))),
                // Cognito's issuer names the pool's own region, the prefix of
                // its id (`us-east-1_AbC123xyz`), which need not be the
                // stack's (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html).
                issuer: join(
                    "",
                    vec![
                        s("https://cognito-idp."),
                        Expr::Select(
                            0,
                            Box::new(Expr::Split("_".into(), Box::new(r#ref(P_USER_POOL_ID)))),
                        ),
                        s("."),
                        r#ref("AWS::URLSuffix"),
                        s("/"),
                        r#ref(P_USER_POOL_ID),
                    ],
                ),
            },
        }),
    );
    for f in functions {
        let fn_id = format!("{}Function", f.function.id_prefix());
        let integration_id = format!("{}Integration", f.function.id_prefix());
        t.resource(
            &integration_id,
            Resource::new(Integration {
                api_id: r#ref(HTTP_API),
                integration_type: "AWS_PROXY".into(),
                integration_uri: get_att(&fn_id, "Arn"),
                payload_format_version: "2.0".into(),
                timeout_in_millis: (FUNCTION_TIMEOUT_SECONDS + 1) * 1000,
            }),
        );
        t.resource(
            &format!("{}Route", f.function.id_prefix()),
            Resource::new(Route {
                api_id: r#ref(HTTP_API),
                route_key: f.function.route_key().into(),
                authorization_type: "JWT".into(),
                authorizer_id: r#ref(AUTHORIZER),
                // With scopes, the token's `scope` claim must hold one of
                // them, which only access tokens have: id tokens get 403
                // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
                authorization_scopes: Some(if_(
                    C_HAS_ROUTE_SCOPES,
                    Expr::Split(",".into(), Box::new(r#ref(P_ROUTE_SCOPES))),
                    no_value(),
                )),
                target: join("/", vec![s("integrations"), r#ref(&integration_id)]),
            }),
        );
        let path = f.function.path();
        t.resource(
            &format!("{}InvokePermission", f.function.id_prefix()),
            Resource::new(Permission {
                action: "lambda:InvokeFunction".into(),
                function_name: r#ref(&fn_id),
                principal: "apigateway.amazonaws.com".into(),
                source_arn: arn(&format!(
                    "execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{HTTP_API}}}/*/POST{path}"
                )),
            }),
        );
    }
    t.resource(
        "HttpApiAccessLogGroup",
        Resource::new(LogGroup {
            // Access logs are delivered by the logs service, which adds each
            // destination to the account's Logs resource policy (5,120
            // characters at most) unless its name starts with
            // `/aws/vendedlogs/` (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html).
            log_group_name: api_access_log_group(n),
            retention_in_days: LOG_RETENTION_DAYS,
            kms_key_id: get_att(KEY, "Arn"),
            tags: None,
        })
        .delete_with_stack(),
    );
    let access_format = serde_json::json!({
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latency": "$context.responseLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
        "sub": "$context.authorizer.claims.sub",
    });
    t.resource(
        API_STAGE,
        Resource::new(ApiStage {
            api_id: r#ref(HTTP_API),
            stage_name: "$default".into(),
            auto_deploy: true,
            access_log_settings: AccessLogSettings {
                destination_arn: get_att("HttpApiAccessLogGroup", "Arn"),
                format: access_format.to_string(),
            },
            default_route_settings: RouteSettings {
                throttling_burst_limit: THROTTLE_BURST,
                throttling_rate_limit: THROTTLE_RATE,
                detailed_metrics_enabled: false,
            },
            tags: None,
        }),
    );
}

/// The metric the functions publish (CloudWatch embedded metric format,
/// dimension `FunctionName`) when an endpoint's certificate does not chain
/// to a trusted root (`functions::error`; a test keeps them equal).
pub const UNTRUSTED_CERTIFICATE: &str = "UntrustedCertificate";

fn alarm_actions() -> Expr {
    list([r#ref(ALARM_TOPIC)])
}

#[allow(clippy::too_many_arguments)]
fn alarm(
    name: String,
    description: String,
    namespace: &str,
    metric: &str,
    dimension: Option<(&str, Expr)>,
    statistic: &str,
    threshold: f64,
    evaluation_periods: i64,
) -> Alarm {
    let extended = statistic.starts_with('p');
    Alarm {
        alarm_name: name,
        alarm_description: description,
        namespace: namespace.into(),
        metric_name: metric.into(),
        dimensions: dimension
            .into_iter()
            .map(|(name, value)| Dimension {
                name: name.into(),
                value,
            })
            .collect(),
        statistic: (!extended).then(|| statistic.to_string()),
        extended_statistic: extended.then(|| statistic.to_string()),
        period: 300,
        evaluation_periods,
        threshold,
        comparison_operator: "GreaterThanOrEqualToThreshold".into(),
        treat_missing_data: "notBreaching".into(),
        alarm_actions: alarm_actions(),
        ok_actions: alarm_actions(),
        tags: None,
    }
}

fn monitoring(t: &mut Template, n: &Names, functions: &[FunctionSpec]) {
    t.resource(
        ALARM_TOPIC,
        Resource::new(Topic {
            topic_name: format!("{}-alarms", n.api),
            display_name: "Voice learning session alarms".into(),
            kms_master_key_id: r#ref(KEY),
            tags: None,
        }),
        // Always there, so a chat integration (AWS Chatbot, a webhook
        // subscriber) can page through it without an e-mail address.
    );
    t.resource(
        "AlarmEmailSubscription",
        Resource::new(Subscription {
            protocol: "email".into(),
            endpoint: r#ref(P_ALARM_EMAIL),
            topic_arn: r#ref(ALARM_TOPIC),
        })
        .condition(C_HAS_ALARM_EMAIL),
    );
    let p99_ms = (FUNCTION_TIMEOUT_SECONDS * 1000) as f64 * 0.8;
    // (logical id suffix, name suffix, what it means, metric, statistic, threshold, periods)
    let per_function: [(&str, &str, String, &str, &str, f64, i64); 3] = [
        (
            "ErrorsAlarm",
            "errors",
            "returned errors (unhandled failures)".into(),
            "Errors",
            "Sum",
            1.0,
            1,
        ),
        (
            "ThrottlesAlarm",
            "throttles",
            "was throttled: raise ReservedConcurrency".into(),
            "Throttles",
            "Sum",
            1.0,
            1,
        ),
        (
            "DurationP99Alarm",
            "duration-p99",
            format!("p99 duration is above 80% of its {FUNCTION_TIMEOUT_SECONDS}s timeout"),
            "Duration",
            "p99",
            p99_ms,
            3,
        ),
    ];
    for f in functions {
        t.resource(
            &format!("{}UntrustedCertificateAlarm", f.function.id_prefix()),
            Resource::new(alarm(
                format!("{}-untrusted-certificate", f.name),
                format!(
                    "{} met an AWS endpoint whose TLS certificate its trust store refuses (every call fails): see the hint in its log; deploy with TlsTrustStore=system behind a TLS-inspecting proxy",
                    f.name
                ),
                METRIC_NAMESPACE,
                UNTRUSTED_CERTIFICATE,
                Some(("FunctionName", s(f.name.to_string()))),
                "Sum",
                1.0,
                1,
            )),
        );
        for (id_suffix, name_suffix, meaning, metric, statistic, threshold, periods) in
            &per_function
        {
            t.resource(
                &format!("{}{id_suffix}", f.function.id_prefix()),
                Resource::new(alarm(
                    format!("{}-{name_suffix}", f.name),
                    format!("{} {meaning}", f.name),
                    "AWS/Lambda",
                    metric,
                    Some(("FunctionName", s(f.name.to_string()))),
                    statistic,
                    *threshold,
                    *periods,
                )),
            );
        }
    }
    // DynamoDB throttling (on-demand tables throttle past their account or
    // partition limits): any read or write throttle event in 5 minutes.
    for (table_id, table) in [
        (SESSIONS_TABLE, &n.sessions_table),
        (USER_PROFILES_TABLE, &n.user_profiles_table),
    ] {
        for (kind, metric) in [
            ("Read", "ReadThrottleEvents"),
            ("Write", "WriteThrottleEvents"),
        ] {
            t.resource(
                &format!("{table_id}{kind}ThrottleAlarm"),
                Resource::new(alarm(
                    format!("{table}-{}-throttles", kind.to_ascii_lowercase()),
                    format!("{table} throttled {} requests: the functions answer 503 and clients retry; see the runbook", kind.to_ascii_lowercase()),
                    "AWS/DynamoDB",
                    metric,
                    Some(("TableName", r#ref(table_id))),
                    "Sum",
                    1.0,
                    1,
                )),
            );
        }
    }
    t.resource(
        "HttpApi4xxSurgeAlarm",
        Resource::new(alarm(
            format!("{}-4xx-surge", n.api),
            format!("The HTTP API answered {HTTP_4XX_SURGE} or more 4xx in 5 minutes, twice in a row (expired tokens after a client release, a broken client, or someone probing): see the runbook"),
            "AWS/ApiGateway",
            "4xx",
            Some(("ApiId", r#ref(HTTP_API))),
            "Sum",
            HTTP_4XX_SURGE,
            2,
        )),
    );
    t.resource(
        "HttpApi5xxAlarm",
        Resource::new(alarm(
            format!("{}-5xx", n.api),
            "The HTTP API answered 5xx".into(),
            "AWS/ApiGateway",
            "5xx",
            Some(("ApiId", r#ref(HTTP_API))),
            "Sum",
            5.0,
            1,
        )),
    );
    t.resource(
        "Dashboard",
        Resource::new(Dashboard {
            dashboard_name: n.dashboard.clone(),
            dashboard_body: sub(dashboard_body(n)),
            tags: None,
        }),
    );
}

/// The dashboard JSON, as a `Fn::Sub` string (`${AWS::Region}`, `${HttpApi}`).
fn dashboard_body(n: &Names) -> String {
    use serde_json::json;
    let region = "${AWS::Region}";
    let fns = n.functions();
    let per_fn = |metric: &str, stat: &str| -> Vec<serde_json::Value> {
        fns.iter()
            .map(|f| json!(["AWS/Lambda", metric, "FunctionName", f, {"stat": stat, "label": format!("{f} {stat}")}]))
            .collect()
    };
    let per_table = |metric: &str| -> Vec<serde_json::Value> {
        [&n.sessions_table, &n.user_profiles_table]
            .iter()
            .map(|tb| json!(["AWS/DynamoDB", metric, "TableName", tb, {"stat": "Sum"}]))
            .collect()
    };
    let widget = |x: i64, y: i64, title: &str, metrics: Vec<serde_json::Value>| {
        json!({
            "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": {"title": title, "region": region, "view": "timeSeries", "stacked": false, "period": 300, "metrics": metrics}
        })
    };
    let mut duration = per_fn("Duration", "p50");
    duration.extend(per_fn("Duration", "p99"));
    // DynamoDB publishes ThrottledRequests and SystemErrors per TableName
    // *and* Operation, so a TableName-only metric is empty; the throttle
    // events exist per table, and a SEARCH sums system errors over the
    // operations (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html,
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html).
    let mut table_throttles = per_table("ReadThrottleEvents");
    table_throttles.extend(per_table("WriteThrottleEvents"));
    for (i, tb) in [&n.sessions_table, &n.user_profiles_table]
        .iter()
        .enumerate()
    {
        table_throttles.push(json!([{
            "expression": format!(
                "SUM(SEARCH('{{AWS/DynamoDB,Operation,TableName}} MetricName=\"SystemErrors\" TableName=\"{tb}\"', 'Sum', 300))"
            ),
            "label": format!("{tb} SystemErrors"),
            "id": format!("systemErrors{i}"),
        }]));
    }
    let api = |metric: &str, stat: &str| json!(["AWS/ApiGateway", metric, "ApiId", "${HttpApi}", {"stat": stat}]);
    let body = json!({
        "widgets": [
            widget(0, 0, "Lambda invocations", per_fn("Invocations", "Sum")),
            widget(12, 0, "Lambda errors", per_fn("Errors", "Sum")),
            widget(0, 6, "Lambda duration p50 / p99 (ms)", duration),
            widget(12, 6, "Lambda throttles", per_fn("Throttles", "Sum")),
            widget(0, 12, "DynamoDB consumed read units", per_table("ConsumedReadCapacityUnits")),
            widget(12, 12, "DynamoDB consumed write units", per_table("ConsumedWriteCapacityUnits")),
            widget(0, 18, "DynamoDB throttle events and system errors", table_throttles),
            widget(12, 18, "HTTP API 4xx / 5xx", vec![api("4xx", "Sum"), api("5xx", "Sum")]),
            widget(0, 24, "HTTP API latency (ms)", vec![api("Latency", "p50"), api("Latency", "p99")]),
        ]
    });
    body.to_string()
}
