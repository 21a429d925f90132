//! The engine's error: one sentence saying what failed and what to do.

/// Each variant's message is complete: none carries a `source`, so a
/// printed chain never repeats a cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What failed and what to do; `kind` says which sort of failure.
    #[error("{message}")]
    Failed { kind: FailureKind, message: String },
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

/// What sort of failure an [`Error::Failed`] is, for a script to branch on
/// (`--json`'s `error.kind`) without reading the sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// What the message says (none of the below).
    Failed,
    /// No usable AWS credentials, or expired or rejected ones.
    Credentials,
    /// The endpoint or the region could not be reached.
    Unreachable,
    /// The caller lacks a permission.
    AccessDenied,
    /// The stack, or what the command names in it, does not exist.
    NotFound,
    /// A safety rail or a check refused the change: nothing was changed.
    Refused,
    /// A flag's value is wrong (the message says which and why).
    InvalidInput,
}

impl FailureKind {
    /// The word `--json` prints.
    pub fn word(self) -> &'static str {
        match self {
            FailureKind::Failed => "failed",
            FailureKind::Credentials => "credentials",
            FailureKind::Unreachable => "unreachable",
            FailureKind::AccessDenied => "access-denied",
            FailureKind::NotFound => "not-found",
            FailureKind::Refused => "refused",
            FailureKind::InvalidInput => "invalid-input",
        }
    }
}

/// A [`Error::Failed`].
pub fn fail(message: impl Into<String>) -> Error {
    Error::Failed {
        kind: FailureKind::Failed,
        message: message.into(),
    }
}

/// A wrong flag value: [`FailureKind::InvalidInput`].
pub fn invalid(message: impl Into<String>) -> Error {
    Error::Failed {
        kind: FailureKind::InvalidInput,
        message: message.into(),
    }
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
            Error::Failed { kind, .. } => kind.word(),
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

/// An [`Error::Failed`] with a `format!` message; `failed!(kind = NotFound,
/// "…")` names its [`FailureKind`].
macro_rules! failed {
    (kind = $kind:ident, $($arg:tt)*) => {
        $crate::error::Error::Failed {
            kind: $crate::error::FailureKind::$kind,
            message: format!($($arg)*),
        }
    };
    ($($arg:tt)*) => {
        $crate::error::Error::Failed {
            kind: $crate::error::FailureKind::Failed,
            message: format!($($arg)*),
        }
    };
}
pub(crate) use failed;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_survives_context() {
        let e = failed!(kind = NotFound, "S does not exist");
        assert_eq!(e.kind(), "not-found");
        let e = e.context("reading the stack");
        assert_eq!(e.kind(), "not-found");
        assert_eq!(e.to_string(), "reading the stack: S does not exist");
        assert_eq!(failed!("anything else").kind(), "failed");
        assert_eq!(invalid("--x y").kind(), "invalid-input");
    }
}
