//! The stack's resources: logical id → physical id, the ground truth every
//! other check starts from (a table, key or API found by name could be a
//! look-alike outside the stack).
//!
//! ListStackResources is paginated (NextToken), unlike DescribeStackResources
//! which stops at 100 resources:
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html

use super::check::{call_failed, Check};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackResources {
    physical_ids: BTreeMap<String, String>,
}

impl StackResources {
    /// From (logical id, physical id); an empty physical id (a resource not
    /// created yet, or failed) counts as absent.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        StackResources {
            physical_ids: rows
                .into_iter()
                .filter(|(_, physical)| !physical.is_empty())
                .map(|(logical, physical)| (logical.to_string(), physical.to_string()))
                .collect(),
        }
    }

    /// The physical id of a logical resource: a table's name, a key's id, an
    /// API's id, a function's name (the resource types' `Ref` values).
    pub fn physical_id(&self, logical_id: &str) -> Option<&str> {
        self.physical_ids.get(logical_id).map(String::as_str)
    }

    /// How many resources have a physical id.
    pub fn count(&self) -> usize {
        self.physical_ids.len()
    }
}

/// Every resource of the stack, all pages; a missing stack or a refused call
/// is the one check to report.
pub async fn read(
    cfn: &aws_sdk_cloudformation::Client,
    stack_name: &str,
) -> Result<StackResources, Check> {
    let name = format!("stack {stack_name}");
    let mut rows: Vec<(String, String)> = vec![];
    let mut pages = cfn
        .list_stack_resources()
        .stack_name(stack_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => rows.extend(p.stack_resource_summaries().iter().map(|s| {
                (
                    s.logical_resource_id().unwrap_or_default().to_string(),
                    s.physical_resource_id().unwrap_or_default().to_string(),
                )
            })),
            Err(e) if crate::aws::is_not_found(&e) => {
                return Err(Check::fail(
                    name,
                    "not found: deploy it first (`cargo xtask deploy`), or pass the --stage / --region it was deployed with",
                ))
            }
            Err(e) => return Err(call_failed(name, "cloudformation:ListStackResources", &e)),
        }
    }
    Ok(StackResources::from_rows(
        rows.iter().map(|(l, p)| (l.as_str(), p.as_str())),
    ))
}
