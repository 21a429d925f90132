//! AWS configuration, the early credentials check, and turning SDK errors
//! into one sentence saying what to do.
//!
//! Credentials and region come from the standard chain (aws-config):
//! environment, `--profile` / `AWS_PROFILE`, SSO, process credentials,
//! container and instance metadata. `--region` and `--endpoint-url` override.

use crate::cli::AwsArgs;
use anyhow::{anyhow, Result};
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

impl Aws {
    pub fn target(&self) -> Target {
        Target {
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

/// A plausible region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`).
pub fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_lowercase()))
}

/// Loads the configuration, checks the credentials with STS
/// GetCallerIdentity, and builds the clients deploy, diff and destroy use.
pub async fn connect(args: &AwsArgs) -> Result<Aws> {
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
        loader = loader.profile_name(p);
    }
    if let Some(u) = &args.endpoint_url {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(anyhow!(
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
            return Err(anyhow!(
                "No AWS region is configured: pass --region (e.g. --region us-east-1), set AWS_REGION, or set `region` in your AWS profile."
            ))
        }
    };
    if !valid_region(&region) {
        return Err(anyhow!(
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
            return Err(anyhow!(
                "Your AWS credentials have expired: refresh them (e.g. `aws sso login{profile_hint}` or new keys) and run again."
            ));
        }
        return Err(no_credentials(&profile_hint, &detail));
    }

    let target = Target {
        region: region.clone(),
        endpoint_url: args.endpoint_url.clone(),
    };
    let sts: aws_sdk_sts::Client = crate::recorded_client!(aws_sdk_sts, &conf);
    let identity = sts.get_caller_identity().send().await.map_err(|e| {
        explain(
            e,
            "checking your AWS credentials (STS GetCallerIdentity)",
            &target,
        )
    })?;
    let account = identity.account().unwrap_or_default().to_string();
    if account.is_empty() {
        return Err(anyhow!(
            "STS GetCallerIdentity returned no account id; check that {} is an AWS-compatible endpoint.",
            target.endpoint_url.as_deref().unwrap_or("the endpoint")
        ));
    }

    let mut s3conf = aws_sdk_s3::config::Builder::from(&conf);
    if args.endpoint_url.is_some() {
        // Emulators and proxies serve buckets under the path, not as subdomains.
        s3conf = s3conf.force_path_style(true);
    }
    if let Some(i) = super::record::interceptor() {
        s3conf.push_interceptor(i);
    }
    Ok(Aws {
        account,
        region,
        endpoint_url: args.endpoint_url.clone(),
        cfn: crate::recorded_client!(aws_sdk_cloudformation, &conf),
        s3: aws_sdk_s3::Client::from_conf(s3conf.build()),
        dynamodb: crate::recorded_client!(aws_sdk_dynamodb, &conf),
        conf,
    })
}

fn no_credentials(profile_hint: &str, detail: &str) -> anyhow::Error {
    // The chain's own wording is useful only when it names a specific problem
    // (a broken profile, an SSO session), not for "nothing found" or IMDS noise.
    let lower = detail.to_ascii_lowercase();
    let noise = lower.contains("imds")
        || lower.contains("no credentials found in chain")
        || lower.contains("not enabled");
    let why = if noise {
        String::new()
    } else {
        format!(
            " ({})",
            crate::deploy::ui::short(detail.lines().next().unwrap_or(detail), 160)
        )
    };
    let whose = if profile_hint.is_empty() {
        String::new()
    } else {
        format!(
            " for{} (is that profile in ~/.aws/config or ~/.aws/credentials?)",
            profile_hint.replace(" --profile", " profile")
        )
    };
    anyhow!(
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
pub fn explain<E, R>(e: SdkError<E, R>, doing: &str, target: &Target) -> anyhow::Error
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
                return anyhow!(
                    "No usable AWS credentials while {doing}: run `aws configure` or `aws sso login`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
                );
            }
            match &target.endpoint_url {
                Some(u) => anyhow!(
                    "Cannot reach {u} while {doing}: check --endpoint-url / AWS_ENDPOINT_URL and that the endpoint (e.g. the emulator) is running."
                ),
                None => anyhow!(
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
                "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" | "TokenRefreshRequired" => anyhow!(
                    "Your AWS credentials have expired ({code}): refresh them (e.g. `aws sso login`) and run again."
                ),
                "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" | "InvalidAccessKeyId" | "IncompleteSignature" => anyhow!(
                    "{where_} rejected your AWS credentials ({code}) while {doing}: check the access key, profile and region, and run again."
                ),
                "AccessDenied" | "AccessDeniedException" | "AuthorizationError" | "UnauthorizedOperation" => anyhow!(
                    "Access denied while {doing}: the caller needs permission for it ({})",
                    crate::deploy::ui::short(msg, 200)
                ),
                _ => anyhow!("{doing} failed: {code}: {msg}"),
            }
        }
        _ => anyhow!("{doing} failed: {}", crate::deploy::ui::short(&chain, 300)),
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

#[cfg(test)]
mod tests {
    use super::*;

    use aws_sdk_sts::config::http::HttpResponse;
    use aws_sdk_sts::error::ErrorMetadata;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
    use aws_smithy_types::body::SdkBody;

    fn service_error(code: &str) -> SdkError<GetCallerIdentityError, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("details from the service")
            .build();
        SdkError::service_error(
            GetCallerIdentityError::generic(meta),
            HttpResponse::new(403u16.try_into().unwrap(), SdkBody::empty()),
        )
    }

    fn target(endpoint: Option<&str>) -> Target {
        Target {
            region: "eu-west-1".into(),
            endpoint_url: endpoint.map(str::to_string),
        }
    }

    #[test]
    fn sdk_errors_become_one_sentence_with_what_to_do() {
        let t = target(None);
        let e = explain(service_error("ExpiredToken"), "checking", &t).to_string();
        assert!(
            e.contains("have expired") && e.contains("aws sso login"),
            "{e}"
        );
        let e = explain(service_error("InvalidClientTokenId"), "checking", &t).to_string();
        assert!(
            e.contains("rejected your AWS credentials") && e.contains("AWS in region eu-west-1"),
            "{e}"
        );
        let e = explain(service_error("AccessDenied"), "creating the change set", &t).to_string();
        assert!(
            e.starts_with("Access denied while creating the change set"),
            "{e}"
        );
        let e = explain(service_error("Throttling"), "reading", &t).to_string();
        assert!(e.contains("Throttling: details from the service"), "{e}");
        let timeout: SdkError<GetCallerIdentityError, HttpResponse> =
            SdkError::timeout_error("timed out");
        let e = explain(timeout, "checking", &t).to_string();
        assert!(
            e.contains("Cannot reach AWS in region `eu-west-1`") && e.contains("--region"),
            "{e}"
        );
        let timeout: SdkError<GetCallerIdentityError, HttpResponse> =
            SdkError::timeout_error("timed out");
        let e = explain(timeout, "checking", &target(Some("http://127.0.0.1:9"))).to_string();
        assert!(
            e.contains("Cannot reach http://127.0.0.1:9") && e.contains("--endpoint-url"),
            "{e}"
        );
        for e in [
            no_credentials("", "no credentials found in chain"),
            no_credentials(" --profile p", "IMDS disabled"),
        ] {
            let e = e.to_string();
            assert!(!e.contains("IMDS") && !e.contains("chain"), "{e}");
            assert!(e.contains("aws configure"), "{e}");
        }
        let e = no_credentials("", "the SSO session has expired").to_string();
        assert!(e.contains("(the SSO session has expired)"), "{e}");
    }

    #[test]
    fn transient_errors_are_told_apart_from_ones_waiting_cannot_fix() {
        use aws_sdk_sts::error::ConnectorError;
        let with_status = |code: &str, status: u16| {
            let meta = ErrorMetadata::builder().code(code).build();
            SdkError::service_error(
                GetCallerIdentityError::generic(meta),
                HttpResponse::new(status.try_into().unwrap(), SdkBody::empty()),
            )
        };
        for (code, status) in [
            ("Throttling", 400),
            ("ThrottlingException", 400),
            ("RequestLimitExceeded", 400),
            ("RequestTimeout", 400),
            ("InternalFailure", 500),
            ("ServiceUnavailable", 503),
        ] {
            assert!(is_transient(&with_status(code, status)), "{code}");
        }
        for (code, status) in [
            ("AccessDenied", 403),
            ("ValidationError", 400),
            ("ExpiredToken", 403),
        ] {
            assert!(!is_transient(&with_status(code, status)), "{code}");
        }
        let timeout: SdkError<GetCallerIdentityError, HttpResponse> =
            SdkError::timeout_error("timed out");
        assert!(is_transient(&timeout));
        let io: SdkError<GetCallerIdentityError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("connection reset".into()));
        assert!(is_transient(&io));
        // How a credentials failure surfaces: an unclassified dispatch error.
        let creds: SdkError<GetCallerIdentityError, HttpResponse> = SdkError::dispatch_failure(
            ConnectorError::other("no credentials in the chain".into(), None),
        );
        assert!(!is_transient(&creds));
    }

    #[test]
    fn region_names() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
            "cn-north-1",
        ] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "useast1",
            "US-EAST-1",
            "us_east_1",
            "us-east-1a",
            "mars",
        ] {
            assert!(!valid_region(bad), "{bad}");
        }
    }
}
