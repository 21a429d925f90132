//! A venv whose Python is older than its tools need says so, and what to do,
//! before pip runs.

use std::os::unix::fs::PermissionsExt;

#[test]
fn python_too_old_is_a_clear_message() {
    let dir = std::env::temp_dir().join(format!("emulator-old-python-{}", std::process::id()));
    let bin = dir.join("venv").join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // A venv whose python is 3.9; no pip, so reaching pip would fail differently.
    let python = bin.join("python");
    std::fs::write(&python, "#!/bin/sh\necho 3.9\n").unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let venv = emulator::Venv {
        dir: dir.join("venv"),
        requirements: dir.join("requirements.txt"),
        constraints: dir.join("requirements.lock"),
        min_python: (3, 10),
        ..emulator::Venv::default()
    };
    std::fs::write(&venv.requirements, "ministack==1.5.33\n").unwrap();
    let err = venv.ensure(&mut |_| {}).unwrap_err();
    assert!(
        matches!(&err, emulator::EmulatorError::PythonTooOld { found, needed, .. }
            if found == "3.9" && needed == "3.10"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("Python 3.10 or newer") && msg.contains("3.9"),
        "{msg}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
