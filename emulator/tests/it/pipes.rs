//! A child that writes much to stderr before it closes stdout (pip with
//! many warnings) does not block the installer.

use std::process::Command;
use std::time::Duration;

#[test]
fn a_full_stderr_pipe_does_not_deadlock() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut cmd = Command::new("sh");
        // 256 KiB on stderr first: far more than a pipe holds.
        cmd.args([
            "-c",
            "head -c 262144 /dev/zero | tr '\\0' w >&2; echo Collecting x; echo Successfully installed x",
        ]);
        let mut lines = vec![];
        let r = emulator::venv::run_with_progress(cmd, &mut |l| lines.push(l.to_string()));
        let _ = tx.send((r.map(|(s, e)| (s.success(), e.len())), lines));
    });
    let (r, lines) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the child and the reader blocked each other");
    assert_eq!(r.unwrap(), (true, 262144));
    assert_eq!(lines, ["Collecting x", "Successfully installed x"]);
}
