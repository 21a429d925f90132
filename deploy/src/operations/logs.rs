//! `logs`: the functions' CloudWatch Logs, read with `FilterLogEvents`
//! (every page), optionally followed by polling, each event parsed into a
//! [`LogLine`] the CLI renders as one line.
//!
//! The functions write one JSON object per request (`tracing`'s JSON layer,
//! flattened: `timestamp`, `level`, `request_id`, `lambda_request_id`,
//! `function`, `action`, `outcome`, `status`, `latency_ms`); Lambda's JSON
//! log format adds its own `platform.*` records and does not re-encode a
//! line that already is JSON
//! (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html>).

use crate::aws::{self, explain, Aws};
use crate::error::{failed, Result};
use crate::options::AwsOptions;
use crate::stack_state::describe_stack;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::Duration;

/// Which log groups: the functions', the HTTP API's access log, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LogSource {
    /// The functions' log groups.
    #[default]
    Functions,
    /// The access log: every request the API answered, the gateway's own
    /// 401, 403, 413 and 429 included (they never reach a function).
    Api,
    /// Both.
    All,
}

/// The short name the API's access-log lines carry in the function column.
pub const API_SOURCE: &str = "api";

#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub aws: AwsOptions,
    pub stage: Option<String>,
    /// Whose logs; `None`: both functions.
    pub function: Option<stack::Function>,
    pub source: LogSource,
    /// Only answers with this status: `401`, or a class such as `4xx`.
    pub status: Option<String>,
    /// Only requests of this route (`POST /sessions`; access-log lines).
    pub route: Option<String>,
    /// How far back to start (at most 366 days).
    pub since: Duration,
    /// Keep polling for new events until Ctrl-C (or the sink stops).
    pub follow: bool,
    /// Only events containing this text.
    pub filter: Option<String>,
    /// Only events of this request (the API's `requestId` or Lambda's).
    pub request_id: Option<String>,
    /// Pause between polls with `follow`.
    pub poll_interval: Duration,
    /// Events per FilterLogEvents page (`None`: the service's default, up to 10,000).
    pub page_limit: Option<i32>,
}

/// One log event, parsed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    /// RFC 3339, milliseconds, UTC.
    pub time: String,
    #[serde(skip)]
    pub timestamp_ms: i64,
    /// The short function name: `session-persistence` or `context-manager`.
    pub function: String,
    /// `INFO`, `WARN`, `ERROR`, ...
    pub level: String,
    /// `request` (the functions' per-request line), `platform.report`, ... or `text`.
    pub kind: String,
    pub action: Option<String>,
    pub status: Option<u16>,
    pub outcome: Option<String>,
    pub latency_ms: Option<f64>,
    pub request_id: Option<String>,
    pub lambda_request_id: Option<String>,
    /// X-Ray's trace id of the request (the functions' request lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The rest, for lines that are not a request line (a report's figures, a panic message).
    pub message: String,
    #[serde(skip)]
    pub event_id: String,
}

impl LogLine {
    /// An error worth highlighting: level ERROR, a 5xx, or a failed invocation.
    pub fn is_error(&self) -> bool {
        self.level == "ERROR" || self.status.is_some_and(|s| s >= 500)
    }

    /// A warning worth highlighting less: level WARN.
    pub fn is_warning(&self) -> bool {
        self.level == "WARN"
    }
}

/// The farthest back `logs` reads: a year, the longest log retention
/// that is not "never expire" beyond this module's 30 days.
pub const MAX_SINCE: Duration = Duration::from_secs(366 * 86_400);

/// Whether `status` (an answer's) is what `--status` asks for: a code
/// (`401`) or a class (`4xx`).
pub fn status_matches(wanted: &str, status: u16) -> bool {
    match wanted.as_bytes() {
        [c, b'x', b'x'] => status / 100 == u16::from(c - b'0'),
        _ => wanted.parse::<u16>() == Ok(status),
    }
}

/// `--status` as given, checked before AWS is asked.
pub fn check_status(wanted: &str) -> Result<()> {
    let ok = match wanted.as_bytes() {
        [c @ b'1'..=b'5', b'x', b'x'] => c.is_ascii_digit(),
        [a, b, c] => [a, b, c].iter().all(|d| d.is_ascii_digit()) && (b'1'..=b'5').contains(a),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(failed!("--status `{wanted}` is not an HTTP status: give a code such as 401 or a class such as 4xx or 5xx."))
    }
}

/// The log groups for the stage, source and function choice: (short name, group).
pub fn groups(
    names: &stack::Names,
    source: LogSource,
    choice: Option<stack::Function>,
) -> Vec<(String, String)> {
    let mut out = match source {
        LogSource::Api => vec![],
        _ => log_groups(names, choice),
    };
    if source != LogSource::Functions {
        out.push((
            API_SOURCE.to_string(),
            stack::module::api_access_log_group(names),
        ));
    }
    out
}

