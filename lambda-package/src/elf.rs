//! What Lambda needs of a binary: an ELF64 little-endian executable for the
//! architecture, needing no glibc newer than `provided.al2023`'s 2.34 (read
//! from its version-needs section with the `object` crate).

use crate::arch::Arch;
use crate::error::PackageError;
use object::read::elf::{FileHeader, SectionHeader};
use object::{elf, Endianness};

/// The newest glibc `provided.al2023` has.
pub const MAX_GLIBC: (u32, u32) = (2, 34);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    pub machine: u16,
    /// Every `GLIBC_major.minor` the binary needs, sorted, deduplicated.
    pub glibc_versions: Vec<(u32, u32)>,
}

/// Parses `GLIBC_2.34` into (2, 34).
pub fn parse_glibc(name: &str) -> Option<(u32, u32)> {
    let v = name.strip_prefix("GLIBC_")?;
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

fn bad(e: object::Error) -> PackageError {
    PackageError::Message(format!("unreadable ELF: {e}"))
}

/// The machine and the `GLIBC_x.y` versions in `SHT_GNU_verneed`.
pub fn read(b: &[u8]) -> Result<ElfInfo, PackageError> {
    if !b.starts_with(&elf::ELFMAG) {
        return Err(PackageError::Message("not an ELF file".into()));
    }
    let header = elf::FileHeader64::<Endianness>::parse(b)
        .ok()
        .filter(|h| h.is_little_endian())
        .ok_or_else(|| {
            PackageError::Message("not a 64-bit little-endian ELF (Lambda needs one)".into())
        })?;
    let endian = header.endian().map_err(bad)?;
    let sections = header.sections(endian, b).map_err(bad)?;
    let mut versions = Vec::new();
    for section in sections.iter() {
        let Some((mut needs, link)) = section.gnu_verneed(endian, b).map_err(bad)? else {
            continue;
        };
        let strings = sections.strings(endian, b, link).map_err(bad)?;
        while let Some((_, mut aux)) = needs.next().map_err(bad)? {
            while let Some(a) = aux.next().map_err(bad)? {
                let name = a.name(endian, strings).map_err(bad)?;
                if let Some(v) = std::str::from_utf8(name).ok().and_then(parse_glibc) {
                    versions.push(v);
                }
            }
        }
    }
    versions.sort_unstable();
    versions.dedup();
    Ok(ElfInfo {
        machine: header.e_machine(endian),
        glibc_versions: versions,
    })
}

/// Checks the binary is an ELF for `arch` needing no glibc newer than 2.34.
pub fn check_binary(bytes: &[u8], arch: Arch) -> Result<(), PackageError> {
    let info = read(bytes)?;
    if info.machine != arch.elf_machine() {
        let found = Arch::from_elf_machine(info.machine)
            .map(|a| a.lambda_name().to_string())
            .unwrap_or_else(|| format!("ELF machine {}", info.machine));
        return Err(PackageError::Message(format!(
            "the binary is built for {found} but the functions are to run on {}",
            arch.lambda_name(),
        )));
    }
    let too_new: Vec<String> = info
        .glibc_versions
        .iter()
        .filter(|v| **v > MAX_GLIBC)
        .map(|(a, b)| format!("GLIBC_{a}.{b}"))
        .collect();
    if !too_new.is_empty() {
        let (major, minor) = MAX_GLIBC;
        return Err(PackageError::Message(format!(
            "the binary needs {} but Lambda's provided.al2023 has glibc {major}.{minor}. Install cargo-zigbuild (`pip install ziglang && cargo install --locked cargo-zigbuild`) so the build links against glibc {major}.{minor}, or build on a system with glibc <= {major}.{minor}",
            too_new.join(", "),
        )));
    }
    Ok(())
}
