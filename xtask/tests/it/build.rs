//! `cargo xtask build` refusing what it cannot do, before any compiling.

use std::process::Command;

/// The Lambda architecture that is not this machine's.
fn foreign_arch() -> (&'static str, &'static str) {
    if std::env::consts::ARCH == "aarch64" {
        ("x86_64", "x86_64-unknown-linux-gnu")
    } else {
        ("arm64", "aarch64-unknown-linux-gnu")
    }
}

#[test]
fn a_foreign_arch_without_its_target_says_how_to_install_it() {
    // A PATH whose `rustup` lists only the host target, and no cargo-zigbuild.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("build-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rustup = dir.join("rustup");
    std::fs::write(
        &rustup,
        "#!/bin/sh\necho x86_64-unknown-linux-gnu\necho aarch64-apple-darwin\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rustup, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (arch, triple) = foreign_arch();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["build", "--arch", arch])
        .env("PATH", format!("{}:/usr/bin:/bin", dir.display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("rustup target add {triple}")),
        "{err}"
    );
    assert!(
        err.contains(triple) && err.contains("not installed"),
        "{err}"
    );
    assert!(!err.contains("Compiling"), "nothing is built: {err}");
}

#[test]
fn build_help_names_both_architectures() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["build", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("arm64") && help.contains("x86_64"), "{help}");
}
