//! Outcomes and what they add up to; every check against tables and a key `dev` provisions.

use deploy::verify::check::{Check, Outcome, Summary};
use deploy::verify::{functions, key, resources, tables, verify};

fn failed(checks: &[Check]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| !c.is_ok())
        .map(|c| c.name.as_str())
        .collect()
}

#[test]
fn summary_passes_only_without_failures_and_unknowns() {
    let all_ok = [Check::ok("a", ""), Check::pending("b", "TTL is ENABLING")];
    let s = Summary::of(&all_ok);
    assert!(s.passed(), "pending alone passes");
    let text = s.lines().join("\n");
    assert!(
        text.contains("1 pending") && text.contains("re-run `cargo xtask verify` later"),
        "{text}"
    );
    assert!(!text.contains("cannot check:"), "{text}");

    let denied = [
        Check::ok("a", ""),
        Check::new("b", Outcome::CannotCheck, "cannot check: x denied"),
    ];
    let s = Summary::of(&denied);
    assert!(!s.passed(), "an unknown is not a pass");
    assert!(s.lines().join("\n").contains("unknown (not off)"));

    let s = Summary::of(&[Check::fail("a", "")]);
    assert!(!s.passed());
    assert_eq!(s.failed, 1);
    assert_eq!(
        serde_json::to_value(Check::new("x", Outcome::CannotCheck, "")).unwrap()["outcome"],
        "cannot-check"
    );
}

/// Tables and key made from the model (as `dev` makes them) pass; turning
/// PITR off fails exactly that check; functions that are not there fail;
/// without a stack, verify says so and stops.
#[tokio::test(flavor = "multi_thread")]
async fn verify_checks_what_is_really_there() {
    let moto = emulator::MotoServer::start(Default::default()).expect("moto");
    let endpoint = moto.endpoint_url();
    let (template, model) = local::model::LocalModel::synth(None).unwrap();
    let provisioned = local::provision::provision(&template, &model, &endpoint)
        .await
        .unwrap();
    let conf = local::provision::sdk_config(&endpoint).await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let kms = aws_sdk_kms::Client::new(&conf);

    let (stack_key, key_checks) = key::verify_key(&kms, &provisioned.key_id).await;
    assert!(failed(&key_checks).is_empty(), "{key_checks:?}");
    let stack_key = stack_key.expect("the key is described");
    assert_eq!(stack_key.arn.as_deref(), Some(provisioned.key_arn.as_str()));

    let mut tables = vec![];
    for (_, t) in tables::modelled(&template) {
        tables.extend(tables::verify_table(&ddb, &kms, &t.table_name, t, Some(&stack_key)).await);
    }
    assert_eq!(tables.len(), 11, "{tables:?}");
    assert!(failed(&tables).is_empty(), "{tables:?}");

    // Another key is not the stack's key.
    let other = key::StackKey {
        id: "00000000-0000-4000-8000-000000000000".into(),
        arn: None,
    };
    let (_, sessions) = tables::modelled(&template).next().unwrap();
    let wrong =
        tables::verify_table(&ddb, &kms, &sessions.table_name, sessions, Some(&other)).await;
    assert_eq!(
        failed(&wrong),
        vec!["table voice-learning-sessions SSE with the stack's key"]
    );

    ddb.update_continuous_backups()
        .table_name("voice-learning-sessions")
        .point_in_time_recovery_specification(
            aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(false)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut after = vec![];
    for (_, t) in tables::modelled(&template) {
        after.extend(tables::verify_table(&ddb, &kms, &t.table_name, t, Some(&stack_key)).await);
    }
    assert_eq!(
        failed(&after),
        vec!["table voice-learning-sessions point-in-time recovery"]
    );

    let names = stack::Names::new(None).unwrap();
    let functions = functions::verify_functions(
        &aws_sdk_lambda::Client::new(&conf),
        &names,
        &resources::StackResources::default(),
        Some(&stack_key),
    )
    .await;
    assert_eq!(
        failed(&functions),
        vec![
            "function voice-learning-session-persistence listed",
            "function voice-learning-context-manager listed"
        ]
    );

    // No stack: one FAIL that says what to do, nothing else is guessed.
    let all = verify(&conf, None, true).await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].outcome, Outcome::Fail);
    assert!(all[0].detail.contains("cargo xtask deploy"), "{all:?}");
}
