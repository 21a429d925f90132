//! The template's parameters and conditions.

use super::*;

pub(super) fn parameters(t: &mut Template) {
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
                // At most 80: the version's description (at most 256
                // characters) holds it with the other versioned parameters.
                .length(5, CODE_KEY_MAX_LENGTH),
        );
    }
    for f in crate::Function::ALL {
        let what = f.binary().replace('-', " ");
        t.parameter(
            f.memory_parameter(),
            Parameter::number(&format!(
                "Memory of the {what} function in MB (CPU grows with it); `cargo xtask tune` measures the sizes"
            ))
            .default(FUNCTION_MEMORY_MB)
            .range(FUNCTION_MEMORY_RANGE_MB.0, FUNCTION_MEMORY_RANGE_MB.1),
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