/// An access-log line of the HTTP API (the stage's JSON format:
/// `stack::module`'s access format), as a [`LogLine`]: the route in the
/// action column; the caller's IP and the gateway's own error, if any, in
/// the message.
pub fn parse_access_event(timestamp_ms: i64, event_id: &str, message: &str) -> LogLine {
    let v: Value = serde_json::from_str(message.trim()).unwrap_or(Value::Null);
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && *s != "-")
            .map(str::to_string)
    };
    let status = s("status").and_then(|x| x.parse::<u16>().ok());
    let mut extra = vec![];
    for k in ["ip", "authorizerError", "integrationError"] {
        if let Some(x) = s(k) {
            extra.push(format!("{k}={x}"));
        }
    }
    LogLine {
        time: rfc3339_ms(timestamp_ms),
        timestamp_ms,
        function: API_SOURCE.into(),
        level: match status {
            Some(st) if st >= 500 => "ERROR".into(),
            Some(st) if st >= 400 => "WARN".into(),
            _ => "INFO".into(),
        },
        kind: if status.is_some() {
            "access".into()
        } else {
            "text".into()
        },
        action: s("routeKey"),
        status,
        outcome: None,
        latency_ms: s("latency").and_then(|x| x.parse::<f64>().ok()),
        request_id: s("requestId"),
        lambda_request_id: None,
        trace_id: None,
        message: if status.is_some() {
            extra.join(" ")
        } else {
            message.trim_end().to_string()
        },
        event_id: event_id.to_string(),
    }
}

/// The functions' log groups for the stage and choice: (short name, group).
pub fn log_groups(names: &stack::Names, choice: Option<stack::Function>) -> Vec<(String, String)> {
    stack::Function::ALL
        .iter()
        .filter(|f| choice.is_none_or(|c| c == **f))
        .map(|f| (f.binary().to_string(), f.log_group(names)))
        .collect()
}

/// The server-side filter: one quoted term (a quoted term matches the exact
/// phrase, JSON lines included), the request id when given since it is the
/// more selective; the other is applied here. One term because emulators
/// do not all parse several.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>
pub fn filter_pattern(filter: Option<&str>, request_id: Option<&str>) -> Option<String> {
    [request_id, filter]
        .into_iter()
        .flatten()
        .find(|t| !t.is_empty())
        .map(|t| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\"")))
}

/// `2026-11-29T16:20:01.123Z`: always three digits of milliseconds, so the lines align.
pub fn rfc3339_ms(ms: i64) -> String {
    match DateTime::from_secs(ms.div_euclid(1000)).fmt(Format::DateTime) {
        Ok(s) => format!("{}.{:03}Z", s.trim_end_matches('Z'), ms.rem_euclid(1000)),
        Err(_) => ms.to_string(),
    }
}

