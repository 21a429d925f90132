//! Where the local cloud's messages go (function output, restarts, access
//! log): stderr for `cargo xtask dev`, a buffer in tests.

use std::fmt;
use std::sync::{Arc, Mutex};

/// A sink for one line at a time.
#[derive(Clone)]
pub struct Log(Arc<dyn Fn(&str) + Send + Sync>);

impl Log {
    pub fn stderr() -> Log {
        Log(Arc::new(|l| eprintln!("{l}")))
    }

    /// Lines kept in memory, and the log that keeps them.
    pub fn memory() -> (Log, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = lines.clone();
        let log = Log(Arc::new(move |l| {
            kept.lock().expect("log lock").push(l.to_string())
        }));
        (log, lines)
    }

    pub fn line(&self, l: &str) {
        (self.0)(l)
    }
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Log")
    }
}

/// `log.line(&format!(...))`.
macro_rules! say {
    ($log:expr, $($arg:tt)*) => {
        $log.line(&format!($($arg)*))
    };
}
pub(crate) use say;
