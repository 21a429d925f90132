//! The deploy engine, on the AWS SDK: what `deploy`, `diff`, `destroy`,
//! `verify` and `deployer-policy` do, taking plain option structs
//! ([`options`]) and reporting through [`report::Report`] and
//! [`report::Approver`], so it runs the same under a terminal and in tests.
//!
//! - [`aws`]: configuration, the early credentials check, one-sentence errors.
//! - [`assets`]: the self-managed asset bucket and content-addressed uploads.
//! - [`change_set`]: creating, waiting for and reading change sets; the
//!   guard that deletes one on every way out unless executed.
//! - [`events`], [`watch`]: live progress from stack events (the
//!   [`watch::StackSource`] seam), failure and rollback; polling that
//!   rides out throttling and outages.
//! - [`apply`] (deploy), [`diff`], [`destroy`], [`verify`] (incl. the smoke test).
//! - [`retained`], [`retained_cleanup`]: what a failed first create kept, and removing it.
//! - [`concurrency`]: reserved concurrency the account can afford.
//! - [`protection`]: termination protection and the stack policy.
//! - [`global_names`]: role and dashboard names taken in the account, the
//!   kept backup vault's name, before anything changes.
//! - [`tags`]: the cost-allocation tags set on the stack (and so its resources).
//! - [`hotswap`]: `deploy --hotswap`, new function code without a change set.
//! - [`operations`]: day-2 operations on a deployed stage, apart from the
//!   engine that changes it: logs, backups and restores, cost, memory
//!   tuning, the CloudTrail audit, the stages deployed.
//! - [`deployer_policy`]: the deployer's IAM policy; [`record`]: the SDK-call
//!   recorder its test checks the engine with.
//!
//! Emulator notes (moto 5.2.5): stacks created from a change set have no
//! outputs (a warning, not an error); update change sets may list no resource
//! changes (the plan then shows the template comparison); there is no
//! `Replacement` field (the template comparison catches replacements); bucket
//! policies are enforced, so the TLS-only policy is not set for a plain-http
//! endpoint; change sets are looked up by name across stacks, so deploy
//! names them uniquely and then uses their ARN.

pub mod apply;
pub mod assets;
pub mod aws;
pub mod change_set;
pub mod check;
pub mod ci_role;
pub mod concurrency;
pub mod deployer_policy;
pub mod destroy;
pub mod diff;
pub mod error;
pub mod events;
pub mod global_names;
pub mod hotswap;
pub mod operations;
pub mod options;
pub mod outputs;
pub mod protection;
pub mod record;
pub mod report;
pub mod results;
pub mod retained;
pub mod retained_cleanup;
pub mod stack_state;
pub mod tags;
pub mod text;
pub mod verify;
pub mod watch;

pub use error::{Error, Result};
// Day-2 operations keep their short paths (`deploy::logs`, ...).
pub use operations::{audit, backup, cost, cost_actual, logs, memory, stages, tune, versions};
