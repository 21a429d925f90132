//! The engine's error: one sentence saying what failed and what to do.

/// Each variant's message is complete: none carries a `source`, so a
/// printed chain never repeats a cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What failed and what to do.
    #[error("{0}")]
    Failed(String),
    /// Ctrl-C at a prompt, after cleaning up: the CLI exits 130.
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// `context`, then the error it explains.
    #[error("{context}: {inner}")]
    Context { context: String, inner: Box<Error> },
    #[error(transparent)]
    Stack(#[from] stack::StackError),
    #[error(transparent)]
    Package(#[from] lambda_package::PackageError),
    #[error(transparent)]
    Plan(#[from] cfn_plan::PlanError),
    #[error("{doing}: {err}")]
    Io { doing: String, err: std::io::Error },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A [`Error::Failed`].
pub fn fail(message: impl Into<String>) -> Error {
    Error::Failed(message.into())
}

/// An I/O error, saying what was being done.
pub fn io(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let doing = doing.into();
    move |err| Error::Io { doing, err }
}

impl Error {
    /// This error explained by `context` (printed before it).
    pub fn context(self, context: impl Into<String>) -> Error {
        Error::Context {
            context: context.into(),
            inner: Box::new(self),
        }
    }

    /// What went wrong, as one word a script can branch on (`--json`'s `error.kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Failed(_) => "failed",
            Error::Interrupted(_) => "interrupted",
            Error::Context { inner, .. } => inner.kind(),
            Error::Stack(_) => "invalid-input",
            Error::Package(_) => "build",
            Error::Plan(_) => "plan",
            Error::Io { .. } => "io",
        }
    }

    /// True for Ctrl-C at a prompt (anywhere in the chain).
    pub fn is_interrupted(&self) -> bool {
        match self {
            Error::Interrupted(_) => true,
            Error::Context { inner, .. } => inner.is_interrupted(),
            _ => false,
        }
    }
}

/// An [`Error::Failed`] with a `format!` message.
macro_rules! failed {
    ($($arg:tt)*) => {
        $crate::error::Error::Failed(format!($($arg)*))
    };
}
pub(crate) use failed;
