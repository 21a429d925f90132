//! The functions' integration suite, one binary so that the least-privilege
//! check sees every operation any test makes (see `common`): moto on
//! loopback, real payload-2.0 events, per-test tables and key.

#[path = "../common/mod.rs"]
mod common;

mod authz;
mod bad_input;
mod capacity;
mod concurrency;
mod dependency_errors;
mod encryption;
mod happy;
mod least_privilege;
mod lifecycle;
mod round_trips;
mod runtime_entry;
