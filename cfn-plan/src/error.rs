//! Why a plan cannot go ahead: each message says what to do.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The plan would replace or delete data (see `replacement::guard`).
    #[error("{0}")]
    Refused(String),
    /// A template parameter has no value (see `params::resolve`).
    #[error("{0}")]
    MissingParameter(String),
}
