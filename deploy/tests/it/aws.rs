//! SDK errors as one sentence, and which ones waiting can fix.

use aws_sdk_sts::error::SdkError;
use deploy::aws::{explain, is_transient, no_credentials, Target};
use deploy::options::valid_region;

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
