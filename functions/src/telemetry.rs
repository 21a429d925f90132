//! JSON logs for CloudWatch: one line per request with request id, action,
//! outcome and latency. Content and summaries are never logged.

use tracing_subscriber::fmt::MakeWriter;

/// Installs the JSON subscriber writing to stdout (level from `RUST_LOG`,
/// default `info`). Safe to call more than once.
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// The same subscriber writing to `writer` (tests capture the logs with it).
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(writer)
        .try_init();
}
