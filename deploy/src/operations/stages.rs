//! `outputs` and `stages`: what is deployed, read only. A stage's stack
//! outputs (`HttpApiUrl` first), and every copy of the stack (one per
//! `--stage`) in the account and region with its status and last update.

use crate::aws::{self, explain};
use crate::error::Result;
use crate::options::AwsOptions;
use crate::stack_state::{ordered_outputs, require_stack};
use aws_sdk_cloudformation::types::StackStatus;
use aws_smithy_types::date_time::Format;
use serde::Serialize;

/// One stage's stack outputs.
#[derive(Debug, Clone, Serialize)]
pub struct Outputs {
    pub stack: String,
    pub account: String,
    pub region: String,
    /// `HttpApiUrl` first, then the stack's order.
    #[serde(serialize_with = "as_object")]
    pub outputs: Vec<(String, String)>,
    /// The version each function's `live` alias runs (a function without
    /// the alias, from before versions, is left out).
    pub live: Vec<crate::versions::LiveVersion>,
}

fn as_object<S: serde::Serializer>(v: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(v.len()))?;
    for (k, val) in v {
        m.serialize_entry(k, val)?;
    }
    m.end()
}

/// The outputs of the stage's stack; a stack that does not exist is an error.
pub async fn outputs(aws_opts: &AwsOptions, stage: Option<&str>) -> Result<Outputs> {
    let names = crate::options::names(stage)?;
    let aws = aws::connect(aws_opts).await?;
    let d = require_stack(&aws, &names.stack).await?;
    let lambda = crate::record::recorded_client!(aws_sdk_lambda, &aws.conf);
    let mut live = vec![];
    for f in stack::Function::ALL {
        if let Some(l) = crate::versions::live(&lambda, f.function_name(&names)).await? {
            live.push(l);
        }
    }
    Ok(Outputs {
        stack: names.stack,
        account: aws.account,
        region: aws.region,
        outputs: ordered_outputs(&d.outputs),
        live,
    })
}

/// One deployed copy of the stack.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// `None` for the stack without a stage suffix.
    pub stage: Option<String>,
    pub stack: String,
    pub status: String,
    /// ISO 8601, UTC: the last update, else the creation.
    pub last_updated: Option<String>,
}

/// Every stage deployed in the account and region.
#[derive(Debug, Clone, Serialize)]
pub struct Stages {
    pub account: String,
    pub region: String,
    pub stages: Vec<Stage>,
}

/// The stage of a stack name of this module: `Some(None)` for the
/// unsuffixed stack, `Some(Some(stage))` for `<stack>-<stage>`.
pub fn stage_of(stack_name: &str) -> Option<Option<String>> {
    let base = stack::Names::new(None).ok()?.stack;
    if stack_name == base {
        return Some(None);
    }
    let stage = stack_name.strip_prefix(&base)?.strip_prefix('-')?;
    stack::names::validate_stage(stage).ok()?;
    Some(Some(stage.to_string()))
}

/// ListStacks (every page), the module's stacks only, deleted ones left out.
pub async fn stages(aws_opts: &AwsOptions) -> Result<Stages> {
    let aws = aws::connect(aws_opts).await?;
    let mut out = vec![];
    let mut pages = aws.cfn.list_stacks().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| explain(e, "listing the stacks", &aws.target()))?;
        for s in page.stack_summaries() {
            let status = s.stack_status().cloned().unwrap_or(StackStatus::from(""));
            if status == StackStatus::DeleteComplete {
                continue;
            }
            let name = s.stack_name().unwrap_or_default();
            let Some(stage) = stage_of(name) else {
                continue;
            };
            let when = s.last_updated_time().or(s.creation_time());
            out.push(Stage {
                stage,
                stack: name.to_string(),
                status: status.as_str().to_string(),
                last_updated: when.and_then(|t| t.fmt(Format::DateTime).ok()),
            });
        }
    }
    out.sort_by(|a, b| a.stage.cmp(&b.stage));
    Ok(Stages {
        account: aws.account,
        region: aws.region,
        stages: out,
    })
}
