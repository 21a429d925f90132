//! Test support shared by the workspace's test suites (a dev-dependency
//! only): one way to load recorded fixtures.

pub mod fixture;
