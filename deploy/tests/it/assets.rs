//! The asset bucket's name and content-addressed keys.

use deploy::assets::{bucket_name, from_artifacts};
use stack::module::ids;

#[test]
fn bucket_names_fit_s3_rules() {
    let b = bucket_name("123456789012", "ap-southeast-2");
    assert!(b.len() <= 63);
    assert!(b
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
}

#[test]
fn assets_map_functions_to_their_parameters_and_content_addressed_keys() {
    let dir = std::env::temp_dir().join(format!("xtask-assets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let names = stack::Names::new(None).unwrap();
    for (i, f) in names.functions().iter().enumerate() {
        std::fs::write(dir.join(format!("{f}.zip")), format!("zip {i}")).unwrap();
    }
    let assets = from_artifacts(&lambda_package::artifacts_in(&dir).unwrap()).unwrap();
    assert_eq!(assets[0].parameter, ids::P_SESSION_PERSISTENCE_CODE_KEY);
    assert_eq!(assets[1].parameter, ids::P_CONTEXT_MANAGER_CODE_KEY);
    let expected = lambda_package::sha256_hex(b"zip 0");
    assert_eq!(assets[0].key, format!("code/{expected}.zip"));
    assert_ne!(assets[0].key, assets[1].key);
    std::fs::remove_file(dir.join(format!("{}.zip", names.context_manager_function))).unwrap();
    let err = lambda_package::artifacts_in(&dir).unwrap_err().to_string();
    assert!(err.contains("cargo xtask build"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
