//! `tune` on recorded Lambda answers through the real SDK (the emulators'
//! Invoke returns no log tail): each size set and waited for, invoked, its
//! REPORT lines read and priced, the cheapest recommended, and the original
//! size put back, also when a size cannot be measured.

use base64::Engine as _;
use deploy::tune::{tune_with, TuneOptions};
use serde_json::{json, Value};

const FN: &str = "voice-learning-session-persistence";

fn config(memory: i32, status: &str) -> Value {
    json!({"operation": format!("GET /2015-03-31/functions/{FN}/configuration"),
           "body": {"FunctionName": FN, "MemorySize": memory, "Architectures": ["arm64"], "LastUpdateStatus": status}})
}

fn update(memory: i32) -> Value {
    json!({"operation": format!("PUT /2015-03-31/functions/{FN}/configuration"),
           "body": {"FunctionName": FN, "MemorySize": memory, "LastUpdateStatus": "InProgress"}})
}

fn invoked(duration: f64, memory: i32, init: Option<f64>) -> Value {
    let mut report = format!("REPORT RequestId: r\tDuration: {duration} ms\tBilled Duration: {} ms\tMemory Size: {memory} MB\tMax Memory Used: 22 MB\t", duration.ceil());
    if let Some(i) = init {
        report.push_str(&format!("Init Duration: {i} ms\t"));
    }
    let tail = base64::engine::general_purpose::STANDARD
        .encode(format!("START RequestId: r\nEND RequestId: r\n{report}\n"));
    json!({"operation": format!("POST /2015-03-31/functions/{FN}/invocations"),
           "headers": {"x-amz-log-result": tail, "x-amz-executed-version": "$LATEST"},
           "body": {"statusCode": 200, "body": "{\"sessions\":[]}"}})
}

fn run(
    responses: Vec<Value>,
    memory: Vec<i32>,
) -> (
    Result<deploy::tune::Tuning, String>,
    testkit::replay::Replay,
) {
    let replay = testkit::replay::Replay::from_json(&json!({ "responses": responses }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let aws = deploy::aws::Aws::from_conf(rt.block_on(replay.sdk_config()), "123456789012");
    let opts = TuneOptions {
        aws: Default::default(),
        stage: None,
        function: stack::Function::SessionPersistence,
        memory_mb: memory,
        invocations: 3,
    };
    (
        rt.block_on(tune_with(&aws, &opts))
            .map_err(|e| e.to_string()),
        replay,
    )
}

#[test]
fn each_size_is_measured_priced_and_the_original_put_back() {
    let mut r = vec![config(256, "Successful")];
    // 128 MB: slow enough to cost more; 512 MB: fast but twice the memory.
    r.extend([
        update(128),
        config(128, "InProgress"),
        config(128, "Successful"),
    ]);
    r.extend([
        invoked(80.0, 128, Some(4.1)),
        invoked(55.0, 128, None),
        invoked(57.0, 128, None),
    ]);
    r.extend([update(512), config(512, "Successful")]);
    r.extend([
        invoked(30.0, 512, Some(2.2)),
        invoked(9.1, 512, None),
        invoked(9.4, 512, None),
    ]);
    r.extend([update(256), config(256, "Successful")]);
    let (t, replay) = run(r, vec![128, 512]);
    let t = t.expect("tuning");
    assert_eq!((t.original_mb, t.architecture.as_str()), (256, "arm64"));
    let sizes: Vec<(i32, f64, Option<f64>)> = t
        .results
        .iter()
        .map(|s| (s.memory_mb, s.p50_ms, s.init_ms))
        .collect();
    assert_eq!(sizes, [(128, 57.0, Some(4.1)), (512, 9.4, Some(2.2))]);
    assert_eq!(t.recommended_mb, Some(512), "{:#?}", t.results);
    let updates = replay.requests(&format!("PUT /2015-03-31/functions/{FN}/configuration"));
    let sizes_set: Vec<bool> = [128, 512, 256]
        .iter()
        .zip(&updates)
        .map(|(m, u)| u.contains(&format!("\"MemorySize\":{m}")))
        .collect();
    assert_eq!(sizes_set, [true, true, true], "{updates:#?}");
    let invokes = replay.requests(&format!("POST /2015-03-31/functions/{FN}/invocations"));
    assert_eq!(invokes.len(), 6);
    assert!(
        invokes[0].contains("\\\"action\\\":\\\"list\\\""),
        "{}",
        invokes[0]
    );
}

#[test]
fn a_size_without_a_report_line_is_an_error_and_the_original_comes_back() {
    let no_tail = json!({"operation": format!("POST /2015-03-31/functions/{FN}/invocations"), "body": {"statusCode": 200}});
    let r = vec![
        config(256, "Successful"),
        update(1024),
        config(1024, "Successful"),
        no_tail,
        update(256),
        config(256, "Successful"),
    ];
    let (t, replay) = run(r, vec![1024]);
    let e = t.unwrap_err();
    assert!(e.contains("no REPORT line"), "{e}");
    let updates = replay.requests(&format!("PUT /2015-03-31/functions/{FN}/configuration"));
    assert_eq!(updates.len(), 2);
    assert!(
        updates[1].contains("\"MemorySize\":256"),
        "restored: {}",
        updates[1]
    );
}

#[test]
fn bad_sizes_and_counts_are_refused_before_aws_is_asked() {
    for (memory, says) in [
        (vec![64], "--memory"),
        (vec![], "--memory"),
        (vec![20_000], "--memory"),
    ] {
        let (t, replay) = run(vec![], memory);
        assert!(t.unwrap_err().contains(says));
        assert!(replay
            .requests(&format!("GET /2015-03-31/functions/{FN}/configuration"))
            .is_empty());
    }
}
