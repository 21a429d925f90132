//! The errors a user can hit while starting an emulator; each says what to do.

use std::path::PathBuf;
use std::time::Duration;

/// Errors a user can hit while starting the emulator; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("Python 3 was not found (tried `python3`). Install Python 3.9 or newer (e.g. `apt install python3 python3-venv`) and run again.")]
    PythonMissing,
    #[error("{venv} needs Python {needed} or newer, but it was made with Python {found}. Install a newer `python3` (e.g. from your package manager or python.org), delete {venv} and run again.")]
    PythonTooOld {
        venv: PathBuf,
        needed: String,
        found: String,
    },
    #[error("creating the venv at {path} failed: {detail}. Check that the `venv` module is installed (`apt install python3-venv`).")]
    VenvFailed { path: PathBuf, detail: String },
    #[error("installing the pinned Python tools from {requirements} failed (pip said: {detail}). Check your network access to PyPI and run again.")]
    PipFailed {
        requirements: PathBuf,
        detail: String,
    },
    #[error("the {server} server did not start within {after:?}: {detail}")]
    StartTimeout {
        server: &'static str,
        after: Duration,
        detail: String,
    },
    #[error("I/O error while {doing}: {source}")]
    Io {
        doing: String,
        #[source]
        source: std::io::Error,
    },
}

pub fn io(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmulatorError {
    let doing = doing.into();
    move |source| EmulatorError::Io { doing, source }
}
