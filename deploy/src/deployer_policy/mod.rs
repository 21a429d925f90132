//! `deployer-policy`: the IAM policy a person or CI role needs to
//! run `deploy`, `diff`, `verify` and `destroy` for this stack, printed as
//! JSON. Without a service role CloudFormation creates the stack's
//! resources with the caller's own permissions, so the policy covers both
//! the tool's calls and what CloudFormation does on its behalf
//! ([`Audience::Caller`]). With `deploy --role-arn` CloudFormation assumes
//! that role for every resource operation
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html>):
//! the role gets the resource part ([`Audience::CloudFormationRole`]) and
//! the caller keeps only the tool's own calls and `iam:PassRole` on the
//! role ([`Audience::CallerWithRole`]).
//!
//! Every resource is named from the same typed stack model synth writes, so
//! the policy is scoped to this stack's (and stage's) names wherever IAM
//! allows; the exceptions are the actions IAM cannot scope
//! (`kms:CreateKey`, `lambda:GetAccountSettings`, the API Gateway log
//! delivery actions, `sts:GetCallerIdentity`) and the API and key, whose ids
//! AWS chooses at creation (scoped to the account and region).
//! Service authorization reference:
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html>.

use crate::error::{failed, Result};
use crate::options::AwsOptions;
use serde_json::{json, Value};

mod caller;
use caller::caller_policy;

/// The account and region to scope the policy to: the given ones, else the
/// credentials' account and the configured region.
pub async fn account_and_region(
    aws: &AwsOptions,
    account: Option<&str>,
) -> Result<(String, String)> {
    let (account, region) = match (account, &aws.region) {
        (Some(a), Some(r)) => (a.to_string(), r.clone()),
        _ => {
            let c = crate::aws::connect(aws).await.map_err(|e| {
                e.context("finding the account and region (or pass --account and --region)")
            })?;
            (account.map(str::to_string).unwrap_or(c.account), c.region)
        }
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(failed!(
            "--account `{account}` is not an AWS account id (12 digits)."
        ));
    }
    Ok((account, region))
}

/// Whom a printed policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience<'a> {
    /// The deployer, CloudFormation acting with its permissions (no service role).
    Caller,
    /// The deployer, CloudFormation acting through the service role with this ARN.
    CallerWithRole(&'a str),
    /// The CloudFormation service role `deploy --role-arn` passes.
    CloudFormationRole,
}

/// The IAM actions the CLI calls itself (deploy, diff, verify, destroy and
/// its cleanup of retained resources, hotswap, logs), as opposed to what
/// CloudFormation's resource handlers call. `xtask/tests/it/deployer_policy.rs`
/// records the engine's SDK calls and checks them against this list.
pub const TOOL_ACTIONS: &[&str] = &[
    "sts:GetCallerIdentity",
    "apigateway:GET",
    "backup:DescribeBackupVault",
    "dynamodb:DeleteTable",
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:Scan",
    "dynamodb:UpdateTable",
    "iam:GetRole",
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ScheduleKeyDeletion",
    "lambda:GetAccountSettings",
    // `rollback`, `outputs` and `verify` read the `live` alias and the
    // versions; `rollback` and `--hotswap` move the alias, and `--hotswap`
    // publishes the code it put in place.
    "lambda:GetAlias",
    "lambda:GetFunction",
    "lambda:GetFunctionConcurrency",
    "lambda:GetFunctionConfiguration",
    "lambda:GetPolicy",
    "lambda:InvokeFunction",
    "lambda:ListFunctions",
    "lambda:ListVersionsByFunction",
    "lambda:PublishVersion",
    "lambda:UpdateAlias",
    "lambda:UpdateFunctionCode",
    // `tune` sets each memory size, then the original again.
    "lambda:UpdateFunctionConfiguration",
    "logs:FilterLogEvents",
];

/// The CLI's own calls: [`TOOL_ACTIONS`], the stack and its change sets,
/// the asset bucket.
fn called_by_the_tool(action: &str) -> bool {
    TOOL_ACTIONS.contains(&action)
        || action.starts_with("cloudformation:")
        || action.starts_with("s3:")
}

