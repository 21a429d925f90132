//! cfn-plan's integration tests, one binary: IAM widening, replacement and
//! data risk (on the recorded change sets in `tests/fixtures/`), the
//! template diff, parameters, the plan and what destroy retains.

mod diff_report;
mod iam;
mod plan;
mod replacement;
mod retention;

use cfn_plan::ChangeSet;

/// A recorded DescribeChangeSet answer from `tests/fixtures/`.
pub fn change_set(name: &str) -> ChangeSet {
    testkit::fixture::json(&format!("cfn-plan/tests/fixtures/{name}"))
}

pub use testkit::templates::template;
