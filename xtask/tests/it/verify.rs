//! `verify` and deploy's smoke test against moto. moto deploys the stack but
//! cannot run the functions (no Docker: Invoke answers a Handled function
//! error), so the smoke test must fail at its first call and say so, and a
//! deploy must then exit 1 while saying the stack itself is deployed.

use crate::support::*;
use serde_json::Value;

fn check<'a>(j: &'a Value, name: &str) -> &'a Value {
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {j:#}"))
}

#[test]
fn deploy_runs_the_smoke_test_and_verify_starts_from_the_stack() {
    let h = Harness::start("verify");
    let v1 = h.zips("v1", "s", "c");
    let dir = v1.to_str().unwrap();

    // verify before any deploy: the stack is missing, one error, exit 1.
    let none = h.run(&["verify", "--json"]).failed();
    let j = none.json();
    let m = j["error"]["message"].as_str().unwrap();
    assert!(
        m.starts_with("VoiceLearningAssistantStack does not exist"),
        "{j:#}"
    );

    // The smoke test runs by default after a successful deploy.
    let deploy = h
        .run(&[
            "deploy",
            "--artifacts-dir",
            dir,
            "--user-pool-id",
            POOL_ID,
            "--user-pool-client-id",
            CLIENT_ID,
            "--yes",
        ])
        .failed();
    assert_eq!(deploy.code, 1);
    assert!(
        deploy.stderr.contains(
            "VoiceLearningAssistantStack is deployed, but the smoke test failed: smoke create (voice-learning-session-persistence)"
        ),
        "{}",
        deploy.stderr
    );
    assert!(
        deploy.stderr.contains("lambda:Invoke voice-learning-session-persistence (create): the function failed (FunctionError Handled)")
            && deploy.stderr.contains("--no-verify"),
        "{}",
        deploy.stderr
    );
    assert!(
        deploy.stdout.contains("FAIL smoke create"),
        "{}",
        deploy.stdout
    );
    assert_eq!(
        h.account.stack_status(STACK).as_deref(),
        Some("CREATE_COMPLETE")
    );

    // verify --no-smoke: everything located through the stack's resources.
    let v = h.run(&["verify", "--no-smoke", "--json"]);
    let j = v.json();
    assert_eq!(
        check(&j, "stack VoiceLearningAssistantStack")["outcome"],
        "ok",
        "{j:#}"
    );
    for f in [SESSION_FN, CONTEXT_FN] {
        assert_eq!(
            check(&j, &format!("function {f} listed"))["outcome"],
            "ok",
            "{j:#}"
        );
    }
    assert_eq!(
        check(&j, "table voice-learning-sessions exists")["outcome"],
        "ok",
        "{j:#}"
    );
    assert!(
        j["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| !c["name"].as_str().unwrap().starts_with("smoke")),
        "{j:#}"
    );
    let s = &j["summary"];
    assert_eq!(
        s["checks"].as_u64().unwrap() as usize,
        j["checks"].as_array().unwrap().len()
    );
    assert_eq!(j["ok"], v.code == 0, "{j:#}");

    // verify with the smoke test: its failure is named with the call.
    let v = h.run(&["verify", "--json"]).failed();
    let j = v.json();
    let smoke = check(&j, "smoke create (voice-learning-session-persistence)");
    assert_eq!(smoke["outcome"], "fail", "{j:#}");
    assert!(
        smoke["detail"]
            .as_str()
            .unwrap()
            .contains("FunctionError Handled"),
        "{j:#}"
    );

    // --no-verify skips it: a code change deploys with exit 0.
    let v2 = h.zips("v2", "s2", "c");
    let v2 = v2.to_str().unwrap();
    let changed = h
        .run(&["deploy", "--no-verify", "--artifacts-dir", v2])
        .ok();
    assert!(changed.stdout.contains("deployed"), "{}", changed.stdout);
    assert!(!changed.stdout.contains("smoke test"), "{}", changed.stdout);
    // A no-op deploy changes nothing and runs no smoke test (it would fail here).
    let noop = h.run(&["deploy", "--artifacts-dir", v2]).ok();
    assert!(noop.stdout.contains("no changes"), "{}", noop.stdout);
    assert!(!noop.stdout.contains("smoke test"), "{}", noop.stdout);
}
