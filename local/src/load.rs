//! A load test with an oracle, for any deployment of the API (`dev`'s
//! gateway, MiniStack's execute-api endpoint, a real stage over a tunnel):
//! `sessions` × `writers` concurrent writers × `turns` turns each, every turn
//! with its own `turnId`, some sent twice as a client retry would. Then every
//! session is read back and checked:
//!
//! - every answered turn is stored exactly once, with its content, at the
//!   `seq` it was answered with; a retry is answered with the same `seq`;
//! - each writer's turns are stored in the order it sent them;
//! - the sequence has no gap and `turnCount` is the number of turns;
//! - no answer is a 5xx other than 503 with `Retry-After` (which the writer
//!   honours and retries with the same `turnId`).
//!
//! A store that loses a conditional write under concurrency (a threaded
//! emulator without its lock) fails the first check.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How much load, and how a writer retries.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadPlan {
    pub sessions: usize,
    /// Concurrent writers per session.
    pub writers: usize,
    /// Turns each writer sends, one after another.
    pub turns: usize,
    /// Every n-th turn of a writer is sent again (0: never).
    pub duplicate_every: usize,
    /// The wait before retrying a 503; `None`: what `Retry-After` says.
    #[serde(skip)]
    pub retry_wait: Option<Duration>,
}

impl LoadPlan {
    /// Turns each session should hold at the end.
    pub fn turns_per_session(&self) -> usize {
        self.writers * self.turns
    }
}

/// Where the API is and who calls it.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// The path before the routes (`""` for `dev`,
    /// `/_aws/execute-api/<api id>/$default` for MiniStack).
    pub base: String,
    /// A student's token (the load writes `user` turns to their sessions).
    pub token: String,
}

/// Latencies of every request, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// What the run did and what the oracle found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    pub plan: LoadPlan,
    /// Every request sent, retries included.
    pub requests: u64,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Turns stored, summed over the sessions read back.
    pub turns_stored: u64,
    pub latency_ms: Latency,
    pub seconds: f64,
    pub requests_per_second: f64,
    /// What the oracle found wrong; empty when the run passed.
    pub violations: Vec<String>,
}

impl LoadReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("could not reach the API at {addr}: {detail}")]
    Connect { addr: SocketAddr, detail: String },
    #[error("{what} answered {status}: {body}")]
    Setup {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("the load plan needs at most {max} turns per session (maxTurns of get_context), not {asked}")]
    TooManyTurns { max: usize, asked: usize },
}

/// The most turns one `get_context` returns: the oracle reads each session once.
const MAX_READ_BACK: usize = 100;
/// Retries of one request answered 503 before the writer gives up.
const MAX_RETRIES: usize = 60;

struct Client {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
    latencies_ms: Vec<f64>,
    statuses: BTreeMap<u16, u64>,
    violations: Vec<String>,
    wait: Option<Duration>,
}

/// One answer: status, whether `Retry-After` was set, the JSON body.
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

impl Client {
    fn new(target: &Target, wait: Option<Duration>) -> Self {
        Client {
            target: target.clone(),
            sender: None,
            latencies_ms: Vec::new(),
            statuses: BTreeMap::new(),
            violations: Vec::new(),
            wait,
        }
    }

