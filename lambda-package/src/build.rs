//! The release build of both functions for Lambda, packaged.

use crate::arch::Arch;
use crate::archive::package;
use crate::artifact::Artifact;
use crate::cargo::{
    cargo_build_command, function_names, run_cargo_build, target_dir, target_installed,
    zigbuild_available,
};
use crate::elf::{check_binary, MAX_GLIBC};
use crate::error::PackageError;

/// Release-builds both functions for Lambda and packages them into
/// `target/lambda`; `progress` gets one line before cargo starts.
pub fn build_all(
    arch: Arch,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Artifact>, PackageError> {
    let names = function_names()?;
    let zig = zigbuild_available();
    let native = Arch::host() == Some(arch);
    let triple = arch.triple();
    let target = if zig {
        // cargo-zigbuild pins the glibc version with a suffix on the target.
        Some(format!("{triple}.{}.{}", MAX_GLIBC.0, MAX_GLIBC.1))
    } else if native {
        None
    } else {
        Some(triple.to_string())
    };
    if target.is_some() && !target_installed(triple) {
        return Err(PackageError::Message(format!(
            "the Rust target {triple} (Lambda {}) is not installed. Install it with:\n    rustup target add {triple}\n{}",
            arch.lambda_name(),
            if zig {
                ""
            } else {
                "and, to link it, cargo-zigbuild (`pip install ziglang && cargo install --locked cargo-zigbuild`), or build with --arch x86_64 on this machine"
            }
        )));
    }
    progress(&format!(
        "building {} for Lambda {} (release{})",
        names
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        arch.lambda_name(),
        if zig {
            ", cargo-zigbuild, glibc 2.34"
        } else {
            ""
        }
    ));
    let exes = run_cargo_build(cargo_build_command(true, target.as_deref(), zig))?;
    let lambda_dir = target_dir()?.join("lambda");
    let mut artifacts = Vec::new();
    for (bin, function_name) in names {
        let exe = exes.get(bin).ok_or_else(|| {
            PackageError::Message(format!("cargo built no executable for the bin `{bin}`"))
        })?;
        let bytes = std::fs::read(exe).map_err(PackageError::io("reading", exe))?;
        check_binary(&bytes, arch).map_err(|e| {
            PackageError::Message(format!("{function_name} ({}): {e}", exe.display()))
        })?;
        artifacts.push(package(&lambda_dir, &function_name, &bytes)?);
    }
    Ok(artifacts)
}
