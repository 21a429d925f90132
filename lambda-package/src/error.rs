//! The one error type of the crate: each message says what failed and what to do.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// A sentence for the user (a missing target, a binary Lambda cannot run, ...).
    #[error("{0}")]
    Message(String),
    /// The I/O error's text is part of the message (no `source`, so a chain prints it once).
    #[error("{doing}: {err}")]
    Io { doing: String, err: std::io::Error },
    #[error(transparent)]
    Stack(#[from] stack::StackError),
}

impl From<zip::result::ZipError> for PackageError {
    fn from(e: zip::result::ZipError) -> Self {
        PackageError::Message(format!("writing the zip: {e}"))
    }
}

impl PackageError {
    /// An I/O error on `path`, saying what was being done.
    pub fn io(doing: &str, path: &Path) -> impl FnOnce(std::io::Error) -> PackageError {
        let doing = format!("{doing} {}", path.display());
        move |err| PackageError::Io { doing, err }
    }
}
