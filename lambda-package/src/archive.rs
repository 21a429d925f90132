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
pub fn package(dir: &Path, function_name: &str, binary: &[u8]) -> Result<Artifact, PackageError> {
    let fn_dir = dir.join(function_name);
    std::fs::create_dir_all(&fn_dir).map_err(PackageError::io("creating", &fn_dir))?;
    let bootstrap = fn_dir.join("bootstrap");
    write_atomic(&bootstrap, binary, 0o755)?;
    let zip_bytes = reproducible_zip(binary)?;
    let zip = dir.join(format!("{function_name}.zip"));
    write_atomic(&zip, &zip_bytes, 0o644)?;
    Ok(Artifact {
        function_name: function_name.to_string(),
        bootstrap,
        zip,
        sha256: sha256_hex(&zip_bytes),
        size: zip_bytes.len() as u64,
    })
}
