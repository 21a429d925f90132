//! The stack's own safety catches, set by every `deploy` (unless
//! `--no-protection`): termination protection, so a stray `aws
//! cloudformation delete-stack` or console click is refused
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html>),
//! and a stack policy that denies any update replacing or deleting the
//! tables or the key (the resources whose data outlives the stack,
//! `DeletionPolicy: Retain`), whatever tool runs the update
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/protect-stack-resources.html>).
//! `deploy --allow-replacement` lifts the stack policy for that one
//! update (change sets take no temporary policy) and sets it again after;
//! `destroy` turns termination protection off after its confirmation.

use crate::aws::{explain, Aws};
use crate::error::Result;
use crate::report::Report;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use serde_json::{json, Value};

/// The logical ids the stack policy protects: every resource the template
/// retains when deleted (the tables and the key).
pub fn protected(template: &Value) -> Vec<String> {
    template["Resources"]
        .as_object()
        .map(|r| {
            r.iter()
                .filter(|(_, res)| res["DeletionPolicy"] == "Retain" && res["Condition"].is_null())
                .map(|(id, _)| id.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Every update allowed, except replacing or deleting `ids`.
pub fn stack_policy(ids: &[String]) -> Value {
    let mut statements = vec![json!({
        "Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"
    })];
    if !ids.is_empty() {
        statements.push(json!({
            "Effect": "Deny",
            "Action": ["Update:Replace", "Update:Delete"],
            "Principal": "*",
            "Resource": ids.iter().map(|id| format!("LogicalResourceId/{id}")).collect::<Vec<_>>(),
        }));
    }
    json!({ "Statement": statements })
}

/// Sets termination protection and the stack policy to what `protect`
/// asks, calling only when they differ. An emulator endpoint that does not
/// serve termination protection gets a warning; AWS's errors are errors.
pub async fn ensure(
    aws: &Aws,
    stack_id: &str,
    template: &Value,
    protect: bool,
    report: &mut impl Report,
) -> Result<()> {
    let wanted = if protect {
        stack_policy(&protected(template))
    } else {
        stack_policy(&[])
    };
    set_policy(aws, stack_id, &wanted).await?;
    let current = termination_protection(aws, stack_id).await?;
    if current == protect {
        return Ok(());
    }
    let call = aws
        .cfn
        .update_termination_protection()
        .stack_name(stack_id)
        .enable_termination_protection(protect);
    let result = if aws.endpoint_url.is_some() {
        // An emulator that does not serve the action answers an HTML 500,
        // which standard retries would repeat for about 4 s on every deploy.
        call.customize()
            .config_override(
                aws_sdk_cloudformation::config::Builder::default()
                    .retry_config(aws_sdk_cloudformation::config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
    } else {
        call.send().await
    };
    match result {
        Ok(_) => {
            report.say(&format!(
                "termination protection {}",
                if protect {
                    "on"
                } else {
                    "off (--no-protection)"
                }
            ));
            Ok(())
        }
        // No AWS error code: an answer no AWS service gives (moto's HTML 500).
        Err(e) if aws.endpoint_url.is_some() && e.code().is_none() => {
            report.warn(&format!(
                "termination protection is not set: the endpoint {} does not serve UpdateTerminationProtection (an emulator); on AWS it is set.",
                aws.endpoint_url.as_deref().unwrap_or_default()
            ));
            Ok(())
        }
        Err(e) => Err(explain(e, "setting termination protection", &aws.target())),
    }
}

/// Whether the stack has termination protection on.
async fn termination_protection(aws: &Aws, stack_id: &str) -> Result<bool> {
    Ok(aws
        .cfn
        .describe_stacks()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| {
            explain(
                e,
                "reading the stack's termination protection",
                &aws.target(),
            )
        })?
        .stacks()
        .first()
        .and_then(|s| s.enable_termination_protection())
        .unwrap_or(false))
}

/// Sets the stack policy unless it is already `wanted`.
async fn set_policy(aws: &Aws, stack_id: &str, wanted: &Value) -> Result<()> {
    let current = aws
        .cfn
        .get_stack_policy()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| explain(e, "reading the stack policy", &aws.target()))?;
    let current: Value = current
        .stack_policy_body()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    if current == *wanted {
        return Ok(());
    }
    aws.cfn
        .set_stack_policy()
        .stack_name(stack_id)
        .stack_policy_body(wanted.to_string())
        .send()
        .await
        .map_err(|e| explain(e, "setting the stack policy", &aws.target()))?;
    Ok(())
}

/// Before an update `--allow-replacement` approved: the stack policy would
/// refuse it, so every update is allowed until [`ensure`] runs again.
pub async fn lift(aws: &Aws, stack_id: &str) -> Result<()> {
    set_policy(aws, stack_id, &stack_policy(&[])).await
}

/// `destroy`, once confirmed: termination protection off, if it is on.
pub async fn release(aws: &Aws, stack_id: &str, report: &mut impl Report) -> Result<()> {
    let on = termination_protection(aws, stack_id).await?;
    if on {
        aws.cfn
            .update_termination_protection()
            .stack_name(stack_id)
            .enable_termination_protection(false)
            .send()
            .await
            .map_err(|e| explain(e, "turning termination protection off", &aws.target()))?;
        report.say("termination protection turned off (destroy was confirmed)");
    }
    Ok(())
}
