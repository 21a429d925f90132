//! `logs` on moto's CloudWatch Logs: events written with PutLogEvents in
//! the functions' real JSON format (and Lambda's platform records) are read
//! back over several pages, parsed, filtered and followed; the error for an
//! account without the stack.

use deploy::logs::{parse_event, LogLine, LogsOptions};
use deploy::options::AwsOptions;
use std::ops::ControlFlow;
use std::time::Duration;

fn aws(endpoint: &str) -> AwsOptions {
    AwsOptions {
        region: Some(emulator::TEST_REGION.into()),
        profile: None,
        endpoint_url: Some(endpoint.into()),
        static_credentials: Some((
            emulator::TEST_ACCESS_KEY_ID.into(),
            emulator::TEST_SECRET_ACCESS_KEY.into(),
        )),
    }
}

/// A request line exactly as the functions' `tracing` JSON layer writes it.
fn request_line(
    request_id: &str,
    function: &str,
    action: &str,
    status: u16,
    outcome: &str,
) -> String {
    serde_json::json!({
        "timestamp": "2026-11-29T16:20:01.123456Z",
        "level": if status >= 500 { "ERROR" } else { "INFO" },
        "message": "request",
        "request_id": request_id,
        "lambda_request_id": format!("lambda-{request_id}"),
        "function": function,
        "action": action,
        "outcome": outcome,
        "status": status,
        "latency_ms": 12.345,
    })
    .to_string()
}

fn report_line(lambda_request_id: &str) -> String {
    serde_json::json!({
        "time": "2026-11-29T16:20:01.140Z",
        "type": "platform.report",
        "record": {
            "requestId": lambda_request_id,
            "metrics": {"durationMs": 14.2, "billedDurationMs": 15, "memorySizeMB": 256, "maxMemoryUsedMB": 21},
            "status": "success"
        }
    })
    .to_string()
}

fn put(
    logs: &aws_sdk_cloudwatchlogs::Client,
    account: &testkit::account::Account,
    group: &str,
    events: &[(i64, String)],
) {
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    let stream = "2026/11/29/[$LATEST]0123456789abcdef";
    let _ = account.block_on(logs.create_log_group().log_group_name(group).send());
    let _ = account.block_on(
        logs.create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send(),
    );
    let mut req = logs
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream);
    for (ts, m) in events {
        req = req.log_events(
            InputLogEvent::builder()
                .timestamp(*ts)
                .message(m)
                .build()
                .unwrap(),
        );
    }
    account.block_on(req.send()).expect("PutLogEvents");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn parses_the_functions_lines_and_lambdas_platform_records() {
    let l = parse_event(
        "context-manager",
        0,
        "e1",
        &request_line("r-1", "context-manager", "add_turn", 200, "ok"),
    );
    assert_eq!(l.kind, "request");
    assert_eq!(l.time, "1970-01-01T00:00:00.000Z");
    assert_eq!(
        (
            l.action.as_deref(),
            l.status,
            l.outcome.as_deref(),
            l.request_id.as_deref()
        ),
        (Some("add_turn"), Some(200), Some("ok"), Some("r-1"))
    );
    assert_eq!(l.lambda_request_id.as_deref(), Some("lambda-r-1"));
    assert!(!l.is_error());
    let e = parse_event(
        "context-manager",
        1,
        "e2",
        &request_line(
            "r-2",
            "context-manager",
            "add_turn",
            503,
            "dependency_failed",
        ),
    );
    assert!(e.is_error());
    let r = parse_event("context-manager", 2, "e3", &report_line("lambda-r-1"));
    assert_eq!(r.kind, "platform.report");
    assert_eq!(
        r.message,
        "duration 14.2 ms, billed 15 ms, memory 21/256 MB"
    );
    let r = parse_event(
        "context-manager",
        2,
        "e5",
        "REPORT RequestId: 5f0e\tDuration: 3.12 ms\tBilled Duration: 4 ms\tMemory Size: 256 MB\tMax Memory Used: 20 MB\t\n",
    );
    assert_eq!(
        (
            r.kind.as_str(),
            r.lambda_request_id.as_deref(),
            r.message.as_str()
        ),
        (
            "platform.report",
            Some("5f0e"),
            "Duration: 3.12 ms, Billed Duration: 4 ms, Memory Size: 256 MB, Max Memory Used: 20 MB"
        )
    );
    let t = parse_event(
        "session-persistence",
        3,
        "e4",
        "thread 'main' panicked at src/main.rs:1:1",
    );
    assert_eq!((t.kind.as_str(), t.level.as_str()), ("text", "ERROR"));
    assert_eq!(
        deploy::logs::filter_pattern(Some("x"), Some("id-1")).as_deref(),
        Some("\"id-1\"")
    );
}

