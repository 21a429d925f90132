//! CORS as API Gateway answers it once a stage allows origins: the
//! preflight answered by the gateway itself (the function never runs), the
//! headers on an allowed origin's answers, nothing for another origin, and
//! no preflight at all without origins (as deployed by default).

use crate::support::*;
use testkit::http::http;

const APP: &str = "http://127.0.0.1:5173";
const OTHER: &str = "https://evil.example.com";

fn preflight(dev: &Dev, origin: &str, headers: &str) -> testkit::http::Resp {
    http(
        dev.port,
        "OPTIONS",
        "/sessions",
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", headers),
        ],
        "",
    )
}

#[test]
fn preflights_and_answers_follow_the_stages_origins() {
    let mut opts = fixture(&data_dir("cors"));
    opts.cors_origins = vec![APP.to_string()];
    let dev = Dev::start(opts);
    let invocations = || dev.stats()["invocations"].clone();
    let before = invocations();

    let ok = preflight(&dev, APP, "authorization,content-type");
    assert_eq!(ok.status, 204, "{}", ok.body);
    assert_eq!(ok.header("access-control-allow-origin"), Some(APP));
    assert_eq!(
        ok.header("access-control-allow-headers"),
        Some(stack::module::cors::ALLOW_HEADERS.join(",").as_str())
    );
    assert_eq!(
        ok.header("access-control-allow-methods"),
        Some("POST,OPTIONS")
    );
    assert_eq!(ok.header("access-control-max-age"), Some("600"));

    // Another origin, or a header the API does not allow: no CORS headers,
    // so the browser refuses to send the request.
    for r in [
        preflight(&dev, OTHER, "authorization,content-type"),
        preflight(&dev, APP, "authorization,x-custom"),
    ] {
        assert_eq!(r.status, 204);
        assert_eq!(
            r.header("access-control-allow-origin"),
            None,
            "{:?}",
            r.headers
        );
    }
    assert_eq!(
        invocations(),
        before,
        "a preflight never reaches a function"
    );

    // The answer itself: the allowed origin gets it with Retry-After readable;
    // another origin's answer carries no CORS header (the browser hides it).
    let token = dev.token("browser-user");
    let auth = format!("Bearer {token}");
    let call = |origin: &str| {
        http(
            dev.port,
            "POST",
            "/sessions",
            &[
                ("Origin", origin),
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            r#"{"action":"list"}"#,
        )
    };
    let r = call(APP);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some(APP),
        "{:?}",
        r.headers
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("retry-after")
    );
    let r = call(OTHER);
    assert_eq!(
        r.header("access-control-allow-origin"),
        None,
        "{:?}",
        r.headers
    );
    // The gateway's own 401 carries them too, so the page can read it.
    let r = http(dev.port, "POST", "/sessions", &[("Origin", APP)], "{}");
    assert_eq!(r.status, 401);
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
}

#[test]
fn without_origins_there_is_no_preflight_route() {
    let dev = Dev::start(fixture(&data_dir("no-cors")));
    let r = preflight(&dev, APP, "authorization,content-type");
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), None);
}
