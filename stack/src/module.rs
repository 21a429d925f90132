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

mod api;
mod functions;
mod key;
mod monitoring;
mod parameters;
mod tables;

pub use api::api_access_log_group;
use api::*;
use functions::*;
use key::*;
pub use monitoring::UNTRUSTED_CERTIFICATE;
use monitoring::*;
use parameters::*;
use tables::*;

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

pub use crate::ids;
use ids::*;

/// Function timeout in seconds; the p99 alarm fires at 80% of it.
pub const FUNCTION_TIMEOUT_SECONDS: i64 = 10;
/// Each function's memory size unless its `<Function>MemorySize` parameter
/// says otherwise (`cargo xtask tune` measures the choice).
pub const FUNCTION_MEMORY_MB: i64 = 256;
/// Lambda's memory range, in MB
/// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
pub const FUNCTION_MEMORY_RANGE_MB: (i64, i64) = (128, 10_240);
pub const LOG_RETENTION_DAYS: i64 = 30;
/// The longest code key (`code/<sha256>.zip` is 73 characters).
pub const CODE_KEY_MAX_LENGTH: u32 = 80;
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
