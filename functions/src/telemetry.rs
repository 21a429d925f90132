//! JSON logs for CloudWatch: one line per request with request id, action,
//! outcome and latency. Content and summaries are never logged.

/// Installs the JSON subscriber (level from `RUST_LOG`, default `info`).
/// Safe to call more than once.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .with_span_list(false)
        .try_init();
}
