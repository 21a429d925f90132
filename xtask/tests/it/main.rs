//! `cargo xtask`'s integration tests, one binary: the built binary run as a
//! user runs it (against moto, MiniStack, or nothing), and the tidy rules.

mod bad_input;
mod browser;
mod build;
mod config;
mod contract;
mod deny;
mod deploy;
mod deployer_policy;
mod dev;
mod docs;
mod hotswap;
mod iam_lint;
mod json_output;
mod load;
mod ministack;
mod ops;
mod profile;
mod stages;
mod support;
mod synth;
mod tidy;
mod ts_client;
mod verify;