/// Actions only the CLI needs: a service role gets none of them.
fn tool_only(action: &str) -> bool {
    action.starts_with("cloudformation:")
        || action.starts_with("sts:")
        // The handlers read the code zip (Lambda's create and update), nothing more.
        || (action.starts_with("s3:") && action != "s3:GetObject")
        || matches!(
            action,
            "lambda:InvokeFunction"
                | "lambda:ListFunctions"
                | "lambda:GetAccountSettings"
                | "logs:FilterLogEvents"
                | "dynamodb:Scan"
        )
}

/// The deployer's policy for the stack of `stage` in `account` and `region`
/// (no service role).
pub fn policy(stage: Option<&str>, account: &str, region: &str) -> Result<Value> {
    policy_for(Audience::Caller, stage, account, region)
}

/// The policy `audience` needs for the stack of `stage` in `account` and `region`.
pub fn policy_for(
    audience: Audience<'_>,
    stage: Option<&str>,
    account: &str,
    region: &str,
) -> Result<Value> {
    let mut doc = caller_policy(stage, account, region)?;
    let statements = doc["Statement"].as_array_mut().expect("statements");
    let keep: fn(&str) -> bool = match audience {
        Audience::Caller => return Ok(doc),
        Audience::CallerWithRole(_) => called_by_the_tool,
        Audience::CloudFormationRole => |a| !tool_only(a),
    };
    for st in statements.iter_mut() {
        if let Some(actions) = st["Action"].as_array_mut() {
            actions.retain(|a| a.as_str().is_some_and(keep));
        }
    }
    statements.retain(|st| st["Action"].as_array().is_some_and(|a| !a.is_empty()));
    if let Audience::CallerWithRole(role_arn) = audience {
        statements.push(json!({
            "Sid": "PassTheServiceRoleToCloudFormation",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [role_arn],
            "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        }));
    }
    Ok(doc)
}

/// The most characters (whitespace not counted) a managed policy may have
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>).
pub const MANAGED_POLICY_MAX_CHARS: usize = 6_144;

/// `doc` as few policy documents as fit IAM's managed-policy size, its
/// statements kept whole and in order (one policy document is larger than
/// one managed policy may be). A statement too large on its own is an error.
pub fn split(doc: &Value, max_chars: usize) -> Result<Vec<Value>> {
    let size = |v: &Value| serde_json::to_string(v).map_or(usize::MAX, |s| s.len());
    let wrap = |statements: Vec<Value>| json!({"Version": "2012-10-17", "Statement": statements});
    let mut parts: Vec<Vec<Value>> = vec![vec![]];
    for st in doc["Statement"].as_array().into_iter().flatten() {
        let last = parts.last_mut().expect("one part");
        last.push(st.clone());
        if size(&wrap(last.clone())) > max_chars {
            last.pop();
            if size(&wrap(vec![st.clone()])) > max_chars {
                return Err(failed!(
                    "the statement {} alone is larger than a managed policy may be ({max_chars} characters)",
                    st["Sid"]
                ));
            }
            parts.push(vec![st.clone()]);
        }
    }
    Ok(parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(wrap)
        .collect())
}

/// A CloudFormation service role's ARN, checked before AWS is asked:
/// `arn:<partition>:iam::<account>:role/<path/name>`.
pub fn check_role_arn(arn: &str) -> Result<()> {
    let bad = || {
        failed!(
            "--role-arn `{arn}` is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME): \
             give the ARN of the role CloudFormation should assume (`cargo xtask \
             deployer-policy --for cloudformation-role` prints its policy)."
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, service, region, account, resource] = parts[..] else {
        return Err(bad());
    };
    let name = resource.strip_prefix("role/").ok_or_else(bad)?;
    let name_ok = !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
        && !name.ends_with('/');
    if scheme != "arn"
        || !partition.starts_with("aws")
        || service != "iam"
        || !region.is_empty()
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
        || !name_ok
    {
        return Err(bad());
    }
    Ok(())
}
