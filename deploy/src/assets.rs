//! The asset bucket deploy creates and manages itself (no bootstrap stack):
//! one per account and region, shared by every stage, holding the function
//! zips under content-addressed keys (`code/<sha256>.zip`) and templates too
//! large to send inline (`templates/<sha256>.json`).
//!
//! Settings, applied on every deploy that uploads (each call is idempotent):
//! default encryption (SSE-S3 with bucket key), all public access blocked, a
//! bucket policy refusing anything but TLS (not set for a plain-http
//! `--endpoint-url`, which could never satisfy it), and a lifecycle rule that drops
//! objects a year after they were last written and aborts stale multipart
//! uploads. Every deploy rewrites the zips the stack runs now (its rollback
//! target) in place, so code in use never reaches that age: only code no
//! deploy has used for a year expires.

use crate::aws::{explain, is_not_found, Aws};
use crate::error::{failed, Result};
use crate::report::Report;
use crate::stack_state::Deployed;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use lambda_package::Artifact;
use stack::module::ids;
use std::path::PathBuf;

/// Days after which the lifecycle rule deletes an object.
pub const OBJECT_EXPIRY_DAYS: i32 = 365;

/// `vla-deploy-assets-<account>-<region>`: unique per account and region, at most 63 characters.
pub fn bucket_name(account: &str, region: &str) -> String {
    format!("vla-deploy-assets-{account}-{region}")
}

/// One function zip, ready to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// e.g. `voice-learning-session-persistence`
    pub function: String,
    /// The template parameter holding its key.
    pub parameter: &'static str,
    pub zip: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// `code/<sha256>.zip`
    pub key: String,
}

pub fn code_key(sha256: &str) -> String {
    format!("code/{sha256}.zip")
}

/// The template parameter of each function (by its base name, without the stage suffix).
fn parameter_of(function: &str) -> Option<&'static str> {
    let base = stack::Names::new(None).expect("default names");
    if function == base.session_persistence_function {
        Some(ids::P_SESSION_PERSISTENCE_CODE_KEY)
    } else if function == base.context_manager_function {
        Some(ids::P_CONTEXT_MANAGER_CODE_KEY)
    } else {
        None
    }
}

/// Assets from build artifacts (the sha256 the build computed names the object).
pub fn from_artifacts(artifacts: &[Artifact]) -> Result<Vec<Asset>> {
    let mut out = vec![];
    for a in artifacts {
        let parameter = parameter_of(&a.function_name).ok_or_else(|| {
            failed!(
                "the build produced an unknown function `{}`",
                a.function_name
            )
        })?;
        let sha256 = a.sha256.to_ascii_lowercase();
        out.push(Asset {
            function: a.function_name.clone(),
            parameter,
            zip: a.zip.clone(),
            key: code_key(&sha256),
            sha256,
            size: a.size,
        });
    }
    for f in stack::Names::new(None).expect("default names").functions() {
        if !out.iter().any(|a| a.function == f) {
            return Err(failed!("the build produced no zip for `{f}`"));
        }
    }
    Ok(out)
}

/// Creates the bucket if needed and (re)applies its settings.
pub async fn ensure_bucket(aws: &Aws, bucket: &str) -> Result<bool> {
    let t = aws.target();
    let created = match aws
        .s3
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(&aws.account)
        .send()
        .await
    {
        Ok(_) => false,
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            if status == Some(403) {
                return Err(failed!(
                    "the asset bucket name {bucket} is taken by another account (or you may not read it): \
                     check that the credentials are for the account you mean to deploy to."
                ));
            }
            if status != Some(404) && !is_not_found(&e) {
                return Err(explain(
                    e,
                    &format!("checking the asset bucket {bucket}"),
                    &t,
                ));
            }
            let mut req = aws.s3.create_bucket().bucket(bucket);
            if aws.region != "us-east-1" {
                req = req.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(aws.region.as_str()))
                        .build(),
                );
            }
            match req.send().await {
                Ok(_) => true,
                // Another deploy (e.g. of a second stage) created it a moment ago.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
                {
                    false
                }
                Err(e) => {
                    return Err(explain(
                        e,
                        &format!("creating the asset bucket {bucket}"),
                        &t,
                    ))
                }
            }
        }
    };
    aws.s3
        .put_bucket_encryption()
        .bucket(bucket)
        .expected_bucket_owner(&aws.account)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::Aes256)
                                .build()
                                .map_err(|e| failed!("{e}"))?,
                        )
                        .bucket_key_enabled(true)
                        .build(),
                )
                .build()
                .map_err(|e| failed!("{e}"))?,
        )
        .send()
        .await
        .map_err(|e| explain(e, "setting the asset bucket's encryption", &t))?;
    aws.s3
        .put_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(&aws.account)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| explain(e, "blocking public access to the asset bucket", &t))?;
    // A plain-http endpoint (a local emulator) cannot satisfy aws:SecureTransport,
    // and emulators that enforce bucket policies would then refuse every request.
    if aws
        .endpoint_url
        .as_deref()
        .is_none_or(|u| u.starts_with("https://"))
    {
        aws.s3
            .put_bucket_policy()
            .bucket(bucket)
            .expected_bucket_owner(&aws.account)
            .policy(tls_only_policy(partition(&aws.region), bucket).to_string())
            .send()
            .await
            .map_err(|e| explain(e, "setting the asset bucket's TLS-only policy", &t))?;
    }
    aws.s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .expected_bucket_owner(&aws.account)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(
                    LifecycleRule::builder()
                        .id("expire-old-assets")
                        .status(ExpirationStatus::Enabled)
                        .filter(LifecycleRuleFilter::builder().prefix("").build())
                        .expiration(
                            LifecycleExpiration::builder()
                                .days(OBJECT_EXPIRY_DAYS)
                                .build(),
                        )
                        .abort_incomplete_multipart_upload(
                            AbortIncompleteMultipartUpload::builder()
                                .days_after_initiation(1)
                                .build(),
                        )
                        .build()
                        .map_err(|e| failed!("{e}"))?,
                )
                .build()
                .map_err(|e| failed!("{e}"))?,
        )
        .send()
        .await
        .map_err(|e| explain(e, "setting the asset bucket's lifecycle rule", &t))?;
    Ok(created)
}

