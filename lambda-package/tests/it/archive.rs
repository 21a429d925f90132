//! Reproducible zips, and finding the zips an earlier build left.

use lambda_package::archive::reproducible_zip;
use lambda_package::{artifacts_in, format_size, sha256_hex};

#[test]
fn zips_are_reproducible() {
    let bin: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let a = reproducible_zip(&bin).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = reproducible_zip(&bin).unwrap();
    assert_eq!(a, b);
    let mut other = bin.clone();
    other[7] ^= 1;
    assert_ne!(a, reproducible_zip(&other).unwrap());
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
    assert_eq!(z.len(), 1);
    let f = z.by_index(0).unwrap();
    assert_eq!(f.name(), "bootstrap");
    assert_eq!(f.unix_mode().map(|m| m & 0o777), Some(0o755));
}

#[test]
fn built_zips_are_found_with_their_hash_or_named_as_missing() {
    let dir = std::env::temp_dir().join(format!("lambda-package-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let names = stack::Names::new(None).unwrap();
    for (i, f) in names.functions().iter().enumerate() {
        std::fs::write(dir.join(format!("{f}.zip")), format!("zip {i}")).unwrap();
    }
    let found = artifacts_in(&dir).unwrap();
    assert_eq!(found[0].sha256, sha256_hex(b"zip 0"));
    assert_eq!(found[0].size, 5);
    std::fs::remove_file(dir.join(format!("{}.zip", names.context_manager_function))).unwrap();
    let err = artifacts_in(&dir).unwrap_err().to_string();
    assert!(err.contains("cargo xtask build"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(format_size(2_768_240), "2.64 MiB");
    assert_eq!(format_size(3_174), "3.1 KiB");
}

#[test]
fn an_unchanged_binary_reuses_its_zip_and_a_changed_or_edited_one_does_not() {
    use lambda_package::archive::package;
    let dir = std::env::temp_dir().join(format!("vla-package-reuse-{}", std::process::id()));
    let bin = vec![7u8; 64 * 1024];
    let first = package(&dir, "fn", &bin).unwrap();
    let zip_mtime = || std::fs::metadata(&first.zip).unwrap().modified().unwrap();
    let made = zip_mtime();
    std::thread::sleep(std::time::Duration::from_millis(20));
    // The same binary: the same artifact, the zip not written again.
    let again = package(&dir, "fn", &bin).unwrap();
    assert_eq!(
        (again.sha256.as_str(), again.size),
        (first.sha256.as_str(), first.size)
    );
    assert_eq!(zip_mtime(), made, "the zip was made again");
    // An edited zip is made again, with the reproducible bytes.
    std::fs::write(&first.zip, b"not a zip").unwrap();
    let repaired = package(&dir, "fn", &bin).unwrap();
    assert_eq!(repaired.sha256, first.sha256);
    assert_eq!(
        std::fs::read(&first.zip).unwrap(),
        reproducible_zip(&bin).unwrap()
    );
    // A changed binary: a new zip.
    let changed = package(&dir, "fn", &[8u8; 1024]).unwrap();
    assert_ne!(changed.sha256, first.sha256);
    assert_eq!(std::fs::read(&changed.bootstrap).unwrap(), vec![8u8; 1024]);
    let _ = std::fs::remove_dir_all(&dir);
}
