//! AWS configuration, the early credentials check, and turning SDK errors
//! into one sentence saying what to do.
//!
//! Credentials and region come from the standard chain (aws-config):
//! environment, `AWS_PROFILE`, SSO, process credentials, container and
//! instance metadata; an explicit `--profile` is used alone, before the
//! environment's keys. `--region` and `--endpoint-url` override.

use crate::error::{failed, Error, Result};
use crate::options::{valid_region, AwsOptions};
use crate::record::recorded_client;
use crate::text::short;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::config::{ProvideCredentials, Region};
use std::error::Error as StdError;
use std::fmt::Debug;
use std::time::Duration;

/// Clients for one account and region, after the credentials check.
#[derive(Clone)]
pub struct Aws {
    pub account: String,
    pub region: String,
    /// `--endpoint-url`, when given (an emulator or a proxy).
    pub endpoint_url: Option<String>,
    /// The loaded configuration, for clients beyond these (e.g. `verify`).
    pub conf: aws_config::SdkConfig,
    pub cfn: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

/// Where requests go, for error messages.
#[derive(Debug, Clone)]
pub struct Target {
    pub region: String,
    pub endpoint_url: Option<String>,
}

impl Target {
    /// ` --region R` (and ` --endpoint-url U`) for the AWS CLI commands
    /// the messages print.
    pub fn cli_suffix(&self) -> String {
        let mut s = format!(" --region {}", self.region);
        if let Some(u) = &self.endpoint_url {
            s.push_str(&format!(" --endpoint-url {u}"));
        }
        s
    }
}

impl Aws {
    /// ` --region R` (and ` --endpoint-url U`) for the AWS CLI commands
    /// the messages print.
    pub fn cli_target(&self) -> String {
        self.target().cli_suffix()
    }

    /// Clients for `conf`, without the credentials check (tests on an emulator).
    pub fn from_conf(conf: aws_config::SdkConfig, account: &str) -> Aws {
        let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
        let mut s3conf = aws_sdk_s3::config::Builder::from(&conf);
        if conf.endpoint_url().is_some() {
            s3conf = s3conf.force_path_style(true);
        }
        Aws {
            account: account.to_string(),
            region,
            endpoint_url: conf.endpoint_url().map(str::to_string),
            cfn: crate::record::recorded_client!(aws_sdk_cloudformation, &conf),
            s3: aws_sdk_s3::Client::from_conf(s3conf.build()),
            dynamodb: crate::record::recorded_client!(aws_sdk_dynamodb, &conf),
            conf,
        }
    }

    pub fn target(&self) -> Target {
        Target {
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

/// Loads the configuration, checks the credentials with STS
/// GetCallerIdentity, and builds the clients deploy, diff and destroy use.
pub async fn connect(args: &AwsOptions) -> Result<Aws> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(4));
    if let Some(r) = &args.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(p) = &args.profile {
        // An explicit profile wins over keys in the environment (as with the
        // AWS CLI and CDK): the default chain would read the environment first.
        loader = loader.profile_name(p).credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(p)
                .build(),
        );
    }
    if let Some((id, secret)) = &args.static_credentials {
        loader = loader.credentials_provider(aws_sdk_sts::config::Credentials::new(
            id, secret, None, None, "static",
        ));
    }
    if let Some(u) = &args.endpoint_url {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(failed!(kind = InvalidInput,
                "--endpoint-url `{u}` is not a URL: give it as http://HOST:PORT or https://HOST (e.g. http://127.0.0.1:5000 for a local emulator)."
            ));
        }
        loader = loader.endpoint_url(u);
    }
    let conf = loader.load().await;
    let profile_hint = args
        .profile
        .as_ref()
        .map(|p| format!(" --profile {p}"))
        .unwrap_or_default();

    let region = match conf.region() {
        Some(r) => r.to_string(),
        None => {
            return Err(failed!(kind = InvalidInput,
                "No AWS region is configured: pass --region (e.g. --region us-east-1), set AWS_REGION, or set `region` in your AWS profile."
            ))
        }
    };
    if !valid_region(&region) {
        return Err(failed!(kind = InvalidInput,
            "`{region}` is not an AWS region name: pass a region such as us-east-1 or eu-west-1 with --region or AWS_REGION."
        ));
    }

    // Credentials first, so a missing or broken profile is named as such.
    let Some(provider) = conf.credentials_provider() else {
        return Err(no_credentials(
            &profile_hint,
            "no credentials provider is configured",
        ));
    };
    if let Err(e) = provider.provide_credentials().await {
        let detail = error_chain(&e);
        if detail.to_ascii_lowercase().contains("expired") {
            return Err(failed!(kind = Credentials,
                "Your AWS credentials have expired: refresh them (e.g. `aws sso login{profile_hint}` or new keys) and run again."
            ));
        }
        return Err(no_credentials(&profile_hint, &detail));
    }

    let target = Target {
        region: region.clone(),
        endpoint_url: args.endpoint_url.clone(),
    };
    let sts: aws_sdk_sts::Client = recorded_client!(aws_sdk_sts, &conf);
    let identity = sts.get_caller_identity().send().await.map_err(|e| {
        explain(
            e,
            "checking your AWS credentials (STS GetCallerIdentity)",
            &target,
        )
    })?;
    let account = identity.account().unwrap_or_default().to_string();
    if account.is_empty() {
        return Err(failed!(
            "STS GetCallerIdentity returned no account id; check that {} is an AWS-compatible endpoint.",
            target.endpoint_url.as_deref().unwrap_or("the endpoint")
        ));
    }