/// Denies every request that does not use TLS.
/// The ARN partition of a region (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    stack::partition::Partition::of(region).map_or("aws", |p| p.id)
}

/// `AWS::URLSuffix` of `region`'s partition.
pub fn url_suffix(region: &str) -> &'static str {
    stack::partition::Partition::of(region).map_or("amazonaws.com", |p| p.dns_suffix)
}

pub fn tls_only_policy(partition: &str, bucket: &str) -> serde_json::Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:{partition}:s3:::{bucket}"), format!("arn:{partition}:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    })
}

/// True when the object is already in the bucket.
pub async fn exists(aws: &Aws, bucket: &str, key: &str) -> Result<bool> {
    match aws
        .s3
        .head_object()
        .bucket(bucket)
        .expected_bucket_owner(&aws.account)
        .key(key)
        .send()
        .await {
        Ok(_) => Ok(true),
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) || is_not_found(&e) => Ok(false),
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(403) => Err(failed!(
            "access to s3://{bucket}/{key} was denied: the credentials need s3:GetObject, s3:PutObject and s3:ListBucket on the asset bucket {bucket}."
        )),
        Err(e) => Err(explain(e, &format!("checking s3://{bucket}/{key}"), &aws.target())),
    }
}

/// Uploads `bytes` under `key` unless it is already there; true when uploaded.
pub async fn upload_if_missing(
    aws: &Aws,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> Result<bool> {
    if exists(aws, bucket, key).await? {
        return Ok(false);
    }
    aws.s3
        .put_object()
        .bucket(bucket)
        .expected_bucket_owner(&aws.account)
        .key(key)
        .content_type(content_type)
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| explain(e, &format!("uploading s3://{bucket}/{key}"), &aws.target()))?;
    Ok(true)
}

/// Rewrites `key` onto itself so its age (what the lifecycle rule counts)
/// starts again; false when it is not in the bucket.
pub async fn refresh(aws: &Aws, bucket: &str, key: &str) -> Result<bool> {
    if !exists(aws, bucket, key).await? {
        return Ok(false);
    }
    aws.s3
        .copy_object()
        .bucket(bucket)
        .expected_bucket_owner(&aws.account)
        .key(key)
        .copy_source(format!("{bucket}/{key}"))
        .expected_source_bucket_owner(&aws.account)
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .content_type("application/zip")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .send()
        .await
        .map_err(|e| explain(e, &format!("refreshing s3://{bucket}/{key}"), &aws.target()))?;
    Ok(true)
}

/// The URL CloudFormation reads a template from: always the S3 virtual-hosted
/// form, which CloudFormation (and the emulators' CloudFormation, reading
/// their own S3) understands even when requests go through `--endpoint-url`.
pub fn template_url(aws: &Aws, bucket: &str, key: &str) -> String {
    format!(
        "https://{bucket}.s3.{}.{}/{key}",
        aws.region,
        url_suffix(&aws.region)
    )
}

/// The code the stack runs now is what a failed update rolls back to: every
/// deploy (a no-op one too) rewrites it in place so the asset bucket's
/// lifecycle rule counts its age from now. A key already gone is said.
pub async fn keep_deployed_code_young(
    aws: &Aws,
    report: &mut impl Report,
    bucket: &str,
    d: &Deployed,
) -> Result<()> {
    let bucket = d
        .params
        .get(ids::P_CODE_BUCKET)
        .map(String::as_str)
        .unwrap_or(bucket);
    for p in [
        ids::P_SESSION_PERSISTENCE_CODE_KEY,
        ids::P_CONTEXT_MANAGER_CODE_KEY,
    ] {
        if let Some(key) = d.params.get(p) {
            if !refresh(aws, bucket, key).await? {
                report.say(&format!(
                    "warning: s3://{bucket}/{key} (the deployed {p}) is missing: a failed update could not roll back to it; deploy again to replace it"
                ));
            }
        }
    }
    Ok(())
}
