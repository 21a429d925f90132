//! The voice-learning session module's infrastructure as Rust code.
//!
//! - [`expr`]: CloudFormation values and intrinsic functions.
//! - [`iam`]: policy documents.
//! - [`resources`]: typed properties of every resource type the stack uses.
//! - [`model`]: the template (parameters, conditions, resources, outputs).
//! - [`validate`]: the checks every synth runs.
//! - [`availability`]: resource types some regions lack.
//! - [`module`]: `VoiceLearningAssistantStack` itself.
//! - [`operations`]: its opt-in backup plan and cost budget.
//! - [`partition`]: which partition a region is in, its ARN and DNS names.
//! - [`resolve`]: intrinsics to concrete values for one account and region.
//! - [`access`]: IAM and KMS key-policy evaluation of the synthesized policies.
//!
//! This crate has no AWS SDK dependency so synth builds and runs fast.

pub mod access;
pub mod availability;
pub mod expr;
pub mod function;
pub mod iam;
pub mod ids;
pub mod model;
pub mod module;
pub mod names;
pub mod operations;
pub mod partition;
pub mod permissions;
pub mod resolve;
pub mod resources;
pub mod validate;

pub use function::Function;
pub use model::{Resource, Template};
pub use module::{synth, StackOptions};
pub use names::Names;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("invalid stage name `{0}`: use 1-16 lowercase letters, digits or '-', starting with a letter and not ending with '-'")]
    InvalidStage(String),
    #[error("the template is invalid:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}
