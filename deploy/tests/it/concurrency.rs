//! Reserved concurrency the account can afford.

use deploy::concurrency::{check, AccountConcurrency};

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
