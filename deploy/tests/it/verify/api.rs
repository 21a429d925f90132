//! The stack's HTTP API, found by id on any page.

use aws_sdk_apigatewayv2::types::{Api, Cors, ProtocolType};
use deploy::verify::api::{cors_check, verify_api};
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
    let checks = verify_api(&client, &resources(), &template, Some("")).await;
    assert!(checks.iter().all(Check::is_ok), "{checks:#?}");
    assert_eq!(checks[0].name, "HTTP API a1b2c3d4e5");
    assert_eq!(checks[1].name, "CORS (browser origins)");
    assert_eq!(checks.len(), 5, "{checks:#?}");
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
    let checks = verify_api(&client, &resources(), &template, Some("")).await;
    assert_eq!(checks.len(), 1, "{checks:#?}");
    assert_eq!(checks[0].outcome, Outcome::Fail);
    assert!(checks[0].detail.contains("2 page(s)"), "{checks:#?}");
}

fn api(cors: Option<Cors>) -> Api {
    Api::builder()
        .name("voice-learning-api")
        .protocol_type(ProtocolType::Http)
        .route_selection_expression("$request.method $request.path")
        .set_cors_configuration(cors)
        .build()
}

fn module_cors(origins: &[&str]) -> Cors {
    let mut c = Cors::builder().max_age(600);
    for o in origins {
        c = c.allow_origins(*o);
    }
    for h in ["Authorization", "content-type"] {
        c = c.allow_headers(h);
    }
    for m in ["OPTIONS", "POST"] {
        c = c.allow_methods(m);
    }
    c.expose_headers("retry-after").build()
}

#[test]
fn cors_is_compared_with_the_stages_origins() {
    let two = "https://app.example.com,https://admin.example.com";
    // As deployed: off without origins, the origins (any order) with them.
    assert!(cors_check(&api(None), Some("")).is_ok());
    let on = cors_check(
        &api(Some(module_cors(&[
            "https://admin.example.com",
            "https://app.example.com",
        ]))),
        Some(two),
    );
    assert!(on.is_ok(), "{on:?}");
    // Changed outside the stack: removed, an origin added, a method dropped.
    let removed = cors_check(&api(None), Some(two));
    assert_eq!(removed.outcome, Outcome::Fail);
    assert!(
        removed.detail.contains("browsers are refused"),
        "{removed:?}"
    );
    let widened = cors_check(
        &api(Some(module_cors(&[
            "https://app.example.com",
            "https://admin.example.com",
            "*",
        ]))),
        Some(two),
    );
    assert_eq!(widened.outcome, Outcome::Fail);
    assert!(
        widened
            .detail
            .contains("origins [*, https://admin.example.com, https://app.example.com]"),
        "{widened:?}"
    );
    let mut narrow = module_cors(&["https://app.example.com"]);
    narrow.allow_methods = Some(vec!["POST".into()]);
    let c = cors_check(&api(Some(narrow)), Some("https://app.example.com"));
    assert!(c.detail.contains("methods [POST]"), "{c:?}");
    // On while the stage allows none; a parameter that could not be read.
    assert_eq!(
        cors_check(
            &api(Some(module_cors(&["https://app.example.com"]))),
            Some("")
        )
        .outcome,
        Outcome::Fail
    );
    assert_eq!(cors_check(&api(None), None).outcome, Outcome::Fail);
}
