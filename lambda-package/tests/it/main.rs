//! lambda-package's integration tests, one binary: the ELF/glibc check,
//! reproducible zips, cargo's artifact messages, finding built zips.

mod archive;
mod cargo;
mod elf;
