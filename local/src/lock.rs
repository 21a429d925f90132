//! One `dev` per stage directory: two runs on one `.dev/<stage>` would
//! share moto's saved state and overwrite each other's. The lock is an
//! advisory file lock on `<stage dir>/dev.lock` (released by the kernel
//! when the process ends, even on SIGKILL); the file names the holder.

use crate::error::{Context, LocalError, Result};
use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Held while a dev stack runs on a stage directory.
#[derive(Debug)]
pub struct DevLock {
    _file: File,
    pub path: PathBuf,
}

impl DevLock {
    /// Takes the lock of `stage_dir`, or says which process holds it.
    pub fn acquire(stage_dir: &Path) -> Result<DevLock> {
        let path = stage_dir.join("dev.lock");
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let pid = holder
                    .lines()
                    .find_map(|l| l.strip_prefix("pid "))
                    .map(str::trim)
                    .filter(|p| !p.is_empty());
                let who = match pid {
                    Some(pid) => format!("process {pid}"),
                    None => "another process".to_string(),
                };
                let kill = pid.map(|p| format!(" or `kill {p}`")).unwrap_or_default();
                return Err(LocalError::Message(format!(
                    "another `cargo xtask dev` ({who}) is running on {}: stop it (Ctrl-C in its terminal{kill}), or run this one with another --stage or --data-dir.",
                    stage_dir.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
        file.set_len(0)
            .and_then(|()| writeln!(file, "pid {}", std::process::id()))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(DevLock { _file: file, path })
    }
}
