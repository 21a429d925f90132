//! `cost`: the module's monthly cost for a number of students, line by
//! line, from a constant table of us-east-1 list prices and this module's
//! own measured figures (no AWS call). The prices must be checked before
//! anyone relies on them: they change, and other regions differ.
//!
//! Price sources (on-demand list prices, no free tier applied):
//! - HTTP API: <https://aws.amazon.com/api-gateway/pricing/>
//! - Lambda (arm64 duration, requests): <https://aws.amazon.com/lambda/pricing/>
//! - DynamoDB on-demand (after the November 2024 cut), storage, PITR:
//!   <https://aws.amazon.com/dynamodb/pricing/on-demand/>; one read request
//!   unit is a strongly consistent read of up to 4 KB or two eventually
//!   consistent ones, one write request unit a write of up to 1 KB, and a
//!   Query reads at least one unit
//!   (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html>).
//! - KMS: <https://aws.amazon.com/kms/pricing/>
//! - CloudWatch (logs, alarms, dashboards): <https://aws.amazon.com/cloudwatch/pricing/>
//! - X-Ray (active tracing, the `Tracing` parameter): <https://aws.amazon.com/xray/pricing/>

use crate::error::{failed, Result};
use serde::Serialize;

/// The price table's region and date.
pub const PRICE_REGION: &str = "us-east-1";
pub const PRICES_AS_OF: &str = "2025-01";

/// USD list prices, us-east-1.
pub mod price {
    pub const HTTP_API_PER_MILLION: f64 = 1.00;
    pub const LAMBDA_REQUESTS_PER_MILLION: f64 = 0.20;
    pub const LAMBDA_ARM64_PER_GB_SECOND: f64 = 0.000_013_333_4;
    pub const LAMBDA_X86_PER_GB_SECOND: f64 = 0.000_016_666_7;
    pub const DYNAMODB_PER_MILLION_WRU: f64 = 0.625;
    pub const DYNAMODB_PER_MILLION_RRU: f64 = 0.125;
    pub const DYNAMODB_STORAGE_PER_GB_MONTH: f64 = 0.25;
    pub const DYNAMODB_PITR_PER_GB_MONTH: f64 = 0.20;
    pub const KMS_KEY_PER_MONTH: f64 = 1.00;
    pub const KMS_PER_10K_REQUESTS: f64 = 0.03;
    pub const LOGS_INGESTION_PER_GB: f64 = 0.50;
    pub const LOGS_STORAGE_PER_GB_MONTH: f64 = 0.03;
    pub const ALARM_PER_MONTH: f64 = 0.10;
    pub const DASHBOARD_PER_MONTH: f64 = 3.00;
    /// X-Ray traces recorded (<https://aws.amazon.com/xray/pricing/>).
    pub const XRAY_PER_MILLION_TRACES: f64 = 5.00;
}

/// This module's figures, measured (docs/measurements.md) or fixed by its design.
pub mod measured {
    /// Function memory: the template's default `MemorySize` (a stage may
    /// set another with `--memory-mb`).
    pub const MEMORY_MB: f64 = stack::module::FUNCTION_MEMORY_MB as f64;
    /// `add_turn` through the local gateway, median of 1,000 (`cargo xtask
    /// bench functions`; it includes the emulator, so it is on the high side).
    pub const DURATION_MS: f64 = 26.0;
    /// A 1 KB turn is a 1,265-byte item (capacity test): 241 bytes of keys,
    /// sealing and attributes besides the content.
    pub const TURN_ITEM_OVERHEAD_BYTES: f64 = 241.0;
    /// The session item and its index entry (capacity test).
    pub const SESSION_ITEM_BYTES: f64 = 378.0;
    pub const INDEX_ENTRY_BYTES: f64 = 248.0;
    /// The session refresh, once per touch interval: 3 write units (capacity test).
    pub const TOUCH_WRU: f64 = 3.0;
    pub const TOUCH_INTERVAL_SECONDS: f64 = 300.0;
    /// `create`: the session item and its index entry (1 unit each), the profile read.
    pub const CREATE_WRU: f64 = 2.0;
    pub const CREATE_RRU: f64 = 0.5;
    /// `add_turn` reads back at most this many turns (strongly consistent).
    pub const LOOK_BACK_TURNS: f64 = 23.0;
    /// `get_context`'s default window.
    pub const WINDOW_TURNS: f64 = 20.0;
    /// One JSON request line plus Lambda's platform records per invocation,
    /// and one API access-log line per request.
    pub const FUNCTION_LOG_BYTES: f64 = 1_000.0;
    pub const ACCESS_LOG_BYTES: f64 = 400.0;
}

