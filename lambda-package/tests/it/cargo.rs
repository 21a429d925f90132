//! What cargo's JSON messages say it built.

use lambda_package::cargo::parse_artifacts;
use std::path::PathBuf;

#[test]
fn cargo_artifacts_are_parsed() {
    let out = r#"{"reason":"compiler-artifact","target":{"name":"context-manager"},"executable":"/t/debug/context-manager"}
{"reason":"compiler-artifact","target":{"name":"functions"},"executable":null}
{"reason":"build-finished","success":true}"#;
    let m = parse_artifacts(out);
    assert_eq!(m.len(), 1);
    assert_eq!(
        m["context-manager"],
        PathBuf::from("/t/debug/context-manager")
    );
}
