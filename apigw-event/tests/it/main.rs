//! apigw-event's tests, one binary: events lambda_http reads, responses
//! mapped like API Gateway's, the request time format.

use apigw_event::request::claims_for_event;
use apigw_event::time::request_time;
use apigw_event::{parse_response, Parsed, Request, RequestContext};
use serde_json::{json, Map, Value};

#[test]
fn the_event_is_one_lambda_http_reads() {
    let mut headers = Map::new();
    headers.insert("content-type".into(), json!("application/json"));
    let claims = json!({"sub": "alice", "exp": 5})
        .as_object()
        .cloned()
        .unwrap();
    let req = Request {
        method: "POST".into(),
        path: "/sessions".into(),
        route_key: "POST /sessions".into(),
        raw_query: "a=1".into(),
        headers,
        query: json!({"a": "1"}).as_object().cloned().unwrap(),
        body: br#"{"action":"list"}"#.to_vec(),
        claims: Some(claims_for_event(&claims)),
        context: RequestContext {
            domain_name: "abc123.execute-api.us-east-1.amazonaws.com".into(),
            request_id: "req-1".into(),
            time_epoch_ms: 1_584_040_638_000,
            ..Default::default()
        },
        ..Default::default()
    };
    let e = req.to_event();
    assert_eq!(e["requestContext"]["time"], "12/Mar/2020:19:17:18 +0000");
    assert_eq!(
        e["requestContext"]["authorizer"]["jwt"]["claims"]["exp"],
        "5"
    );
    let parsed = lambda_http::request::from_str(&e.to_string()).expect("a payload-2.0 event");
    assert_eq!(parsed.uri().path(), "/sessions");
    // Binary bodies go base64.
    let bin = Request {
        body: vec![0xff, 0x00],
        ..req
    };
    assert_eq!(bin.to_event()["isBase64Encoded"], true);
}

#[test]
fn responses_map_like_api_gateway() {
    let Parsed::Structured(r) = parse_response(
        br#"{"statusCode":201,"headers":{"content-type":"application/json","x-a":"1"},"body":"{\"ok\":true}","cookies":["a=b"]}"#,
    ) else {
        panic!("structured")
    };
    assert_eq!(
        (r.status, r.body.as_slice()),
        (201, br#"{"ok":true}"#.as_slice())
    );
    assert!(r.headers.contains(&("x-a".into(), "1".into())));
    assert_eq!(r.cookies, ["a=b"]);
    let Parsed::Structured(r) =
        parse_response(br#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#)
    else {
        panic!("structured")
    };
    assert_eq!(r.body, b"hi");
    assert_eq!(parse_response(br#"{"hello":"world"}"#), Parsed::Json);
    assert_eq!(parse_response(b"not json"), Parsed::Invalid);
    assert_eq!(parse_response(br#"{"statusCode":"abc"}"#), Parsed::Invalid);
}

#[test]
fn claims_are_strings_and_times_are_api_gateways() {
    let m = json!({"sub": "a", "exp": 5, "groups": ["x", "y"], "ok": true});
    let out = claims_for_event(m.as_object().unwrap());
    assert_eq!(
        Value::Object(out),
        json!({"sub": "a", "exp": "5", "groups": "[x y]", "ok": "true"})
    );
    assert_eq!(request_time(0), "01/Jan/1970:00:00:00 +0000");
    assert_eq!(
        request_time(1_584_040_638_000),
        "12/Mar/2020:19:17:18 +0000"
    );
    assert_eq!(
        request_time(1_709_251_199_000),
        "29/Feb/2024:23:59:59 +0000"
    );
}