    async fn connect(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, LoadError> {
        let addr = self.target.addr;
        let err = |e: &dyn std::fmt::Display| LoadError::Connect {
            addr,
            detail: e.to_string(),
        };
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| err(&e))?;
            stream.set_nodelay(true).map_err(|e| err(&e))?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| err(&e))?;
            tokio::spawn(conn);
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().expect("connected above");
        sender.ready().await.map_err(|e| err(&e))?;
        Ok(sender)
    }

    /// One POST; a connection that breaks is opened again once.
    async fn post(&mut self, route: &str, body: &Value) -> Result<Answer, LoadError> {
        let path = format!("{}/{route}", self.target.base);
        let mut last_error = None;
        for _ in 0..2 {
            let req = hyper::Request::post(path.as_str())
                .header("host", self.target.addr.to_string())
                .header("authorization", format!("Bearer {}", self.target.token))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.to_string())))
                .expect("a valid request");
            let started = Instant::now();
            let sender = self.connect().await?;
            let resp = match sender.send_request(req).await {
                Ok(r) => r,
                Err(e) => {
                    self.sender = None;
                    last_error = Some(e.to_string());
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            let bytes = match resp.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    self.sender = None;
                    last_error = Some(e.to_string());
                    continue;
                }
            };
            self.latencies_ms
                .push(started.elapsed().as_secs_f64() * 1000.0);
            *self.statuses.entry(status).or_default() += 1;
            let body = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
            return Ok(Answer {
                status,
                retry_after,
                body,
            });
        }
        Err(LoadError::Connect {
            addr: self.target.addr,
            detail: last_error.unwrap_or_default(),
        })
    }

    /// POSTs until the answer is not a 503; a 503 is waited out as its
    /// `Retry-After` says and retried unchanged. `None` when it never was.
    async fn post_until_answered(
        &mut self,
        route: &str,
        body: &Value,
        what: &str,
    ) -> Result<Option<Answer>, LoadError> {
        for _ in 0..MAX_RETRIES {
            let a = self.post(route, body).await?;
            if a.status != 503 {
                return Ok(Some(a));
            }
            let Some(seconds) = a.retry_after else {
                self.violations
                    .push(format!("{what}: 503 without Retry-After: {}", a.body));
                return Ok(None);
            };
            tokio::time::sleep(self.wait.unwrap_or(Duration::from_secs(seconds))).await;
        }
        self.violations
            .push(format!("{what}: still 503 after {MAX_RETRIES} retries"));
        Ok(None)
    }
}

/// What one writer was answered: turn id → seq, in the order it sent them.
type Answered = Vec<(String, u64)>;

async fn writer(
    target: Target,
    plan: LoadPlan,
    session: usize,
    session_id: String,
    w: usize,
) -> Result<(Client, Answered), LoadError> {
    let mut c = Client::new(&target, plan.retry_wait);
    let mut answered = Answered::new();
    for t in 0..plan.turns {
        let turn_id = format!("w{w}-t{t}");
        let body = json!({
            "action": "add_turn",
            "sessionId": session_id,
            "turn": {"role": "user", "content": content_of(session, w, t), "language": "en", "turnId": turn_id},
            "window": {"maxTurns": 1},
        });
        let sends = if plan.duplicate_every > 0 && (t + 1) % plan.duplicate_every == 0 {
            2
        } else {
            1
        };
        let mut first = None;
        for send in 0..sends {
            let what = format!("session {session} add_turn {turn_id}");
            let Some(a) = c.post_until_answered("context", &body, &what).await? else {
                break;
            };
            if a.status != 200 {
                c.violations
                    .push(format!("{what}: answered {} {}", a.status, a.body));
                break;
            }
            let seq = a.body["turn"]["seq"].as_u64();
            match (send, first, seq) {
                (_, _, None) => c
                    .violations
                    .push(format!("{what}: 200 without turn.seq: {}", a.body)),
                (0, _, Some(s)) => first = Some(s),
                (_, Some(f), Some(s)) if s != f => c.violations.push(format!(
                    "{what}: the retry was answered seq {s}, the first send seq {f}"
                )),
                _ => {}
            }
        }
        if let Some(seq) = first {
            answered.push((turn_id, seq));
        }
    }
    Ok((c, answered))
}

fn content_of(session: usize, w: usize, t: usize) -> String {
    format!("load session {session} writer {w} turn {t}")
}

