//! The one error type of the crate: each message says what failed and what to do.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// A sentence for the user (a missing target, a binary Lambda cannot run, ...).
    #[error("{0}")]
    Message(String),
    #[error("{doing}: {source}")]
    Io {
        doing: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Stack(#[from] stack::StackError),
    #[error("writing the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
}

impl PackageError {
    /// An I/O error on `path`, saying what was being done.
    pub fn io(doing: &str, path: &Path) -> impl FnOnce(std::io::Error) -> PackageError {
        let doing = format!("{doing} {}", path.display());
        move |source| PackageError::Io { doing, source }
    }
}