#[test]
fn reads_every_page_filters_and_follows_on_moto() {
    let server = emulator::MotoServer::start(Default::default()).expect("moto starts");
    let account = testkit::account::Account::new(&server.endpoint_url());
    let opts = LogsOptions {
        aws: aws(&server.endpoint_url()),
        since: std::time::Duration::from_secs(15 * 60),
        poll_interval: Duration::from_millis(200),
        page_limit: Some(2),
        ..LogsOptions::default()
    };

    // No stack and no log groups: one sentence saying so.
    let err = account
        .block_on(deploy::logs::run(&opts, &mut |_: &LogLine| {
            ControlFlow::Continue(())
        }))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("No stack VoiceLearningAssistantStack is deployed")
            && err.contains("cargo xtask deploy"),
        "{err}"
    );

    let logs = aws_sdk_cloudwatchlogs::Client::new(&account.conf);
    let t = now_ms() - 60_000;
    put(
        &logs,
        &account,
        "/aws/lambda/voice-learning-context-manager",
        &[
            (
                t,
                request_line("r-1", "context-manager", "add_turn", 200, "ok"),
            ),
            (t + 1, report_line("lambda-r-1")),
            (
                t + 2,
                request_line(
                    "r-2",
                    "context-manager",
                    "get_context",
                    503,
                    "dependency_failed",
                ),
            ),
            (t + 3, report_line("lambda-r-2")),
        ],
    );
    put(
        &logs,
        &account,
        "/aws/lambda/voice-learning-session-persistence",
        &[
            // Older than --since: left out.
            (
                t - 3_600_000,
                request_line("r-old", "session-persistence", "get", 200, "ok"),
            ),
            (
                t - 5,
                request_line("r-0", "session-persistence", "create", 201, "ok"),
            ),
        ],
    );

    let collect = |o: &LogsOptions| {
        let mut got: Vec<LogLine> = vec![];
        account
            .block_on(deploy::logs::run(o, &mut |l: &LogLine| {
                got.push(l.clone());
                ControlFlow::Continue(())
            }))
            .expect("logs");
        got
    };

    // Both groups, pages of two, oldest first.
    let all = collect(&opts);
    let ids: Vec<(&str, &str)> = all
        .iter()
        .map(|l| (l.function.as_str(), l.kind.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("session-persistence", "request"),
            ("context-manager", "request"),
            ("context-manager", "platform.report"),
            ("context-manager", "request"),
            ("context-manager", "platform.report"),
        ]
    );
    assert_eq!(all.iter().filter(|l| l.is_error()).count(), 1);

    // One function.
    let one = collect(&LogsOptions {
        function: Some(stack::Function::SessionPersistence),
        ..opts.clone()
    });
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].action.as_deref(), Some("create"));

    // One request: its line, and with its Lambda id, the report too.
    let r2 = collect(&LogsOptions {
        request_id: Some("r-2".into()),
        ..opts.clone()
    });
    assert_eq!(r2.len(), 1, "{r2:?}");
    assert_eq!(r2[0].status, Some(503));
    let lr2 = collect(&LogsOptions {
        request_id: Some("lambda-r-2".into()),
        ..opts.clone()
    });
    assert_eq!(lr2.len(), 2, "{lr2:?}");

    // A text filter, applied together with the request id.
    let f = collect(&LogsOptions {
        filter: Some("get_context".into()),
        ..opts.clone()
    });
    assert_eq!(f.len(), 1);
    let none = collect(&LogsOptions {
        filter: Some("get_context".into()),
        request_id: Some("r-1".into()),
        ..opts.clone()
    });
    assert!(none.is_empty(), "{none:?}");

    // Follow: an event written after the first pass arrives, once, even
    // with a timestamp before the newest one already shown.
    let follow = LogsOptions {
        follow: true,
        function: Some(stack::Function::ContextManager),
        ..opts.clone()
    };
    let mut got: Vec<LogLine> = vec![];
    let writer = logs.clone();
    account.block_on(async {
        let mut sink = |l: &LogLine| {
            got.push(l.clone());
            if l.request_id.as_deref() == Some("r-late") {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let reader = deploy::logs::run(&follow, &mut sink);
        let late = async {
            tokio::time::sleep(Duration::from_millis(700)).await;
            writer
                .put_log_events()
                .log_group_name("/aws/lambda/voice-learning-context-manager")
                .log_stream_name("2026/11/29/[$LATEST]0123456789abcdef")
                .log_events(
                    aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                        // Older than the newest event already shown: ingested late.
                        .timestamp(t + 2)
                        .message(request_line(
                            "r-late",
                            "context-manager",
                            "clear",
                            200,
                            "ok",
                        ))
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("late PutLogEvents");
        };
        let (n, ()) = tokio::time::timeout(Duration::from_secs(30), async {
            tokio::join!(reader, late)
        })
        .await
        .expect("follow saw the late event");
        n.expect("follow");
    });
    let late: Vec<_> = got
        .iter()
        .filter(|l| l.request_id.as_deref() == Some("r-late"))
        .collect();
    assert_eq!(late.len(), 1);
    assert_eq!(
        got.len(),
        5,
        "the four earlier events once, then the late one: {got:?}"
    );
}

/// An access-log line exactly as the stage's format writes it (every value
/// a string; `-` for what a request did not have).
fn access_line(request_id: &str, route: &str, status: u16, authorizer_error: &str) -> String {
    serde_json::json!({
        "requestId": request_id,
        "ip": "203.0.113.7",
        "requestTime": "29/Nov/2026:16:20:01 +0000",
        "routeKey": route,
        "status": status.to_string(),
        "responseLength": "26",
        "latency": "12",
        "integrationError": "-",
        "authorizerError": authorizer_error,
        "sub": "-",
    })
    .to_string()
}

/// `--source api|all`: the access log's lines (the gateway's own 401s,
/// which no function sees, included) with `--status` and `--route`.
#[test]
fn reads_the_api_access_log_with_status_and_route_filters_on_moto() {
    use deploy::logs::LogSource;
    let server = emulator::MotoServer::start(Default::default()).expect("moto starts");
    let account = testkit::account::Account::new(&server.endpoint_url());
    let logs = aws_sdk_cloudwatchlogs::Client::new(&account.conf);
    let t = now_ms() - 60_000;
    put(
        &logs,
        &account,
        "/aws/vendedlogs/apigateway/voice-learning-session-api",
        &[
            (t, access_line("a-1", "POST /sessions", 201, "-")),
            (
                t + 1,
                access_line("a-2", "POST /context", 401, "the token has expired"),
            ),
            (t + 2, access_line("a-3", "POST /sessions", 429, "-")),
        ],
    );
    put(
        &logs,
        &account,
        "/aws/lambda/voice-learning-session-persistence",
        &[(
            t + 3,
            request_line("r-1", "session-persistence", "get", 404, "not_found"),
        )],
    );
    put(
        &logs,
        &account,
        "/aws/lambda/voice-learning-context-manager",
        &[(
            t + 4,
            request_line("r-2", "context-manager", "get_context", 200, "ok"),
        )],
    );
    let collect = |source: LogSource, status: Option<&str>, route: Option<&str>| {
        let o = LogsOptions {
            aws: aws(&server.endpoint_url()),
            since: std::time::Duration::from_secs(15 * 60),
            source,
            status: status.map(str::to_string),
            route: route.map(str::to_string),
            ..LogsOptions::default()
        };
        let mut got: Vec<LogLine> = vec![];
        let r = account.block_on(deploy::logs::run(&o, &mut |l: &LogLine| {
            got.push(l.clone());
            ControlFlow::Continue(())
        }));
        r.map(|_| got)
    };
    let api = collect(LogSource::Api, None, None).unwrap();
    let rows: Vec<(&str, Option<&str>, Option<u16>)> = api
        .iter()
        .map(|l| (l.function.as_str(), l.action.as_deref(), l.status))
        .collect();
    assert_eq!(
        rows,
        [
            ("api", Some("POST /sessions"), Some(201)),
            ("api", Some("POST /context"), Some(401)),
            ("api", Some("POST /sessions"), Some(429)),
        ]
    );
    assert_eq!(
        api[1].message,
        "ip=203.0.113.7 authorizerError=the token has expired"
    );
    assert_eq!(api[1].request_id.as_deref(), Some("a-2"));
    // Both sources, 4xx only: the gateway's 401 and 429 and the function's 404.
    let four = collect(LogSource::All, Some("4xx"), None).unwrap();
    let statuses: Vec<u16> = four.iter().filter_map(|l| l.status).collect();
    assert_eq!(statuses, [401, 429, 404]);
    let route = collect(LogSource::Api, None, Some("POST /sessions")).unwrap();
    assert_eq!(route.len(), 2);
    // Refused before anything is read.
    for (status, route, says) in [
        (Some("4x"), None, "--status `4x` is not an HTTP status"),
        (
            None,
            Some("POST /sessions"),
            "--route filters the API's access log",
        ),
    ] {
        let e = collect(LogSource::Functions, status, route)
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{e}");
    }
}
