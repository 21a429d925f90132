//! One dev per stage directory: a second is refused, naming the holder.

use crate::support::{data_dir, fixture, Dev};
use local::lock::DevLock;

#[test]
fn a_second_holder_is_refused_with_the_first_ones_process() {
    let dir = data_dir("lock");
    std::fs::create_dir_all(&dir).unwrap();
    let first = DevLock::acquire(&dir).unwrap();
    let e = DevLock::acquire(&dir).unwrap_err().to_string();
    assert!(
        e.contains(&format!("process {}", std::process::id())) && e.contains("--stage"),
        "{e}"
    );
    drop(first);
    DevLock::acquire(&dir).expect("free again once the first is gone");
}

#[test]
fn a_running_dev_holds_its_stage_directory() {
    let dir = data_dir("lock-running");
    let dev = Dev::start(fixture(&dir));
    let e = DevLock::acquire(&dir.join("default"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("another `cargo xtask dev`"), "{e}");
    // Another stage is another directory: free.
    std::fs::create_dir_all(dir.join("qa")).unwrap();
    DevLock::acquire(&dir.join("qa")).unwrap();
    dev.stop();
    DevLock::acquire(&dir.join("default")).expect("released when dev stops");
}
