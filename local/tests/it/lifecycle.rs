//! Start and stop: tables and key provisioned from the model, stopping
//! leaves no process of the run, data survives a restart, and `fresh`
//! starts over. (SIGINT to `cargo xtask dev` is the CLI's test.)

use crate::support::{data_dir, fixture, Dev};
use serde_json::json;

async fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&testkit::account::sdk_config(endpoint).await)
}

/// The emulator's endpoint and the key ARN, as the function sees them.
fn function_env(dev: &Dev) -> (String, String) {
    let t = dev.token("probe");
    let r = dev.post("/sessions", Some(&t), &json!({}));
    let env = &r.json()["env"];
    (
        env["AWS_ENDPOINT_URL"].as_str().unwrap().to_string(),
        env["KMS_KEY_ID"].as_str().unwrap().to_string(),
    )
}

#[test]
fn provisions_stops_cleanly_and_keeps_data() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = data_dir("lifecycle");
    let dev = Dev::start(fixture(&dir));
    let (ep, key_arn) = function_env(&dev);
    let ddb = rt.block_on(client(&ep));

    // Tables as the model has them: keys, GSI, TTL, SSE with the key.
    let desc = rt
        .block_on(
            ddb.describe_table()
                .table_name("voice-learning-sessions")
                .send(),
        )
        .unwrap();
    let t = desc.table().unwrap();
    let keys: Vec<_> = t
        .key_schema()
        .iter()
        .map(|k| k.attribute_name().to_string())
        .collect();
    assert_eq!(keys, ["sessionId", "sk"]);
    assert_eq!(
        t.global_secondary_indexes()[0].index_name(),
        Some("UserSessionIndex")
    );
    let sse = t.sse_description().expect("SSE");
    assert_eq!(sse.status().map(|s| s.as_str()), Some("ENABLED"));
    // The template's Ref to the key: its id (moto echoes it as given).
    let sse_key = sse.kms_master_key_arn().unwrap();
    assert!(
        key_arn.ends_with(&format!("key/{sse_key}")) || key_arn == sse_key,
        "{sse_key} vs {key_arn}"
    );
    let ttl = rt
        .block_on(
            ddb.describe_time_to_live()
                .table_name("voice-learning-sessions")
                .send(),
        )
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description().unwrap().attribute_name(),
        Some("expiresAt")
    );
    rt.block_on(
        ddb.describe_table()
            .table_name("voice-learning-user-profiles")
            .send(),
    )
    .unwrap();

    // An item, then SIGINT: every process of the run is gone.
    use aws_sdk_dynamodb::types::AttributeValue as V;
    rt.block_on(
        ddb.put_item()
            .table_name("voice-learning-user-profiles")
            .item("userId", V::S("kept".into()))
            .item("language", V::S("en".into()))
            .send(),
    )
    .unwrap();
    let stats = dev.stats();
    let mut pids = vec![stats["pids"]["moto"].as_u64().unwrap() as u32];
    for list in stats["pids"]["functions"].as_object().unwrap().values() {
        for p in list.as_array().unwrap() {
            pids.push(p.as_u64().unwrap() as u32);
        }
    }
    assert_eq!(pids.len(), 3);
    assert_eq!(stats["pids"]["dev"], std::process::id());
    for p in &pids {
        assert!(emulator::alive(*p), "{p} alive before stopping");
    }
    dev.stop();
    for p in &pids {
        assert!(
            !emulator::alive(*p),
            "process {p} of the run is still there after stopping"
        );
    }
    assert!(dir.join("default/moto-state.pickle").exists());

    // A restart keeps the data (the same key, the same items).
    let (log, lines) = local::Log::memory();
    let dev = Dev::start(local::StartOptions {
        log,
        ..fixture(&dir)
    });
    let log = lines.lock().unwrap().join("\n");
    assert!(log.contains("(kept)"), "{log}");
    let (ep, kept_key) = function_env(&dev);
    assert_eq!(kept_key, key_arn);
    let ddb = rt.block_on(client(&ep));
    let item = rt
        .block_on(
            ddb.get_item()
                .table_name("voice-learning-user-profiles")
                .key("userId", V::S("kept".into()))
                .send(),
        )
        .unwrap();
    assert_eq!(
        item.item().and_then(|i| i.get("language")),
        Some(&V::S("en".into()))
    );
    drop(dev);

    // --fresh starts over.
    let dev = Dev::start(local::StartOptions {
        fresh: true,
        ..fixture(&dir)
    });
    let (ep, new_key) = function_env(&dev);
    assert_ne!(new_key, key_arn);
    let ddb = rt.block_on(client(&ep));
    let item = rt
        .block_on(
            ddb.get_item()
                .table_name("voice-learning-user-profiles")
                .key("userId", V::S("kept".into()))
                .send(),
        )
        .unwrap();
    assert!(item.item().is_none());
}
