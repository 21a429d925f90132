//! Reserved concurrency the account can afford, checked before planning.
//!
//! Lambda keeps at least 100 of an account's concurrent executions
//! unreserved; a function's reservation that would go below that fails
//! (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html),
//! and new accounts often have a limit of 10 or 50, where no reservation is
//! possible at all. CloudFormation would only find out half-way through the
//! deploy, with a rollback; this says so up front, with what to do.

use crate::aws::{explain, Aws};
use crate::error::{failed, Result};
use crate::record::recorded_client;

/// Lambda's floor of unreserved concurrent executions per account.
pub const MIN_UNRESERVED: i64 = 100;

/// The account's state as `GetAccountSettings` and `GetFunctionConcurrency` give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountConcurrency {
    pub limit: i64,
    pub unreserved: i64,
    /// What this stack's functions reserve today (released by the update).
    pub reserved_by_these_functions: i64,
}

/// Can each of `functions` functions reserve `per_function`?
pub fn check(a: AccountConcurrency, functions: i64, per_function: i64) -> Result<()> {
    if per_function == 0 {
        return Ok(());
    }
    let wanted = functions * per_function;
    let left = a.unreserved + a.reserved_by_these_functions - wanted;
    if left >= MIN_UNRESERVED {
        return Ok(());
    }
    let affordable = (a.unreserved + a.reserved_by_these_functions - MIN_UNRESERVED) / functions;
    Err(failed!(
        "--reserved-concurrency {per_function} reserves {wanted} concurrent executions for the {functions} functions, but the account (limit {}, {} unreserved) must keep {MIN_UNRESERVED} unreserved: {}",
        a.limit,
        a.unreserved,
        if affordable >= 1 {
            format!("use --reserved-concurrency {affordable} or less, or 0 for none, or ask AWS for a higher limit (Service Quotas, \"Concurrent executions\").")
        } else {
            "deploy with --reserved-concurrency 0 (no reservation: the functions share the account's pool), or ask AWS for a higher limit (Service Quotas, \"Concurrent executions\").".to_string()
        }
    ))
}

/// Reads the account's concurrency and checks `per_function` against it.
pub async fn check_account(aws: &Aws, function_names: &[&str], per_function: i64) -> Result<()> {
    if per_function == 0 {
        return Ok(());
    }
    let lambda: aws_sdk_lambda::Client = recorded_client!(aws_sdk_lambda, &aws.conf);
    let settings = lambda
        .get_account_settings()
        .send()
        .await
        .map_err(|e| explain(e, "reading the account's Lambda concurrency", &aws.target()))?;
    let limit = settings.account_limit();
    let mut ours = 0;
    for name in function_names {
        match lambda
            .get_function_concurrency()
            .function_name(*name)
            .send()
            .await
        {
            Ok(c) => ours += i64::from(c.reserved_concurrent_executions().unwrap_or(0)),
            // Not deployed yet: it reserves nothing.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => {
                return Err(explain(
                    e,
                    &format!("reading the reserved concurrency of {name}"),
                    &aws.target(),
                ))
            }
        }
    }
    check(
        AccountConcurrency {
            limit: limit
                .map(|l| i64::from(l.concurrent_executions()))
                .unwrap_or(0),
            unreserved: limit
                .and_then(|l| l.unreserved_concurrent_executions())
                .map(i64::from)
                .unwrap_or(0),
            reserved_by_these_functions: ours,
        },
        function_names.len() as i64,
        per_function,
    )
}
