//! Test support shared by the workspace's test suites (a dev-dependency
//! only): fixtures loaded by one helper, an emulated account and what is in
//! it, a one-request HTTP client, and recorded SDK answers.

pub mod account;
pub mod fixture;
pub mod http;
pub mod replay;