    let mut s3conf = aws_sdk_s3::config::Builder::from(&conf);
    if args.endpoint_url.is_some() {
        // Emulators and proxies serve buckets under the path, not as subdomains.
        s3conf = s3conf.force_path_style(true);
    }
    if let Some(i) = crate::record::interceptor() {
        s3conf.push_interceptor(i);
    }
    Ok(Aws {
        account,
        region,
        endpoint_url: args.endpoint_url.clone(),
        cfn: recorded_client!(aws_sdk_cloudformation, &conf),
        s3: aws_sdk_s3::Client::from_conf(s3conf.build()),
        dynamodb: recorded_client!(aws_sdk_dynamodb, &conf),
        conf,
    })
}

/// No credentials: what to run, naming the profile; the chain's own detail only when it says something.
pub fn no_credentials(profile_hint: &str, detail: &str) -> Error {
    // The chain's own wording is useful only when it names a specific problem
    // (a broken profile, an SSO session), not for "nothing found" or IMDS noise.
    let lower = detail.to_ascii_lowercase();
    let noise = lower.contains("imds")
        || lower.contains("no credentials found in chain")
        || lower.contains("not enabled");
    let why = if noise {
        String::new()
    } else {
        format!(" ({})", short(detail.lines().next().unwrap_or(detail), 160))
    };
    let whose = if profile_hint.is_empty() {
        String::new()
    } else {
        format!(
            " for{} (is that profile in ~/.aws/config or ~/.aws/credentials?)",
            profile_hint.replace(" --profile", " profile")
        )
    };
    failed!(kind = Credentials,
        "No usable AWS credentials were found{whose}{why}: run `aws configure{profile_hint}` or `aws sso login{profile_hint}`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then run again."
    )
}

/// The error and its sources on one line.
pub fn error_chain(e: &dyn StdError) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.contains(&t) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// True when the service said the stack (or change set) does not exist.
pub fn is_not_found<E, R>(e: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let msg = err.message().unwrap_or_default();
            (err.code() == Some("ValidationError") && msg.contains("does not exist"))
                || err.code() == Some("ChangeSetNotFound")
                || err.code() == Some("NotFound")
                || err.code() == Some("NoSuchKey")
                || err.code() == Some("NoSuchBucket")
        }
        _ => false,
    }
}

/// One sentence for an SDK error: what failed and what to do.
pub fn explain<E, R>(e: SdkError<E, R>, doing: &str, target: &Target) -> Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let chain = error_chain(&e);
    let where_ = match &target.endpoint_url {
        Some(u) => format!("the endpoint {u}"),
        None => format!("AWS in region {}", target.region),
    };
    match &e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            let lower = chain.to_ascii_lowercase();
            if lower.contains("credential") {
                return failed!(kind = Credentials,
                    "No usable AWS credentials while {doing}: run `aws configure` or `aws sso login`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
                );
            }
            match &target.endpoint_url {
                Some(u) => failed!(kind = Unreachable,
                    "Cannot reach {u} while {doing}: check --endpoint-url / AWS_ENDPOINT_URL and that the endpoint (e.g. the emulator) is running."
                ),
                None => failed!(kind = Unreachable,
                    "Cannot reach AWS in region `{}` while {doing}: check that the region is right (--region / AWS_REGION) and that this machine has network access.",
                    target.region
                ),
            }
        }
        SdkError::ServiceError(s) => {
            let err = s.err();
            let code = err.code().unwrap_or("Unknown");
            let msg = err.message().unwrap_or_default();
            match code {
                "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" | "TokenRefreshRequired" => failed!(kind = Credentials,
                    "Your AWS credentials have expired ({code}): refresh them (e.g. `aws sso login`) and run again."
                ),
                "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" | "InvalidAccessKeyId" | "IncompleteSignature" => failed!(kind = Credentials,
                    "{where_} rejected your AWS credentials ({code}) while {doing}: check the access key, profile and region, and run again."
                ),
                "AccessDenied" | "AccessDeniedException" | "AuthorizationError" | "UnauthorizedOperation" => failed!(kind = AccessDenied,
                    "Access denied while {doing}: the caller needs permission for it ({})",
                    short(msg, 200)
                ),
                _ => failed!("{doing} failed: {code}: {msg}"),
            }
        }
        _ => failed!("{doing} failed: {}", short(&chain, 300)),
    }
}

/// True when waiting and asking again may succeed, by the SDK's own
/// classification: throttling and transient error codes (the lists the SDK's
/// retry classifier uses), a retryable modeled error, a 5xx, a timeout, an
/// I/O failure or a dispatch error the connector marked retryable. Access,
/// validation and credential errors are not: waiting does not fix them.
pub fn is_transient<E>(e: &SdkError<E, aws_sdk_cloudformation::config::http::HttpResponse>) -> bool
where
    E: aws_smithy_types::retry::ProvideErrorKind,
{
    use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
    use aws_smithy_types::retry::{ErrorKind, ProvideErrorKind};
    match e {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(d) => {
            d.is_io() || d.is_timeout() || d.as_other().is_some_and(|k| k != ErrorKind::ClientError)
        }
        SdkError::ServiceError(s) => {
            let err = s.err();
            let code = ProvideErrorKind::code(err).unwrap_or_default();
            THROTTLING_ERRORS.contains(&code)
                || TRANSIENT_ERRORS.contains(&code)
                || err
                    .retryable_error_kind()
                    .is_some_and(|k| k != ErrorKind::ClientError)
                || s.raw().status().is_server_error()
        }
        _ => false,
    }
}
