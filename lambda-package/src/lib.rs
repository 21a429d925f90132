//! Building the function binaries for Lambda (`provided.al2023`): the cargo
//! invocation, the ELF/glibc check, reproducible zips and their content hash.
//!
//! - cargo-zigbuild when it is installed (it links against glibc 2.34 for
//!   any target); otherwise plain cargo for the host architecture, or for
//!   another one when its Rust target and a linker are installed.
//! - Every binary's ELF version needs are read: a `GLIBC_x.y` newer than 2.34
//!   (what `provided.al2023` ships) fails the build with a clear message.
//! - `target/lambda/<function name>/bootstrap` and
//!   `target/lambda/<function name>.zip`: one entry `bootstrap`, mode 0755,
//!   fixed timestamp (1980-01-01), fixed deflate level, so the same binary
//!   always gives the same zip and the same sha256.

pub mod arch;
pub mod archive;
pub mod artifact;
pub mod build;
pub mod cargo;
pub mod digest;
pub mod elf;
pub mod error;

pub use arch::Arch;
pub use artifact::{artifacts_in, format_size, Artifact};
pub use build::build_all;
pub use digest::{hex, sha256_hex};
pub use error::PackageError;
