//! Processes and ports on this machine: whether a pid lives, its children,
//! a free port.

use crate::error::{io, EmulatorError};
use std::net::TcpListener;

/// True while a process with this pid exists and is not a zombie (Linux `/proc`).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit_once(')').map(|(_, r)| r.trim_start());
        !state.is_some_and(|s| s.starts_with('Z') || s.starts_with('X'))
    })
}

/// Pids of the processes whose parent is `pid` (Linux `/proc`).
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().nth(1))
                    .and_then(|s| s.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// Picks a free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16, EmulatorError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io("finding a free port"))?;
    Ok(l.local_addr().map_err(io("reading the port"))?.port())
}
