//! Reserved concurrency the account can afford, checked before planning.
//!
//! Lambda keeps at least 100 of an account's concurrent executions
//! unreserved; a function's reservation that would go below that fails
//! (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html),
//! and new accounts often have a limit of 10 or 50, where no reservation is
//! possible at all. CloudFormation would only find out half-way through the
//! deploy, with a rollback; this says so up front, with what to do.

use super::aws::Aws;
use anyhow::{anyhow, Result};

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
    Err(anyhow!(
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
    let lambda: aws_sdk_lambda::Client = crate::recorded_client!(aws_sdk_lambda, &aws.conf);
    let settings = lambda.get_account_settings().send().await.map_err(|e| {
        super::aws::explain(e, "reading the account's Lambda concurrency", &aws.target())
    })?;
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
                return Err(super::aws::explain(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn account(limit: i64, unreserved: i64, ours: i64) -> AccountConcurrency {
        AccountConcurrency {
            limit,
            unreserved,
            reserved_by_these_functions: ours,
        }
    }

    #[test]
    fn no_reservation_always_fits() {
        assert!(check(account(10, 10, 0), 2, 0).is_ok());
    }

    #[test]
    fn a_new_account_cannot_reserve_and_is_told_to_use_zero() {
        let e = check(account(50, 50, 0), 2, 5).unwrap_err().to_string();
        assert!(
            e.contains("--reserved-concurrency 0") && e.contains("limit 50"),
            "{e}"
        );
    }

    #[test]
    fn the_default_limit_affords_up_to_450_each() {
        assert!(check(account(1000, 1000, 0), 2, 450).is_ok());
        let e = check(account(1000, 1000, 0), 2, 451)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--reserved-concurrency 450 or less"), "{e}");
    }

    #[test]
    fn what_these_functions_reserve_today_is_released_by_the_update() {
        // 1000 limit, 900 unreserved because our two functions hold 50 each.
        assert!(check(account(1000, 900, 100), 2, 450).is_ok());
        assert!(check(account(1000, 900, 0), 2, 450).is_err());
    }
}