/// The alarms the default stack has, counted in its template (so a new
/// alarm is priced without a second list to keep in step).
pub fn alarm_count() -> f64 {
    stack::synth(&Default::default())
        .map(|t| t.resources_of_type(stack::resources::Alarm::TYPE).count() as f64)
        .unwrap_or_default()
}

/// Assumptions that are not measurements; each is printed.
pub mod assumed {
    /// Seconds between two turns of a session (how many refreshes it gets).
    pub const SECONDS_PER_TURN: f64 = 30.0;
    /// One invocation in this many starts a container (a KMS Decrypt of the
    /// environment and of the session's data key).
    pub const REQUESTS_PER_COLD_START: f64 = 100.0;
    /// KMS calls per session: the data key's wrap at `create`, one unwrap in each function.
    pub const KMS_PER_SESSION: f64 = 3.0;
    /// DynamoDB asks KMS for a table's key about every 5 minutes per caller:
    /// 2 tables x 2 roles, all month.
    pub const KMS_TABLE_KEY_REQUESTS: f64 = 2.0 * 2.0 * 12.0 * 24.0 * 30.0;
}

/// Who uses it, per month.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub students: u64,
    pub sessions_per_student: u64,
    pub turns_per_session: u64,
    pub turn_bytes: u64,
}

impl Default for Usage {
    /// The deployment guide's example: 1,000 students, 20 sessions of 30 turns, 1 KB turns.
    fn default() -> Self {
        Usage {
            students: 1_000,
            sessions_per_student: 20,
            turns_per_session: 30,
            turn_bytes: 1_024,
        }
    }
}

/// How often a session calls one action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calls {
    pub action: String,
    pub calls: f64,
}

/// One priced item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub item: String,
    pub quantity: f64,
    pub unit: String,
    pub usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub usage: Usage,
    pub region: &'static str,
    pub prices_as_of: &'static str,
    /// API requests per session, by action.
    pub requests_per_session: Vec<Calls>,
    pub requests: f64,
    pub lines: Vec<Line>,
    pub total_usd: f64,
    /// What the figures rest on, one sentence each.
    pub notes: Vec<String>,
}

/// The limits the API itself enforces.
pub fn validate(u: &Usage) -> Result<()> {
    if u.students == 0 || u.sessions_per_student == 0 || u.turns_per_session == 0 {
        return Err(failed!(
            "--students, --sessions-per-student and --turns-per-session must each be at least 1."
        ));
    }
    if u.turns_per_session > 5_000 {
        return Err(failed!(
            "--turns-per-session {} is more than a session holds (5,000 turns between clears).",
            u.turns_per_session
        ));
    }
    if u.turn_bytes == 0 || u.turn_bytes > 16 * 1024 {
        return Err(failed!(
            "--turn-bytes {} is outside 1-16384: a turn's content is at most 16 KiB.",
            u.turn_bytes
        ));
    }
    Ok(())
}

fn units(bytes: f64, per: f64) -> f64 {
    (bytes / per).ceil()
}

