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
        "eusc-de-east-1",
        "us-isof-south-1",
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

/// Every region the SDK's partition data names (and the ones CloudFormation's
/// registry schemas name): `stack::partition` puts it in the partition
/// whose DNS suffix the SDK's own endpoint resolver uses, and its ARNs in
/// the partition the SDK reports.
#[tokio::test]
async fn partitions_agree_with_the_sdks_endpoint_resolver() {
    use aws_sdk_dynamodb::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    let regions = [
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "cn-north-1",
        "cn-northwest-1",
        "eusc-de-east-1",
        "us-iso-east-1",
        "us-iso-west-1",
        "us-isob-east-1",
        "us-isob-west-1",
        "eu-isoe-west-1",
        "us-isof-east-1",
        "us-isof-south-1",
        "us-gov-east-1",
        "us-gov-west-1",
    ];
    for region in regions {
        let p = stack::partition::Partition::of(region)
            .unwrap_or_else(|| panic!("{region} is refused"));
        let params = Params::builder().region(region).build().unwrap();
        let endpoint = DefaultResolver::new()
            .resolve_endpoint(&params)
            .await
            .expect("the SDK resolves the endpoint");
        assert_eq!(
            endpoint.url(),
            format!("https://{}", p.regional_host("dynamodb", region)),
            "{region}"
        );
    }
}