/// Runs `plan` against `target` and checks what was stored.
pub async fn run(target: &Target, plan: &LoadPlan) -> Result<LoadReport, LoadError> {
    if plan.turns_per_session() > MAX_READ_BACK {
        return Err(LoadError::TooManyTurns {
            max: MAX_READ_BACK,
            asked: plan.turns_per_session(),
        });
    }
    let started = Instant::now();
    let mut setup = Client::new(target, plan.retry_wait);
    let mut session_ids = Vec::new();
    for _ in 0..plan.sessions {
        let body =
            json!({"action": "create", "session": {"currentTopic": "Load test", "mode": "tutor"}});
        let a = match setup
            .post_until_answered("sessions", &body, "create")
            .await?
        {
            Some(a) if a.status == 201 => a,
            Some(a) => {
                return Err(LoadError::Setup {
                    what: "create",
                    status: a.status,
                    body: a.body.to_string(),
                })
            }
            None => {
                return Err(LoadError::Setup {
                    what: "create",
                    status: 503,
                    body: setup.violations.join("; "),
                })
            }
        };
        let id = a.body["session"]["sessionId"].as_str().unwrap_or_default();
        session_ids.push(id.to_string());
    }
    let mut tasks = Vec::new();
    for (s, id) in session_ids.iter().enumerate() {
        for w in 0..plan.writers {
            tasks.push(tokio::spawn(writer(
                target.clone(),
                plan.clone(),
                s,
                id.clone(),
                w,
            )));
        }
    }
    let mut clients = vec![setup];
    let mut answered: HashMap<usize, Vec<(usize, Answered)>> = HashMap::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let (c, a) = task.await.expect("a writer task does not panic")?;
        clients.push(c);
        answered
            .entry(i / plan.writers)
            .or_default()
            .push((i % plan.writers, a));
    }
    let load_seconds = started.elapsed().as_secs_f64();
    let mut violations = Vec::new();
    let mut turns_stored = 0;
    let mut reader = Client::new(target, plan.retry_wait);
    for (s, id) in session_ids.iter().enumerate() {
        let body = json!({"action": "get_context", "sessionId": id, "window": {"maxTurns": MAX_READ_BACK, "maxTokens": 32000}});
        let what = format!("session {s} get_context");
        let Some(a) = reader.post_until_answered("context", &body, &what).await? else {
            continue;
        };
        if a.status != 200 {
            violations.push(format!("{what}: answered {} {}", a.status, a.body));
            continue;
        }
        let stored = a.body["context"]["turns"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        turns_stored += stored.len() as u64;
        violations.extend(check_session(
            s,
            &stored,
            a.body["context"]["turnCount"].as_u64(),
            answered.get(&s).map(Vec::as_slice).unwrap_or_default(),
            plan,
        ));
    }
    clients.push(reader);
    let mut statuses = BTreeMap::new();
    let mut latencies = Vec::new();
    for c in clients {
        for (k, v) in c.statuses {
            *statuses.entry(k).or_default() += v;
        }
        latencies.extend(c.latencies_ms);
        violations.extend(c.violations);
    }
    for (status, n) in &statuses {
        if *status >= 500 && *status != 503 {
            violations.push(format!("{n} answer(s) with status {status}"));
        }
    }
    latencies.sort_by(f64::total_cmp);
    let requests = latencies.len() as u64;
    Ok(LoadReport {
        plan: plan.clone(),
        requests,
        statuses,
        turns_stored,
        latency_ms: Latency {
            p50: percentile(&latencies, 0.50),
            p99: percentile(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or(f64::NAN),
        },
        seconds: load_seconds,
        requests_per_second: requests as f64 / load_seconds.max(f64::EPSILON),
        violations,
    })
}

/// The oracle for one session: `stored` is its turns oldest first.
fn check_session(
    s: usize,
    stored: &[Value],
    turn_count: Option<u64>,
    answered: &[(usize, Answered)],
    plan: &LoadPlan,
) -> Vec<String> {
    let mut v = Vec::new();
    let mut by_id: HashMap<&str, Vec<&Value>> = HashMap::new();
    for t in stored {
        by_id
            .entry(t["turnId"].as_str().unwrap_or_default())
            .or_default()
            .push(t);
    }
    for (id, copies) in &by_id {
        if copies.len() > 1 {
            v.push(format!(
                "session {s}: turn {id} is stored {} times",
                copies.len()
            ));
        }
    }
    for (w, turns) in answered {
        let mut last_seq = 0;
        for (t, (id, seq)) in turns.iter().enumerate() {
            let Some(found) = by_id.get(id.as_str()).and_then(|c| c.first()) else {
                v.push(format!(
                    "session {s}: turn {id} was answered 200 (seq {seq}) but is not stored"
                ));
                continue;
            };
            if found["seq"].as_u64() != Some(*seq) {
                v.push(format!(
                    "session {s}: turn {id} was answered seq {seq} but is stored at {}",
                    found["seq"]
                ));
            }
            let t_index = id
                .rsplit('t')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(t);
            if found["content"].as_str() != Some(content_of(s, *w, t_index).as_str()) {
                v.push(format!("session {s}: turn {id} holds other content"));
            }
            if *seq <= last_seq {
                v.push(format!(
                    "session {s}: writer {w}'s turn {id} (seq {seq}) is stored before its previous turn (seq {last_seq})"
                ));
            }
            last_seq = *seq;
        }
    }
    let seqs: Vec<u64> = stored.iter().filter_map(|t| t["seq"].as_u64()).collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    if seqs != expected {
        v.push(format!("session {s}: the stored seqs have gaps: {seqs:?}"));
    }
    let want = plan.turns_per_session() as u64;
    if stored.len() as u64 != want {
        v.push(format!(
            "session {s}: {} turns stored, {want} sent",
            stored.len()
        ));
    }
    if turn_count != Some(stored.len() as u64) {
        v.push(format!(
            "session {s}: turnCount {turn_count:?}, {} turns stored",
            stored.len()
        ));
    }
    v
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> LoadPlan {
        LoadPlan {
            sessions: 1,
            writers: 2,
            turns: 2,
            duplicate_every: 0,
            retry_wait: None,
        }
    }

    fn turn(seq: u64, w: usize, t: usize) -> Value {
        json!({"seq": seq, "turnId": format!("w{w}-t{t}"), "content": content_of(0, w, t)})
    }

    fn answered() -> Vec<(usize, Answered)> {
        vec![
            (0, vec![("w0-t0".into(), 1), ("w0-t1".into(), 3)]),
            (1, vec![("w1-t0".into(), 2), ("w1-t1".into(), 4)]),
        ]
    }

    #[test]
    fn a_faithful_store_passes() {
        let stored = [turn(1, 0, 0), turn(2, 1, 0), turn(3, 0, 1), turn(4, 1, 1)];
        assert_eq!(
            check_session(0, &stored, Some(4), &answered(), &plan()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_lost_write_a_double_and_a_reorder_are_each_caught() {
        // w1-t1 lost: answered 200 but absent; the count says so too.
        let lost = [turn(1, 0, 0), turn(2, 1, 0), turn(3, 0, 1)];
        let v = check_session(0, &lost, Some(3), &answered(), &plan());
        assert!(
            v.iter().any(|m| m.contains("w1-t1 was answered 200")),
            "{v:?}"
        );
        assert!(
            v.iter().any(|m| m.contains("3 turns stored, 4 sent")),
            "{v:?}"
        );
        // w0-t0 stored twice.
        let doubled = [
            turn(1, 0, 0),
            turn(2, 1, 0),
            turn(3, 0, 1),
            turn(4, 1, 1),
            turn(5, 0, 0),
        ];
        let v = check_session(0, &doubled, Some(5), &answered(), &plan());
        assert!(
            v.iter().any(|m| m.contains("w0-t0 is stored 2 times")),
            "{v:?}"
        );
        // w0's two turns swapped in the store.
        let swapped = [turn(3, 0, 0), turn(2, 1, 0), turn(1, 0, 1), turn(4, 1, 1)];
        let mut swapped = swapped.to_vec();
        swapped.sort_by_key(|t| t["seq"].as_u64());
        let v = check_session(0, &swapped, Some(4), &answered(), &plan());
        assert!(
            v.iter()
                .any(|m| m.contains("answered seq 1 but is stored at 3")),
            "{v:?}"
        );
        // A count that lags.
        let stored = [turn(1, 0, 0), turn(2, 1, 0), turn(3, 0, 1), turn(4, 1, 1)];
        let v = check_session(0, &stored, Some(3), &answered(), &plan());
        assert_eq!(v, ["session 0: turnCount Some(3), 4 turns stored"]);
    }
}
