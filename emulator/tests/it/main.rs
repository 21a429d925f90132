//! The emulator crate's integration tests, one binary: MiniStack's
//! lifecycle and the clear errors of a missing or too old Python.

mod ministack_lifecycle;
mod pipes;
mod python_missing;
mod python_too_old;
