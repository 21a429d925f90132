//! The module on this machine, no AWS account: moto (the AWS emulator) on
//! loopback, the tables and key made through the DynamoDB and KMS APIs from
//! the same typed stack model synth writes, both functions under a local
//! Lambda Runtime API, and the HTTP API with the model's routes and JWT
//! authorizer, tokens signed by a local key.
//!
//! - [`model`]: routes, authorizer, functions and their environment, from the stack model.
//! - [`provision`]: tables and key in the emulator (idempotent).
//! - [`runtime_api`]: the Lambda Runtime API, processes scaled out, restarted, timed out.
//! - [`gateway`]: the HTTP API; [`jwt`]: the local user pool and the authorizer.
//! - [`start`]: all of it started and stopped in order; [`http`]: the accept loop.
//! - [`fault_proxy`]: delays and faults between the functions and moto; [`load`]: the load test and its oracle.

pub mod error;
pub mod fault_proxy;
pub mod gateway;
pub mod http;
pub mod ids;
pub mod jwt;
pub mod load;
pub mod lock;
pub mod log;
pub mod model;
pub mod provision;
pub mod runtime_api;
pub mod start;
pub mod watch;

pub use error::{LocalError, Result};
pub use log::Log;
pub use start::{start, Functions, Running, StartOptions};
