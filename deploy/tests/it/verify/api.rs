//! The stack's HTTP API, found by id on any page.

use deploy::verify::api::verify_api;
use deploy::verify::check::{Check, Outcome};
use deploy::verify::resources::StackResources;

fn resources() -> StackResources {
    StackResources::from_rows([("HttpApi", "a1b2c3d4e5")])
}

#[tokio::test]
async fn the_stack_api_is_found_by_id_beyond_the_first_page() {
    let replay = crate::support::verify_replay("apis-stack-api-on-page-two.json");
    let client = aws_sdk_apigatewayv2::Client::new(&replay.sdk_config().await);
    let template = stack::synth(&stack::StackOptions::default()).unwrap();
    let checks = verify_api(&client, &resources(), &template).await;
    assert!(checks.iter().all(Check::is_ok), "{checks:#?}");
    assert_eq!(checks[0].name, "HTTP API a1b2c3d4e5");
    assert_eq!(checks.len(), 4, "{checks:#?}");
    // Page one held an API with the same name and another id: not taken.
    let calls = replay.requests("GET /v2/apis");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].contains("nextToken=page-2"), "{calls:?}");
    // Its routes and authorizers were read, not the look-alike's.
    assert_eq!(replay.requests("GET /v2/apis/a1b2c3d4e5/routes").len(), 1);
    assert!(replay.requests("GET /v2/apis/zz9zz9zz9z/routes").is_empty());
}

#[tokio::test]
async fn an_api_only_found_by_name_is_not_the_stack_api() {
    let replay = crate::support::verify_replay("apis-name-only.json");
    let client = aws_sdk_apigatewayv2::Client::new(&replay.sdk_config().await);
    let template = stack::synth(&stack::StackOptions::default()).unwrap();
    let checks = verify_api(&client, &resources(), &template).await;
    assert_eq!(checks.len(), 1, "{checks:#?}");
    assert_eq!(checks[0].outcome, Outcome::Fail);
    assert!(checks[0].detail.contains("2 page(s)"), "{checks:#?}");
}