/// Parses one event's message (the functions' JSON, a Lambda platform
/// record, or plain text).
pub fn parse_event(function: &str, timestamp_ms: i64, event_id: &str, message: &str) -> LogLine {
    let mut line = LogLine {
        time: rfc3339_ms(timestamp_ms),
        timestamp_ms,
        function: function.to_string(),
        level: "INFO".into(),
        kind: "text".into(),
        action: None,
        status: None,
        outcome: None,
        latency_ms: None,
        request_id: None,
        lambda_request_id: None,
        trace_id: None,
        message: message.trim_end().to_string(),
        event_id: event_id.to_string(),
    };
    let Ok(Value::Object(v)) = serde_json::from_str::<Value>(message.trim()) else {
        // Lambda's text format of its platform lines (emulators write these too).
        for (prefix, kind) in [
            ("START RequestId: ", "platform.start"),
            ("END RequestId: ", "platform.end"),
            ("REPORT RequestId: ", "platform.report"),
        ] {
            if let Some(rest) = message.trim().strip_prefix(prefix) {
                let mut fields = rest.split('\t').map(str::trim);
                line.kind = kind.into();
                line.lambda_request_id = fields
                    .next()
                    .and_then(|f| f.split_whitespace().next())
                    .map(str::to_string);
                line.message = fields
                    .filter(|f| !f.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ");
                return line;
            }
        }
        if message.contains("panicked") || message.starts_with("ERROR") {
            line.level = "ERROR".into();
        }
        return line;
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    if let Some(t) = s("type").filter(|t| t.starts_with("platform.")) {
        let record = v.get("record").cloned().unwrap_or(Value::Null);
        line.kind = t.clone();
        line.lambda_request_id = record
            .get("requestId")
            .and_then(Value::as_str)
            .map(str::to_string);
        let status = record.get("status").and_then(Value::as_str);
        if status.is_some_and(|st| st != "success") {
            line.level = "ERROR".into();
        }
        line.message = match record.get("metrics") {
            Some(m) if t == "platform.report" => {
                let f = |k: &str| m.get(k).and_then(Value::as_f64);
                let mut parts = vec![];
                if let Some(d) = f("durationMs") {
                    parts.push(format!("duration {d:.1} ms"));
                }
                if let Some(d) = f("billedDurationMs") {
                    parts.push(format!("billed {d:.0} ms"));
                }
                if let (Some(used), Some(size)) = (f("maxMemoryUsedMB"), f("memorySizeMB")) {
                    parts.push(format!("memory {used:.0}/{size:.0} MB"));
                }
                if let Some(d) = f("initDurationMs") {
                    parts.push(format!("init {d:.1} ms"));
                }
                if let Some(st) = status.filter(|s| *s != "success") {
                    parts.push(format!("status {st}"));
                }
                parts.join(", ")
            }
            _ => status.map(|s| format!("status {s}")).unwrap_or_default(),
        };
        if let Some(e) = record.get("errorType").and_then(Value::as_str) {
            line.level = "ERROR".into();
            line.message = format!("{} {e}", line.message).trim().to_string();
        }
        return line;
    }
    line.level = s("level").unwrap_or_else(|| "INFO".into()).to_uppercase();
    line.action = s("action");
    line.outcome = s("outcome");
    line.status = v
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|n| u16::try_from(n).ok());
    line.latency_ms = v.get("latency_ms").and_then(Value::as_f64);
    line.request_id = s("request_id").filter(|r| !r.is_empty());
    line.trace_id = s("trace_id").filter(|r| !r.is_empty());
    line.lambda_request_id = s("lambda_request_id")
        .or_else(|| s("requestId"))
        .filter(|r| !r.is_empty());
    let msg = s("message").unwrap_or_default();
    line.kind = if msg == "request" && line.status.is_some() {
        "request".into()
    } else {
        "text".into()
    };
    // What the columns do not show: the message and any other field (never content: the functions log none).
    let known = [
        "timestamp",
        "level",
        "message",
        "action",
        "outcome",
        "status",
        "latency_ms",
        "request_id",
        "lambda_request_id",
        "trace_id",
        "function",
    ];
    let extra: Vec<String> = v
        .iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, val)| match val {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    line.message = match (line.kind.as_str(), extra.is_empty()) {
        ("request", true) => String::new(),
        ("request", false) => extra.join(" "),
        (_, true) => msg,
        (_, false) => format!("{msg} {}", extra.join(" ")),
    };
    line
}

/// True when `line` passes the client-side filters (the server-side pattern
/// is a first cut; this makes the result exact).
fn wanted(line: &LogLine, raw: &str, opts: &LogsOptions) -> bool {
    if let Some(st) = opts.status.as_deref() {
        if !line.status.is_some_and(|s| status_matches(st, s)) {
            return false;
        }
    }
    if let Some(r) = opts.route.as_deref() {
        if line.function != API_SOURCE || line.action.as_deref() != Some(r) {
            return false;
        }
    }
    if let Some(f) = opts.filter.as_deref().filter(|f| !f.is_empty()) {
        if !raw.contains(f) {
            return false;
        }
    }
    if let Some(id) = opts.request_id.as_deref() {
        let hit = line.request_id.as_deref() == Some(id)
            || line.lambda_request_id.as_deref() == Some(id)
            || (line.kind == "text" && raw.contains(id));
        if !hit {
            return false;
        }
    }
    true
}

/// The logs client for `aws`'s configuration.
pub fn client(aws: &Aws) -> aws_sdk_cloudwatchlogs::Client {
    crate::record::recorded_client!(aws_sdk_cloudwatchlogs, &aws.conf)
}

/// How far before the newest event seen each `--follow` poll looks again.
const FOLLOW_OVERLAP_MS: i64 = 60_000;

/// One pass over every page of one group, from `start_ms`.
async fn fetch_group(
    aws: &Aws,
    logs: &aws_sdk_cloudwatchlogs::Client,
    stack_name: &str,
    (short, group): &(String, String),
    start_ms: i64,
    pattern: Option<&str>,
    opts: &LogsOptions,
) -> Result<Vec<LogLine>> {
    let mut out = vec![];
    let mut token: Option<String> = None;
    loop {
        // FilterLogEvents may return an empty page with a token while there
        // is more to search, so only a missing token ends the pass.
        // https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
        let page = logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(start_ms)
            .set_filter_pattern(pattern.map(str::to_string))
            .set_next_token(token.clone())
            .set_limit(opts.page_limit)
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Err(missing_group(aws, stack_name, group).await);
            }
            Err(e) => {
                return Err(explain(
                    e,
                    &format!("reading the log group {group} (CloudWatch Logs FilterLogEvents)"),
                    &aws.target(),
                ))
            }
        };
        for ev in page.events() {
            let raw = ev.message().unwrap_or_default();
            let ts = ev.timestamp().unwrap_or_default();
            // The event id tells repeated events apart when following; an
            // endpoint without ids gets one from the event's contents.
            let id = match ev.event_id().filter(|i| !i.is_empty()) {
                Some(i) => i.to_string(),
                None => format!(
                    "{ts}\u{0}{}\u{0}{raw}",
                    ev.log_stream_name().unwrap_or_default()
                ),
            };
            let line = if short == API_SOURCE {
                parse_access_event(ts, &id, raw)
            } else {
                parse_event(short, ts, &id, raw)
            };
            if wanted(&line, raw, opts) {
                out.push(line);
            }
        }
        match page.next_token() {
            Some(t) if Some(t) != token.as_deref() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

/// Why a log group is missing, in one sentence: no stack at all, or a stack without it.
async fn missing_group(aws: &Aws, stack_name: &str, group: &str) -> crate::Error {
    let place = format!("account {}, region {}", aws.account, aws.region);
    match describe_stack(aws, stack_name).await {
        Ok(None) => failed!(
            "No stack {stack_name} is deployed in {place}: deploy it with `cargo xtask deploy`, or pass the --stage and --region it was deployed with."
        ),
        Ok(Some(_)) | Err(_) => failed!(
            "The log group {group} does not exist in {place} although {stack_name} is deployed: it was deleted outside CloudFormation; recreate it with `aws logs create-log-group --log-group-name {group}` and run `cargo xtask deploy` (the function writes there from its next request)."
        ),
    }
}

/// Reads the logs (and, with `follow`, keeps reading) and hands each line,
/// oldest first, to `sink`; returns how many lines it handed over.
/// `follow` ends at Ctrl-C or when `sink` breaks.
pub async fn run(
    opts: &LogsOptions,
    sink: &mut impl FnMut(&LogLine) -> ControlFlow<()>,
) -> Result<usize> {
    let since = opts.since;
    if since.is_zero() || since > MAX_SINCE {
        return Err(failed!(
            "--since reaches back at most 366 days (1d to 366d, or less in h, m, s)."
        ));
    }
    let names = crate::options::names(opts.stage.as_deref())?;
    if let Some(st) = opts.status.as_deref() {
        check_status(st)?;
    }
    if opts.route.is_some() && opts.source == LogSource::Functions {
        return Err(failed!(
            "--route filters the API's access log: add --source api (or all)."
        ));
    }
    let aws = aws::connect(&opts.aws).await?;
    let logs = client(&aws);
    let groups = groups(&names, opts.source, opts.function);
    let pattern = filter_pattern(opts.filter.as_deref(), opts.request_id.as_deref());
    let now_ms = (crate::events::now_epoch() * 1000.0) as i64;
    let first_ms = now_ms - since.as_millis() as i64;
    let mut newest_ms = first_ms;
    // Events reach CloudWatch Logs up to seconds after their timestamp, and
    // the two groups fill independently, so each poll looks back
    // `FOLLOW_OVERLAP_MS` before the newest event seen; the ids handed over
    // in that span keep it from printing one twice.
    let mut seen: HashMap<String, i64> = HashMap::new();
    let mut count = 0usize;
    let interval = if opts.poll_interval.is_zero() {
        Duration::from_secs(2)
    } else {
        opts.poll_interval
    };
    loop {
        let mut batch = vec![];
        for g in &groups {
            batch.extend(
                fetch_group(
                    &aws,
                    &logs,
                    &names.stack,
                    g,
                    (newest_ms - FOLLOW_OVERLAP_MS).max(first_ms),
                    pattern.as_deref(),
                    opts,
                )
                .await?,
            );
        }
        batch.sort_by(|a, b| {
            (a.timestamp_ms, &a.function, &a.event_id).cmp(&(
                b.timestamp_ms,
                &b.function,
                &b.event_id,
            ))
        });
        for line in batch {
            if seen.contains_key(&line.event_id) {
                continue;
            }
            seen.insert(line.event_id.clone(), line.timestamp_ms);
            newest_ms = newest_ms.max(line.timestamp_ms);
            count += 1;
            if sink(&line).is_break() {
                return Ok(count);
            }
        }
        seen.retain(|_, ts| *ts >= newest_ms - FOLLOW_OVERLAP_MS);
        if !opts.follow {
            return Ok(count);
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(count),
        }
    }
}
