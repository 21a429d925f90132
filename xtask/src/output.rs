//! Standard output: with `--json` it carries exactly one JSON document,
//! printed once when the command ends (its result, or `{"error": {...}}`
//! with the non-zero exit), and a reader that stopped reading (`| head`)
//! is not an error: nothing written to stdout panics on a closed pipe.

use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static JSON: AtomicBool = AtomicBool::new(false);
static DOC: Mutex<Option<Value>> = Mutex::new(None);
/// The one document was printed (an error's, before the command returned).
static PRINTED: AtomicBool = AtomicBool::new(false);

/// `println!` that ignores a closed stdout (EPIPE), as `synth` does.
macro_rules! outln {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
pub(crate) use outln;

/// This run was asked for `--json`.
pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Adds `doc`'s fields to the run's result (a later report, e.g. a failed
/// smoke test after the deploy, overrides the fields it repeats).
pub fn result(doc: Value) {
    let mut slot = DOC.lock().unwrap_or_else(|p| p.into_inner());
    match (slot.as_mut(), doc) {
        (Some(Value::Object(have)), Value::Object(add)) => have.extend(add),
        (_, doc) => *slot = Some(doc),
    }
}

/// The `kind` of an error: what a script can branch on.
pub fn error_kind(e: &anyhow::Error) -> &'static str {
    for cause in e.chain() {
        if let Some(d) = cause.downcast_ref::<deploy::Error>() {
            return d.kind();
        }
        if cause.downcast_ref::<stack::StackError>().is_some() {
            return "invalid-input";
        }
        if cause
            .downcast_ref::<lambda_package::PackageError>()
            .is_some()
        {
            return "build";
        }
        if cause.downcast_ref::<local::LocalError>().is_some() {
            return "local";
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return "io";
        }
    }
    "error"
}

/// `{"error": {"message", "kind"}}`, with what the command reported before it failed.
pub fn error_doc(message: &str, kind: &str) -> Value {
    let mut doc = DOC
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .and_then(|d| match d {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default();
    doc.insert("error".into(), json!({"message": message, "kind": kind}));
    Value::Object(doc)
}

fn print_doc(doc: &Value) {
    if PRINTED.swap(true, Ordering::Relaxed) {
        return;
    }
    let text = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "{}".into());
    outln!("{text}");
}

/// Ends the run: prints the error (one sentence on stderr; with `--json`
/// also the error document on stdout) or the JSON result, and the exit code.
pub fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => {
            if is_json() {
                let doc = DOC.lock().unwrap_or_else(|p| p.into_inner()).take();
                print_doc(&doc.unwrap_or_else(|| json!({})));
            }
            code
        }
        Err(e) => fail(e, 1),
    }
}

/// Prints `e` (one sentence on stderr; with `--json` the error document on
/// stdout) and exits with `code`.
pub fn fail(e: anyhow::Error, code: u8) -> ExitCode {
    let message = format!("{e:#}");
    {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), "error: {message}");
    }
    if is_json() {
        print_doc(&error_doc(&message, error_kind(&e)));
    }
    ExitCode::from(code)
}

/// A usage error (bad flags) of a `--json` run, as its one document.
pub fn usage_error(message: &str) {
    let message = message.trim();
    print_doc(&error_doc(
        message.strip_prefix("error: ").unwrap_or(message),
        "usage",
    ));
}
