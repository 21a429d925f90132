//! AWS emulators run as child processes on free loopback ports.
//!
//! - [`MotoServer`]: the `moto` emulator, used by the test suites (functions,
//!   xtask) and by `cargo xtask dev`. Installed into the project-local venv
//!   `.venv/` from the pinned `requirements.txt` on first use.
//! - [`ministack::MiniStack`]: MiniStack, which runs CloudFormation, the
//!   functions and API Gateway for the deploy-then-call test. Its pins
//!   conflict with checkov's, so it has its own venv, `.venv-ministack/`
//!   ([`Venv::ministack`]).
//!
//! A file lock keeps concurrent test binaries from installing a venv twice at
//! the same time. Every server runs in its own process group under a
//! watchdog that ends it when its stdin closes, i.e. when the process that
//! started it exits for any reason.

pub mod error;
pub mod ministack;
pub mod moto;
pub mod process;
pub mod server;
pub mod venv;

pub use error::EmulatorError;
pub use moto::{MotoOptions, MotoServer};
pub use process::{alive, children_of, free_port};
pub use server::{TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY};
pub use venv::{workspace_root, Venv};