/// The estimate for `u`.
pub fn estimate(u: &Usage) -> Result<Estimate> {
    use measured as m;
    validate(u)?;
    let sessions = (u.students * u.sessions_per_student) as f64;
    let t = u.turns_per_session as f64;
    let get_contexts = (t / 2.0).ceil();
    let per_session: Vec<Calls> = [
        ("create", 1.0),
        ("restore", 1.0),
        ("add_turn", t),
        ("get_context", get_contexts),
    ]
    .into_iter()
    .map(|(a, n)| Calls {
        action: a.into(),
        calls: n,
    })
    .collect();
    let requests = sessions * per_session.iter().map(|c| c.calls).sum::<f64>();
    let item = u.turn_bytes as f64 + m::TURN_ITEM_OVERHEAD_BYTES;

    // Write units per session: the create, each turn, the refreshes.
    let touches = (t * assumed::SECONDS_PER_TURN / m::TOUCH_INTERVAL_SECONDS).ceil();
    let wru_session = m::CREATE_WRU + t * units(item, 1024.0) + touches * m::TOUCH_WRU;
    // Read units per session: add_turn reads the session and the turns
    // before it (strongly consistent); get_context every other turn reads
    // the session and the window (eventually consistent); restore reads the
    // index and the window once.
    let session_rru = units(m::SESSION_ITEM_BYTES, 4096.0);
    let mut rru_session = m::CREATE_RRU;
    for k in 1..=u.turns_per_session {
        let back = ((k - 1) as f64).min(m::LOOK_BACK_TURNS);
        rru_session += session_rru + units(back * item, 4096.0).max(1.0);
    }
    let window = |turns: f64| {
        0.5 * session_rru + 0.5 * units(turns.min(m::WINDOW_TURNS) * item, 4096.0).max(1.0)
    };
    for j in 1..=get_contexts as u64 {
        rru_session += window((2 * j) as f64);
    }
    rru_session += 0.5 + window(t);
    let wru = sessions * wru_session;
    let rru = sessions * rru_session;

    // Storage: the 30-day TTL keeps about one month of sessions; DynamoDB
    // bills 100 bytes of overhead per item and index entry.
    let stored_bytes = sessions
        * (t * (item + 100.0) + m::SESSION_ITEM_BYTES + 100.0 + m::INDEX_ENTRY_BYTES + 100.0);
    let gb = stored_bytes / (1024.0 * 1024.0 * 1024.0);

    let gb_seconds = requests * (m::DURATION_MS / 1000.0) * (m::MEMORY_MB / 1024.0);
    let kms_requests = sessions * assumed::KMS_PER_SESSION
        + assumed::KMS_TABLE_KEY_REQUESTS
        + requests / assumed::REQUESTS_PER_COLD_START;
    let log_gb = requests * (m::FUNCTION_LOG_BYTES + m::ACCESS_LOG_BYTES) / 1e9;

    // JSON without float noise: quantities to hundredths, dollars to hundredths of a cent.
    let round = |x: f64, per: f64| (x * per).round() / per;
    let line = |item: &str, quantity: f64, unit: &str, usd: f64| Line {
        item: item.into(),
        quantity: round(quantity, 100.0),
        unit: unit.into(),
        usd: round(usd, 10_000.0),
    };
    use price as p;
    let alarms = alarm_count();
    let lines = vec![
        line(
            "HTTP API requests",
            requests,
            "requests",
            requests / 1e6 * p::HTTP_API_PER_MILLION,
        ),
        line(
            "Lambda requests",
            requests,
            "requests",
            requests / 1e6 * p::LAMBDA_REQUESTS_PER_MILLION,
        ),
        line(
            &format!(
                "Lambda duration (arm64, {} MB, {} ms)",
                m::MEMORY_MB,
                m::DURATION_MS
            ),
            gb_seconds,
            "GB-s",
            gb_seconds * p::LAMBDA_ARM64_PER_GB_SECOND,
        ),
        line(
            "DynamoDB write request units",
            wru,
            "WRU",
            wru / 1e6 * p::DYNAMODB_PER_MILLION_WRU,
        ),
        line(
            "DynamoDB read request units",
            rru,
            "RRU",
            rru / 1e6 * p::DYNAMODB_PER_MILLION_RRU,
        ),
        line(
            "DynamoDB storage (30-day TTL)",
            gb,
            "GB-month",
            gb * p::DYNAMODB_STORAGE_PER_GB_MONTH,
        ),
        line(
            "DynamoDB point-in-time recovery",
            gb,
            "GB-month",
            gb * p::DYNAMODB_PITR_PER_GB_MONTH,
        ),
        line("KMS key", 1.0, "key", p::KMS_KEY_PER_MONTH),
        line(
            "KMS requests",
            kms_requests,
            "requests",
            kms_requests / 1e4 * p::KMS_PER_10K_REQUESTS,
        ),
        line(
            "CloudWatch Logs ingestion",
            log_gb,
            "GB",
            log_gb * p::LOGS_INGESTION_PER_GB,
        ),
        line(
            "CloudWatch Logs storage (30 days)",
            log_gb,
            "GB-month",
            log_gb * p::LOGS_STORAGE_PER_GB_MONTH,
        ),
        line(
            "CloudWatch alarms",
            alarms,
            "alarms",
            alarms * p::ALARM_PER_MONTH,
        ),
        line(
            "CloudWatch dashboard (first 3 per account free)",
            1.0,
            "dashboard",
            0.0,
        ),
    ];
    // X-Ray's default sampling rule records the first request each second
    // and 5% of the rest (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html):
    // below one request a second on average, nearly every request.
    let seconds = 30.0 * 86_400.0;
    let traces = requests.min(seconds) + 0.05 * (requests - seconds).max(0.0);
    let mut lines = lines;
    lines.push(line(
        "X-Ray traces (Tracing=Active; PassThrough turns it off)",
        traces,
        "traces",
        traces / 1e6 * p::XRAY_PER_MILLION_TRACES,
    ));
    let total_usd = round(lines.iter().map(|l| l.usd).sum(), 10_000.0);
    let notes = vec![
        format!(
            "Prices: {PRICE_REGION} on-demand list prices as of {PRICES_AS_OF}, without the free tier; check https://aws.amazon.com/pricing/ before relying on them."
        ),
        format!(
            "Measured: {} ms per invocation at {} MB (bench functions), a {}-byte item per {}-byte turn, {} write units per turn, {} per session refresh (capacity test).",
            m::DURATION_MS,
            m::MEMORY_MB,
            item,
            u.turn_bytes,
            units(item, 1024.0),
            m::TOUCH_WRU
        ),
        format!(
            "Assumed: a turn every {} s (so {touches} session refreshes per session), one cold start per {} requests, DynamoDB asking KMS for each table key every 5 minutes per role, X-Ray's default sampling (the first request each second and 5% of the rest).",
            assumed::SECONDS_PER_TURN,
            assumed::REQUESTS_PER_COLD_START
        ),
        format!(
            "Idle floor, with no traffic at all: {:.2} USD a month (the KMS key {:.2} and {alarms} alarms at {:.2}).",
            p::KMS_KEY_PER_MONTH + alarms * p::ALARM_PER_MONTH,
            p::KMS_KEY_PER_MONTH,
            p::ALARM_PER_MONTH
        ),
        format!(
            "Not included: the opt-in backup plan and budget, a dashboard beyond the account's first 3 (${:.2}), data transfer out (responses of a few KB; 100 GB a month are free).",
            p::DASHBOARD_PER_MONTH
        ),
    ];
    Ok(Estimate {
        usage: *u,
        region: PRICE_REGION,
        prices_as_of: PRICES_AS_OF,
        requests_per_session: per_session,
        requests,
        lines,
        total_usd,
        notes,
    })
}

/// `1,234,567` (thousands separated), or with `decimals` when below 10.
pub fn quantity(q: f64) -> String {
    if q < 10.0 && q.fract() != 0.0 {
        return format!("{q:.2}");
    }
    let n = q.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
