//! Without Python 3 the emulator says so, and how to fix it.

#[test]
fn python_missing_is_a_clear_message() {
    let dir = std::env::temp_dir().join(format!("emulator-no-python-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // An interpreter that does not exist, as on a machine without Python.
    let venv = emulator::Venv {
        dir: dir.join("venv"),
        python3: dir.join("no-python3"),
        ..emulator::Venv::default()
    };
    let err = venv.ensure(&mut |_| {}).unwrap_err();
    assert!(
        matches!(err, emulator::EmulatorError::PythonMissing),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("Python 3") && msg.contains("Install"), "{msg}");
    let _ = std::fs::remove_dir_all(&dir);
}
