//! `deploy --hotswap`: new function code without CloudFormation, for a
//! quick loop while developing (like `cdk deploy --hotswap`). Only when the
//! template and every parameter but the two code keys are what is deployed;
//! anything else is refused. It drifts the stack: its code-key parameters
//! still name the old zips until a normal deploy, which the result says.

use crate::assets;
use crate::aws::{self, explain};
use crate::error::{failed, Result};
use crate::options::{self, Artifacts, DeployOptions};
use crate::report::Report;
use crate::results::{HotswapResult, Hotswapped};
use crate::stack_state::{deployed_template, describe_stack, UPDATABLE};
use aws_sdk_lambda::types::LastUpdateStatus;
use cfn_plan::params;
use lambda_package::Arch;
use stack::module::ids;
use std::time::{Duration, Instant};

/// The logical id of the function whose code a parameter names.
fn function_of(parameter: &str) -> &'static str {
    if parameter == ids::P_SESSION_PERSISTENCE_CODE_KEY {
        ids::SESSION_PERSISTENCE_FUNCTION
    } else {
        ids::CONTEXT_MANAGER_FUNCTION
    }
}

/// Updates the functions' code in place; returns the functions updated.
pub async fn run(opts: &DeployOptions, report: &mut impl Report) -> Result<Vec<String>> {
    let started = Instant::now();
    let names = options::names(opts.stage.as_deref())?;
    opts.params.validate()?;
    let aws = aws::connect(&opts.aws).await?;
    opts.params.check_region(&aws.region)?;
    let template = options::template(opts.stage.as_deref(), &aws.region, opts.template.as_ref())?;
    let stack = names.stack.clone();
    let Some(d) = describe_stack(&aws, &stack).await? else {
        return Err(failed!(kind = NotFound,
            "--hotswap updates the code of a deployed stack, and {stack} does not exist in account {}, region {}: deploy it without --hotswap first.",
            aws.account,
            aws.region
        ));
    };
    if !UPDATABLE.contains(&d.status) {
        return Err(failed!(
            "{stack} is {}: --hotswap needs a stack that is settled; deploy without --hotswap.",
            d.status
        ));
    }
    let arch = opts.params.arch.unwrap_or_else(|| {
        d.params
            .get(ids::P_ARCHITECTURE)
            .and_then(|a| Arch::from_lambda_name(a))
            .unwrap_or_default()
    });
    let artifacts = match &opts.artifacts {
        Artifacts::Dir(dir) => {
            let found = lambda_package::artifacts_in(dir)?;
            for a in &found {
                lambda_package::artifact::check_zip(&a.zip, arch)?;
            }
            found
        }
        Artifacts::Build => lambda_package::build_all(arch, &mut |l| report.say(l))?,
    };
    let list = assets::from_artifacts(&artifacts)?;
    let bucket = assets::bucket_name(&aws.account, &aws.region);
    let mut explicit = opts.params.explicit();
    explicit.insert(ids::P_CODE_BUCKET.into(), bucket.clone());
    explicit.insert(ids::P_ARCHITECTURE.into(), arch.lambda_name().into());
    for a in &list {
        explicit.insert(a.parameter.into(), a.key.clone());
    }
    let wanted = params::resolve(&template, &explicit, Some(&d.params), false)?;

    // Anything but code goes through a change set.
    let how = "deploy without --hotswap (`cargo xtask diff` shows every difference)";
    if deployed_template(&aws, &stack).await? != template {
        return Err(failed!(kind = Refused,
            "--hotswap changes only function code, and the template differs from the deployed one: {how}; nothing was changed."
        ));
    }
    let code = [
        ids::P_SESSION_PERSISTENCE_CODE_KEY,
        ids::P_CONTEXT_MANAGER_CODE_KEY,
    ];
    let other: Vec<&String> = wanted
        .iter()
        .filter(|(k, v)| !code.contains(&k.as_str()) && d.params.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    if !other.is_empty() {
        return Err(failed!(kind = Refused,
            "--hotswap changes only function code, and these parameters change too: {}: {how}; nothing was changed.",
            other.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }

    let updated = update_code(&aws, &stack, &list, &bucket, report).await?;
    if !updated.is_empty() {
        report.warn(&format!(
            "hotswapped: {stack} has drifted (its code parameters still name the previous zips); `cargo xtask deploy` without --hotswap reconciles it."
        ));
    }
    report.result(crate::results::to_json(&HotswapResult {
        result: if updated.is_empty() {
            Hotswapped::NoChanges
        } else {
            Hotswapped::Hotswapped
        },
        stack: stack.to_string(),
        functions: updated.clone(),
        drifted: !updated.is_empty(),
        elapsed_seconds: crate::text::seconds(started.elapsed()),
    }));
    Ok(updated)
}

/// Points each function whose running code is not `list`'s zip at that zip
/// (uploading it when missing); returns the functions updated. What
/// `--hotswap` does, and what a deploy with nothing else to change does
/// when a hotswap left the functions running other code than the stack names.
pub async fn update_code(
    aws: &aws::Aws,
    stack: &str,
    list: &[assets::Asset],
    bucket: &str,
    report: &mut impl Report,
) -> Result<Vec<String>> {
    let lambda = crate::record::recorded_client!(aws_sdk_lambda, &aws.conf);
    let mut updated = vec![];
    for a in list {
        // The code running now: what a previous hotswap put there, else the stack's.
        let logical = function_of(a.parameter);
        let function = aws
            .cfn
            .describe_stack_resource()
            .stack_name(stack)
            .logical_resource_id(logical)
            .send()
            .await
            .map_err(|e| explain(e, "finding the function", &aws.target()))?
            .stack_resource_detail()
            .and_then(|r| r.physical_resource_id())
            .unwrap_or_default()
            .to_string();
        let current = lambda
            .get_function_configuration()
            .function_name(&function)
            .send()
            .await
            .map_err(|e| explain(e, "reading the function's code", &aws.target()))?;
        if current.code_sha256() == Some(base64_sha(&a.sha256).as_str()) {
            report.say(&format!("{function}: code unchanged"));
            continue;
        }
        assets::ensure_bucket(aws, bucket).await?;
        let bytes = std::fs::read(&a.zip)
            .map_err(crate::error::io(format!("reading {}", a.zip.display())))?;
        assets::upload_if_missing(aws, bucket, &a.key, bytes, "application/zip").await?;
        lambda
            .update_function_code()
            .function_name(&function)
            .s3_bucket(bucket)
            .s3_key(&a.key)
            .send()
            .await
            .map_err(|e| explain(e, "updating the function's code", &aws.target()))?;
        wait_updated(&lambda, &function, report, &aws.target()).await?;
        report.say(&format!(
            "{function}: code updated to s3://{bucket}/{}",
            a.key
        ));
        // The API invokes the `live` alias: publish the new code and point
        // the alias at it (a stack from before versions has none).
        if crate::versions::live(&lambda, &function).await?.is_some() {
            let version = crate::versions::publish_live(
                &lambda,
                &function,
                &format!("hotswap {}", a.key),
                &aws.target(),
            )
            .await?;
            report.say(&format!(
                "{function}: published as version {version}, now live"
            ));
        }
        updated.push(function);
    }
    Ok(updated)
}

/// Lambda's CodeSha256: the base64 of the zip's SHA-256.
fn base64_sha(hex: &str) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Until the update is in effect (LastUpdateStatus), with a line every 10 s.
async fn wait_updated(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    report: &mut impl Report,
    target: &aws::Target,
) -> Result<()> {
    let started = Instant::now();
    let mut told = Duration::ZERO;
    loop {
        let c = lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(|e| explain(e, "waiting for the function's update", target))?;
        match c.last_update_status() {
            None | Some(LastUpdateStatus::Successful) => return Ok(()),
            Some(LastUpdateStatus::Failed) => {
                return Err(failed!(
                    "{function}'s code update failed: {}",
                    c.last_update_status_reason().unwrap_or("no reason given")
                ))
            }
            _ => {}
        }
        let waited = started.elapsed();
        if waited > Duration::from_secs(300) {
            return Err(failed!(
                "{function} is still updating after 5 minutes: check it with `aws lambda get-function-configuration --function-name {function}`."
            ));
        }
        if waited >= told + Duration::from_secs(10) {
            told = waited;
            report.say(&format!(
                "  … {function} still updating ({} s)",
                waited.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
