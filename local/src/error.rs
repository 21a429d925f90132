//! The crate's error: a sentence saying what failed (and, where it helps, what to do).

use std::fmt::Display;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("{0}")]
    Message(String),
    #[error(transparent)]
    Emulator(#[from] emulator::EmulatorError),
    #[error(transparent)]
    Stack(#[from] stack::StackError),
    #[error(transparent)]
    Package(#[from] lambda_package::PackageError),
    #[error(transparent)]
    Resolve(#[from] stack::resolve::ResolveError),
}

pub type Result<T, E = LocalError> = std::result::Result<T, E>;

/// Returns a [`LocalError::Message`] with a `format!` message.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::LocalError::Message(format!($($arg)*)))
    };
}
pub(crate) use bail;

/// The error and its sources on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.contains(&t) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// `what: cause` for any error or a missing value.
pub trait Context<T> {
    fn context(self, what: impl Display) -> Result<T>;
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: std::error::Error> Context<T> for Result<T, E> {
    fn context(self, what: impl Display) -> Result<T> {
        self.map_err(|e| LocalError::Message(format!("{what}: {}", chain(&e))))
    }
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| LocalError::Message(format!("{}: {}", what(), chain(&e))))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: impl Display) -> Result<T> {
        self.ok_or_else(|| LocalError::Message(what.to_string()))
    }
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.ok_or_else(|| LocalError::Message(what().to_string()))
    }
}
