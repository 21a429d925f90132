//! A TypeScript client keeps compiling: types generated from
//! `templates/openapi.yaml` with openapi-typescript, then a small program
//! that uses every operation (`xtask/tests/ts-client/client.ts`) checked
//! with `tsc --noEmit --strict`. Both tools are pinned
//! (`xtask/tests/ts-client/package-lock.json`) and installed with `npm ci`
//! under `target/tmp` on first use. A schema change that breaks this
//! program fails here, as shown with a renamed field.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The pinned tools' manifest and the client program, in the repository.
fn sources() -> PathBuf {
    emulator::workspace_root().join("xtask/tests/ts-client")
}

/// Where the tools are installed: beside the build, not in the sources.
fn tools() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ts-client-tools")
}

/// `npm ci` into `dir` when it was not installed from the repository's
/// lock file.
fn ensure_installed(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for f in ["package.json", "package-lock.json"] {
        std::fs::copy(sources().join(f), dir.join(f)).unwrap();
    }
    let lock = std::fs::read_to_string(dir.join("package-lock.json")).unwrap();
    let stamp = dir.join("node_modules/.lock-stamp");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(lock.as_str()) {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("npm could not run ({e}): install Node.js 18 or newer with npm (.ci/run uses the machine's)")
        });
    assert!(
        out.status.success(),
        "npm ci in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&stamp, lock).unwrap();
}

/// Generates the types of `openapi` and type-checks the client against them.
fn check(openapi: &Path, scratch: &Path) -> Output {
    let dir = tools();
    std::fs::create_dir_all(scratch).unwrap();
    std::fs::copy(sources().join("client.ts"), scratch.join("client.ts")).unwrap();
    let generated = Command::new(dir.join("node_modules/.bin/openapi-typescript"))
        .arg(openapi)
        .args(["--default-non-nullable", "false", "-o"])
        .arg(scratch.join("api.d.ts"))
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "openapi-typescript failed:\n{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    Command::new(dir.join("node_modules/.bin/tsc"))
        .args([
            "--noEmit",
            "--strict",
            "--target",
            "es2022",
            "--module",
            "esnext",
            "--moduleResolution",
            "bundler",
            "client.ts",
        ])
        .current_dir(scratch)
        .output()
        .unwrap()
}

#[test]
fn a_typescript_client_of_every_operation_compiles_and_a_breaking_change_does_not() {
    ensure_installed(&tools());
    let scratch = testkit::scratch_dir("ts-client");
    let openapi = emulator::workspace_root().join("templates/openapi.yaml");
    let ok = check(&openapi, &scratch.join("current"));
    assert!(
        ok.status.success(),
        "the client does not compile against templates/openapi.yaml:\n{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // A breaking change: a field every client reads and sends, renamed.
    let renamed = std::fs::read_to_string(&openapi)
        .unwrap()
        .replace("currentTopic", "topic");
    let broken = scratch.join("broken.yaml");
    std::fs::write(&broken, renamed).unwrap();
    let out = check(&broken, &scratch.join("broken"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a renamed field went unnoticed");
    assert!(text.contains("'currentTopic' does not exist"), "{text}");
    let _ = std::fs::remove_dir_all(&scratch);
}
