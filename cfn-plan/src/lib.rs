//! What a CloudFormation change does, computed from the templates and the
//! change set alone: no AWS SDK, no terminal, so every rule here is tested
//! on recorded change sets (`tests/fixtures/`) and synthesized templates.
//!
//! - [`change_set`]: the change set as DescribeChangeSet describes it.
//! - [`conditions`]: a template as one deploy creates it (conditions evaluated).
//! - [`iam`]: IAM statement changes and the widening rule.
//! - [`replacement`]: which changes replace a resource; the data-safety guard.
//! - [`template_diff`]: property-level differences between two templates.
//! - [`params`]: parameter values (flags, deployed stack, defaults) and their changes.
//! - [`plan`]: the plan a deploy shows and approves; [`diff_report`]: what `diff` shows.
//! - [`retention`]: what deleting the stack deletes and what it retains.

pub mod change_set;
pub mod conditions;
pub mod diff_report;
pub mod error;
pub mod iam;
pub mod params;
pub mod plan;
pub mod replacement;
pub mod retention;
pub mod template;
pub mod template_diff;

pub use change_set::ChangeSet;
pub use diff_report::DiffReport;
pub use error::PlanError;
pub use plan::Plan;
