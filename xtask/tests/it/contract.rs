//! The HTTP API keeps its contract: schemathesis (pinned, in
//! `.venv-schemathesis/`) runs `templates/openapi.yaml` against the local
//! module in process (the real functions, moto, the JWT authorizer) with a
//! writer token: positive and negative cases, boundary values and stateful
//! sequences; no 5xx, every status and body as documented. Its settings and
//! hooks are in `xtask/tests/contract/`.

use serde_json::json;
use std::process::Command;
use std::time::Instant;
use testkit::http::post_json;

#[test]
fn the_api_keeps_its_openapi_contract() {
    let venv = emulator::Venv::schemathesis();
    venv.ensure(&mut |l| eprintln!("{l}"))
        .expect("schemathesis installs");
    let root = emulator::workspace_root();
    let api = crate::support::LocalApi::start("contract", |_| {});
    let (dir, port, running) = (&api.dir, api.addr.port(), &api.running);
    // A writer token: assistant turns and summaries are part of the contract.
    let token = running.writer_token("contract-tester", 3600).unwrap();

    // A real session and list cursor for the hooks (generated ones are
    // never valid).
    let mut session = String::new();
    for topic in ["Closures", "Recursion"] {
        let r = post_json(
            port,
            "/sessions",
            Some(&token),
            &json!({"action": "create", "session": {"currentTopic": topic}}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        session = r.json()["session"]["sessionId"].as_str().unwrap().into();
    }
    let page = post_json(
        port,
        "/sessions",
        Some(&token),
        &json!({"action": "list", "limit": 1}),
    );
    let cursor = page.json()["cursor"].as_str().unwrap().to_string();

    let contract = root.join("xtask/tests/contract");
    let started = Instant::now();
    let out = Command::new(venv.bin("schemathesis"))
        .current_dir(dir)
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", &contract)
        .env("CONTRACT_LIST_CURSOR", &cursor)
        .env("CONTRACT_SESSION_ID", &session)
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(contract.join("schemathesis.toml"))
        .arg("run")
        .arg(root.join("templates/openapi.yaml"))
        .args(["--url", &format!("http://127.0.0.1:{port}")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // API Gateway HTTP APIs answer an unrouted method with 404, not 405.
        .args(["--checks", "all", "--exclude-checks", "unsupported_method"])
        .args(["--max-examples", "50", "--seed", "1", "--workers", "2"])
        .output()
        .expect("schemathesis runs");
    let took = started.elapsed();
    api.stop();

    let stdout = String::from_utf8_lossy(&out.stdout);
    let cases = stdout
        .lines()
        .find(|l| l.contains(" generated"))
        .unwrap_or("(no case count)")
        .trim();
    eprintln!("schemathesis: {cases}; {took:.1?}");
    assert!(
        out.status.success(),
        "schemathesis found contract failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" generated"), "no cases ran:\n{stdout}");
}
