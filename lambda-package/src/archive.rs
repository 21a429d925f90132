//! Reproducible zips: the same binary always gives the same bytes.

use crate::artifact::Artifact;
use crate::digest::sha256_hex;
use crate::error::PackageError;
use std::io::Write;
use std::path::Path;

/// A zip with the single entry `bootstrap` (0755), fixed timestamp and level.
pub fn reproducible_zip(binary: &[u8]) -> Result<Vec<u8>, PackageError> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    w.start_file("bootstrap", opts)?;
    w.write_all(binary).map_err(|err| PackageError::Io {
        doing: "zipping the bootstrap".into(),
        err,
    })?;
    Ok(w.finish()?.into_inner())
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PackageError> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(PackageError::io("writing", &tmp))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
        .map_err(PackageError::io("setting the mode of", &tmp))?;
    std::fs::rename(&tmp, path).map_err(PackageError::io("writing", path))
}

/// Writes `<dir>/<name>/bootstrap` and the reproducible `<dir>/<name>.zip`.
/// Compressing a 6 MiB binary at level 9 takes most of a no-op deploy, so a
/// zip already made from the same binary is kept: `<name>.zip.sha256`
/// records the binary's and the zip's SHA-256, and the zip is reused only
/// when both still match (an edited or truncated zip is made again).
pub fn package(dir: &Path, function_name: &str, binary: &[u8]) -> Result<Artifact, PackageError> {
    let fn_dir = dir.join(function_name);
    std::fs::create_dir_all(&fn_dir).map_err(PackageError::io("creating", &fn_dir))?;
    let bootstrap = fn_dir.join("bootstrap");
    let zip = dir.join(format!("{function_name}.zip"));
    let stamp = dir.join(format!("{function_name}.zip.sha256"));
    let binary_sha = sha256_hex(binary);
    if let Some(zip_bytes) = reusable_zip(&zip, &stamp, &binary_sha, &bootstrap, binary) {
        return Ok(Artifact {
            function_name: function_name.to_string(),
            bootstrap,
            zip,
            sha256: sha256_hex(&zip_bytes),
            size: zip_bytes.len() as u64,
        });
    }
    write_atomic(&bootstrap, binary, 0o755)?;
    let zip_bytes = reproducible_zip(binary)?;
    write_atomic(&zip, &zip_bytes, 0o644)?;
    let zip_sha = sha256_hex(&zip_bytes);
    write_atomic(
        &stamp,
        format!("{binary_sha} {zip_sha}\n").as_bytes(),
        0o644,
    )?;
    Ok(Artifact {
        function_name: function_name.to_string(),
        bootstrap,
        zip,
        sha256: zip_sha,
        size: zip_bytes.len() as u64,
    })
}

/// The zip made earlier from a binary with `binary_sha`, when the stamp says
/// so, the zip still hashes to what the stamp recorded and the bootstrap
/// beside it is this binary.
fn reusable_zip(
    zip: &Path,
    stamp: &Path,
    binary_sha: &str,
    bootstrap: &Path,
    binary: &[u8],
) -> Option<Vec<u8>> {
    let recorded = std::fs::read_to_string(stamp).ok()?;
    let (for_binary, zip_sha) = recorded.trim().split_once(' ')?;
    if for_binary != binary_sha {
        return None;
    }
    let zip_bytes = std::fs::read(zip).ok()?;
    if sha256_hex(&zip_bytes) != zip_sha {
        return None;
    }
    let on_disk = std::fs::metadata(bootstrap).ok()?;
    (on_disk.len() == binary.len() as u64 && std::fs::read(bootstrap).ok()? == binary)
        .then_some(zip_bytes)
}
