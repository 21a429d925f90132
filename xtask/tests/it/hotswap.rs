//! `deploy --hotswap` against moto: code only, in place, the drift said;
//! anything else (a parameter, no stack) refused with nothing changed; a
//! normal deploy afterwards runs the code the stack names again.

use crate::support::*;

#[test]
fn hotswap_updates_code_only_and_refuses_anything_else() {
    let h = Harness::start("hotswap");
    let v1 = h.zips("v1", "#!/bin/sh\necho s1\n", "#!/bin/sh\necho c1\n");
    let v2 = h.zips("v2", "#!/bin/sh\necho s1\n", "#!/bin/sh\necho c2\n");
    let (v1, v2) = (v1.to_str().unwrap(), v2.to_str().unwrap());

    // No stack yet: refused.
    let r = h
        .run(&["deploy", "--hotswap", "--artifacts-dir", v1])
        .failed();
    assert!(
        r.stderr.contains("deploy it without --hotswap first"),
        "{}",
        r.stderr
    );

    h.run(&[
        "deploy",
        "--no-verify",
        "--artifacts-dir",
        v1,
        "--user-pool-id",
        POOL_ID,
        "--user-pool-client-id",
        CLIENT_ID,
        "--yes",
    ])
    .ok();
    let params = h.account.stack_params(STACK);
    let changes_before = h.account.change_sets(STACK);
    let code_sha = |f: &str| {
        h.account
            .block_on(
                h.account
                    .lambda()
                    .get_function_configuration()
                    .function_name(f)
                    .send(),
            )
            .unwrap()
            .code_sha256()
            .unwrap_or_default()
            .to_string()
    };
    let (session_before, context_before) = (code_sha(SESSION_FN), code_sha(CONTEXT_FN));

    // A parameter change is not code: refused, nothing changed.
    let before = h.account.snapshot();
    let r = h
        .run(&[
            "deploy",
            "--hotswap",
            "--artifacts-dir",
            v2,
            "--alarm-email",
            "ops@example.com",
        ])
        .failed();
    assert!(
        r.stderr.contains("these parameters change too: AlarmEmail"),
        "{}",
        r.stderr
    );
    assert_eq!(h.account.snapshot(), before);

    // Code only: the changed function is updated in place, no change set.
    let r = h
        .run(&["deploy", "--hotswap", "--artifacts-dir", v2, "--json"])
        .ok();
    let j = r.json();
    assert_eq!(j["result"], "hotswapped", "{j}");
    assert_eq!(j["functions"], serde_json::json!([CONTEXT_FN]));
    assert_eq!(j["drifted"], true);
    assert!(
        r.stderr.contains("has drifted") && r.stderr.contains("without --hotswap reconciles"),
        "{}",
        r.stderr
    );
    assert_ne!(code_sha(CONTEXT_FN), context_before);
    assert_eq!(code_sha(SESSION_FN), session_before);
    assert_eq!(
        h.account.stack_params(STACK),
        params,
        "parameters untouched"
    );
    assert_eq!(
        h.account.change_sets(STACK),
        changes_before,
        "no change set"
    );

    // Again: nothing to do.
    let again = h
        .run(&["deploy", "--hotswap", "--artifacts-dir", v2, "--json"])
        .ok();
    assert_eq!(again.json()["result"], "no-changes");

    // A normal deploy of the zips the stack names (v1) has nothing to
    // change in CloudFormation, but the hotswapped code is not v1's: it is
    // put back, and said.
    let back = h
        .run(&["deploy", "--no-verify", "--artifacts-dir", v1, "--yes"])
        .ok();
    let said = format!("{}{}", back.stdout, back.stderr);
    assert!(
        said.contains("restored the code the stack names in") && said.contains(CONTEXT_FN),
        "{said}"
    );
    assert_eq!(code_sha(CONTEXT_FN), context_before, "v1 runs again");
    assert_eq!(code_sha(SESSION_FN), session_before);
    assert_eq!(h.account.stack_params(STACK), params);
}
